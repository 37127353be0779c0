#include "modelgen/quantize_dynamic.h"

#include <onnx_fp16/tensor.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {

int quantize_dynamic_matmuls(onnx::ModelProto& model) {
  onnx::GraphProto& graph = *model.mutable_graph();
  std::map<std::string, int> initializer_at;
  for (int i = 0; i < graph.initializer_size(); ++i) initializer_at[graph.initializer(i).name()] = i;
  std::vector<onnx::NodeProto> nodes;
  std::vector<std::string> quantized_weights;
  int count = 0;
  for (const onnx::NodeProto& node : graph.node()) {
    const auto weight = node.op_type() == "MatMul" && node.input_size() == 2 ? initializer_at.find(node.input(1))
                                                                              : initializer_at.end();
    if (weight == initializer_at.end() || graph.initializer(weight->second).data_type() != onnx::TensorProto::FLOAT ||
        graph.initializer(weight->second).dims_size() != 2) {
      nodes.push_back(node);
      continue;
    }
    const onnx_fp16::Tensor w = onnx_fp16::Tensor::from_proto(graph.initializer(weight->second));
    const auto values = w.data<float>();
    // The tool's asymmetric uint8 range: [min(w, 0), max(w, 0)] onto [0, 255].
    const float low = std::min(0.0f, *std::min_element(values.begin(), values.end()));
    const float high = std::max(0.0f, *std::max_element(values.begin(), values.end()));
    const float scale = high > low ? (high - low) / 255.0f : 1.0f;
    const auto zero = static_cast<std::uint8_t>(std::clamp(std::nearbyint(-low / scale), 0.0f, 255.0f));
    std::vector<std::uint8_t> quantized(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      quantized[i] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(values[i] / scale) + zero, 0.0f, 255.0f));
    }
    const std::string base = node.input(1);
    *graph.add_initializer() = onnx_fp16::Tensor::from_vector<std::uint8_t>(w.shape(), quantized).to_proto(base + "_quantized");
    *graph.add_initializer() = onnx_fp16::Tensor::from_vector<std::uint8_t>({}, {zero}).to_proto(base + "_zero_point");
    add_scalar_initializer(graph, base + "_scale", scale);
    quantized_weights.push_back(base);
    const std::string name = node.name().empty() ? node.output(0) : node.name();
    const std::string x = node.input(0);
    auto make = [&](const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                    const std::string& suffix) -> onnx::NodeProto& {
      onnx::NodeProto& made = nodes.emplace_back();
      made.set_op_type(op);
      made.set_name(name + suffix);
      for (auto& input : inputs) made.add_input(input);
      for (auto& output : outputs) made.add_output(output);
      return made;
    };
    make("DynamicQuantizeLinear", {x}, {name + "_x_q", name + "_x_scale", name + "_x_zero_point"}, "/quantize");
    make("MatMulInteger", {name + "_x_q", base + "_quantized", name + "_x_zero_point", base + "_zero_point"},
         {name + "_sums"}, "/matmul_integer");
    attr_int(make("Cast", {name + "_sums"}, {name + "_sums_float"}, "/cast"), "to", onnx::TensorProto::FLOAT);
    make("Mul", {name + "_x_scale", base + "_scale"}, {name + "_scale"}, "/scales");
    make("Mul", {name + "_sums_float", name + "_scale"}, {node.output(0)}, "/rescale");
    ++count;
  }
  // The float weights no node reads any more go; a weight several MatMuls share was quantized
  // for each of them under one name, and is kept once.
  std::map<std::string, bool> read;
  for (const auto& node : nodes) {
    for (const auto& input : node.input()) read[input] = true;
  }
  std::vector<onnx::TensorProto> kept;
  std::map<std::string, bool> seen;
  for (const auto& initializer : graph.initializer()) {
    const bool float_weight = std::find(quantized_weights.begin(), quantized_weights.end(), initializer.name()) != quantized_weights.end();
    if ((float_weight && !read[initializer.name()]) || seen[initializer.name()]) continue;
    seen[initializer.name()] = true;
    kept.push_back(initializer);
  }
  graph.clear_initializer();
  for (auto& initializer : kept) *graph.add_initializer() = std::move(initializer);
  graph.clear_node();
  for (auto& node : nodes) *graph.add_node() = std::move(node);
  return count;
}

}  // namespace modelgen
