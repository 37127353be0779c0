#include "support/conversion.h"

#include <gtest/gtest.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/checker.h>

#include <cstring>

#include "half/half.h"
#include "support/ort_client.h"
#include "support/paths.h"
#include "support/tensor_data.h"

namespace test_support {

Converted convert_checked(const onnx::ModelProto& model, const onnx_fp16::Float16Options& options) {
  Converted result{model, {}};
  result.report = onnx_fp16::convert_float_to_float16(result.model, options);
  try {
    onnx_fp16::check_model_full(result.model);
  } catch (const onnx_fp16::Error& e) {
    ADD_FAILURE() << "converted model fails the checker: " << e.what() << "\n" << result.model.graph().DebugString();
  }
  return result;
}

std::vector<const onnx::NodeProto*> nodes_of(const onnx::GraphProto& graph, const std::string& op_type) {
  std::vector<const onnx::NodeProto*> found;
  for (const auto& n : graph.node()) {
    if (n.op_type() == op_type) found.push_back(&n);
  }
  return found;
}

const onnx::NodeProto* node_named(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& n : graph.node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

const onnx::NodeProto* producer_of(const onnx::GraphProto& graph, const std::string& value) {
  for (const auto& n : graph.node()) {
    for (const auto& out : n.output()) {
      if (out == value) return &n;
    }
  }
  return nullptr;
}

std::vector<const onnx::NodeProto*> readers_of(const onnx::GraphProto& graph, const std::string& value) {
  std::vector<const onnx::NodeProto*> found;
  for (const auto& n : graph.node()) {
    for (const auto& in : n.input()) {
      if (in == value) {
        found.push_back(&n);
        break;
      }
    }
  }
  return found;
}

const onnx::TensorProto* initializer_named(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& t : graph.initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

int declared_elem_type(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto* list : {&graph.input(), &graph.output(), &graph.value_info()}) {
    for (const auto& v : *list) {
      if (v.name() == name) return v.type().tensor_type().elem_type();
    }
  }
  if (const auto* t = initializer_named(graph, name)) return t->data_type();
  return 0;
}

int input_elem_type(const onnx::GraphProto& graph, int index) { return graph.input(index).type().tensor_type().elem_type(); }
int output_elem_type(const onnx::GraphProto& graph, int index) { return graph.output(index).type().tensor_type().elem_type(); }

const onnx_fp16::KeptNode* find_kept(const onnx_fp16::ConversionReport& report, const std::string& name) {
  for (const auto& k : report.kept_nodes) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

onnx::TensorProto float_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                               const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t.add_dims(d);
  t.mutable_raw_data()->assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return t;
}

std::vector<onnx::TensorProto> inputs_for(const onnx::ModelProto& model, const std::vector<onnx::TensorProto>& inputs) {
  std::vector<onnx::TensorProto> result;
  for (const auto& input : inputs) {
    int wanted = declared_elem_type(model.graph(), input.name());
    if (input.data_type() == onnx::TensorProto::FLOAT && wanted == onnx::TensorProto::FLOAT16) {
      std::vector<float> values(input.raw_data().size() / 4);
      if (!values.empty()) std::memcpy(values.data(), input.raw_data().data(), values.size() * 4);
      std::vector<std::uint16_t> halves(values.size());
      onnx_fp16::half::floats_to_halves(values, halves);
      onnx::TensorProto converted = input;
      converted.set_data_type(onnx::TensorProto::FLOAT16);
      converted.mutable_raw_data()->assign(reinterpret_cast<const char*>(halves.data()), halves.size() * 2);
      result.push_back(std::move(converted));
    } else {
      result.push_back(input);
    }
  }
  return result;
}

std::vector<onnx::TensorProto> run_in_ort(const onnx::ModelProto& model, const std::vector<onnx::TensorProto>& inputs) {
  auto dir = fresh_temp_dir("ort");
  auto path = dir / "model.onnx";
  onnx_fp16::save_model(model, path);
  OrtResult result = OrtClient::shared().run(path, inputs_for(model, inputs));
  std::filesystem::remove_all(dir);
  if (!result.ok()) {
    ADD_FAILURE() << "ONNX Runtime: " << result.error;
    return {};
  }
  for (auto& out : result.outputs) out = float16_to_float(out);
  return result.outputs;
}

}  // namespace test_support
