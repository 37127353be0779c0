// A small builder for ONNX models in code: used by the model generators (example, benchmark
// models) and by the tests. It writes plain protobuf; nothing here checks the model.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>
#include <vector>

namespace modelgen {

// A dimension is a fixed size or a symbolic name ("batch").
using Dim = std::variant<std::int64_t, std::string>;

onnx::ValueInfoProto tensor_value(const std::string& name, int elem_type, const std::vector<Dim>& dims);
onnx::TensorProto float_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                               const std::vector<float>& values);
onnx::TensorProto int64_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                               const std::vector<std::int64_t>& values);

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  GraphBuilder& input(const std::string& name, int elem_type, const std::vector<Dim>& dims);
  GraphBuilder& output(const std::string& name, int elem_type, const std::vector<Dim>& dims);
  GraphBuilder& output_untyped(const std::string& name);
  GraphBuilder& value_info(const std::string& name, int elem_type, const std::vector<Dim>& dims);
  GraphBuilder& initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                            const std::vector<float>& values);
  GraphBuilder& initializer_i64(const std::string& name, const std::vector<std::int64_t>& dims,
                                const std::vector<std::int64_t>& values);
  // Adds a node; attributes are added on the returned proto (see the attr_* helpers).
  onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "",
                        const std::string& domain = "");
  onnx::GraphProto* proto() { return graph_; }

 private:
  onnx::GraphProto* graph_;
};

void attr_int(onnx::NodeProto& node, const std::string& name, std::int64_t value);
void attr_ints(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values);
void attr_float(onnx::NodeProto& node, const std::string& name, float value);
void attr_string(onnx::NodeProto& node, const std::string& name, const std::string& value);
void attr_tensor(onnx::NodeProto& node, const std::string& name, const onnx::TensorProto& value);
// Adds a graph attribute (If branches, Loop/Scan bodies) and returns its graph.
onnx::GraphProto* attr_graph(onnx::NodeProto& node, const std::string& name);

// A model with ONNX's default domain at `opset` (and ai.onnx.ml at 3) and the given IR version.
onnx::ModelProto make_model(std::int64_t opset = 17, std::int64_t ir_version = 8);
void add_opset(onnx::ModelProto& model, const std::string& domain, std::int64_t version);

}  // namespace modelgen
