#include "modelgen/builder.h"

#include <cstring>

namespace modelgen {

onnx::ValueInfoProto tensor_value(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
  onnx::ValueInfoProto value;
  value.set_name(name);
  auto* tensor_type = value.mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(elem_type);
  auto* shape = tensor_type->mutable_shape();
  for (const Dim& dim : dims) {
    auto* d = shape->add_dim();
    if (const auto* size = std::get_if<std::int64_t>(&dim)) {
      d->set_dim_value(*size);
    } else {
      d->set_dim_param(std::get<std::string>(dim));
    }
  }
  return value;
}

onnx::TensorProto float_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                               const std::vector<float>& values) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) tensor.add_dims(d);
  tensor.mutable_raw_data()->assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return tensor;
}

onnx::TensorProto int64_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                               const std::vector<std::int64_t>& values) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::INT64);
  for (auto d : dims) tensor.add_dims(d);
  for (auto v : values) tensor.add_int64_data(v);
  return tensor;
}

GraphBuilder& GraphBuilder::input(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
  *graph_->add_input() = tensor_value(name, elem_type, dims);
  return *this;
}

GraphBuilder& GraphBuilder::output(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
  *graph_->add_output() = tensor_value(name, elem_type, dims);
  return *this;
}

GraphBuilder& GraphBuilder::output_untyped(const std::string& name) {
  graph_->add_output()->set_name(name);
  return *this;
}

GraphBuilder& GraphBuilder::value_info(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
  *graph_->add_value_info() = tensor_value(name, elem_type, dims);
  return *this;
}

GraphBuilder& GraphBuilder::initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                                        const std::vector<float>& values) {
  *graph_->add_initializer() = float_tensor(name, dims, values);
  return *this;
}

GraphBuilder& GraphBuilder::initializer_i64(const std::string& name, const std::vector<std::int64_t>& dims,
                                            const std::vector<std::int64_t>& values) {
  *graph_->add_initializer() = int64_tensor(name, dims, values);
  return *this;
}

onnx::NodeProto& GraphBuilder::node(const std::string& op_type, const std::vector<std::string>& inputs,
                                    const std::vector<std::string>& outputs, const std::string& name,
                                    const std::string& domain) {
  auto* node = graph_->add_node();
  node->set_op_type(op_type);
  if (!name.empty()) node->set_name(name);
  if (!domain.empty()) node->set_domain(domain);
  for (const auto& in : inputs) node->add_input(in);
  for (const auto& out : outputs) node->add_output(out);
  return *node;
}

void attr_int(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void attr_ints(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto v : values) a->add_ints(v);
}

void attr_float(onnx::NodeProto& node, const std::string& name, float value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void attr_string(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

void attr_tensor(onnx::NodeProto& node, const std::string& name, const onnx::TensorProto& value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = value;
}

onnx::GraphProto* attr_graph(onnx::NodeProto& node, const std::string& name) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name(name);
  return a->mutable_g();
}

onnx::ModelProto make_model(std::int64_t opset, std::int64_t ir_version) {
  onnx::ModelProto model;
  model.set_ir_version(ir_version);
  model.set_producer_name("onnx-fp16-modelgen");
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  model.mutable_graph()->set_name("main");
  return model;
}

void add_opset(onnx::ModelProto& model, const std::string& domain, std::int64_t version) {
  auto* op = model.add_opset_import();
  op->set_domain(domain);
  op->set_version(version);
}

}  // namespace modelgen
