#include "modelgen/quantize_dynamic.h"

#include <onnx_fp16/tensor.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {

namespace {

// The graph's float32 constants by name: initializers, and the `value` of Constant nodes (as
// paddle2onnx exports hold their weights).
std::map<std::string, const onnx::TensorProto*> float_constants(const onnx::GraphProto& graph) {
  std::map<std::string, const onnx::TensorProto*> constants;
  for (const auto& initializer : graph.initializer()) {
    if (initializer.data_type() == onnx::TensorProto::FLOAT) constants[initializer.name()] = &initializer;
  }
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Constant" || node.output_size() != 1) continue;
    for (const auto& attribute : node.attribute()) {
      if (attribute.name() == "value" && attribute.t().data_type() == onnx::TensorProto::FLOAT) {
        constants[node.output(0)] = &attribute.t();
      }
    }
  }
  return constants;
}

// The tool's per-tensor weight quantization: [min(w, 0), max(w, 0)] onto [0, 255], asymmetric
// uint8. Adds `base`_quantized, `base`_zero_point and `base`_scale.
void add_quantized_weight(onnx::GraphProto& graph, const std::string& base, const onnx::TensorProto& weight) {
  const onnx_fp16::Tensor w = onnx_fp16::Tensor::from_proto(weight);
  const auto values = w.data<float>();
  const float low = std::min(0.0f, *std::min_element(values.begin(), values.end()));
  const float high = std::max(0.0f, *std::max_element(values.begin(), values.end()));
  const float scale = high > low ? (high - low) / 255.0f : 1.0f;
  const auto zero = static_cast<std::uint8_t>(std::clamp(std::nearbyint(-low / scale), 0.0f, 255.0f));
  std::vector<std::uint8_t> quantized(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    quantized[i] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(values[i] / scale) + zero, 0.0f, 255.0f));
  }
  *graph.add_initializer() = onnx_fp16::Tensor::from_vector<std::uint8_t>(w.shape(), quantized).to_proto(base + "_quantized");
  *graph.add_initializer() = onnx_fp16::Tensor::from_vector<std::uint8_t>({}, {zero}).to_proto(base + "_zero_point");
  add_scalar_initializer(graph, base + "_scale", scale);
}

// A Conv weight [M, C/group, kH, kW] per output channel, symmetrically: w_q = round(w / s_m) + 128
// with s_m = max |w_m| / 127, one zero point (128) for the tensor, the scales as [1, M, 1, 1]
// for the rescale. Per-tensor asymmetric weights (the MatMul rule) wreck folded-BatchNorm CNNs:
// PaddleOCR det's text probabilities (up to 0.75) came out below 1e-4. ONNX Runtime's
// ConvInteger takes only a scalar weight zero point, so the per-channel part is the scale.
// Adds `base`_quantized, `base`_zero_point and `base`_scale.
void add_quantized_conv_weight(onnx::GraphProto& graph, const std::string& base, const onnx::TensorProto& weight) {
  const onnx_fp16::Tensor w = onnx_fp16::Tensor::from_proto(weight);
  const auto values = w.data<float>();
  const auto outputs = static_cast<std::size_t>(w.shape().at(0));
  const std::size_t per_output = outputs == 0 ? 0 : values.size() / outputs;
  std::vector<float> scales(outputs);
  std::vector<std::uint8_t> quantized(values.size());
  for (std::size_t m = 0; m < outputs; ++m) {
    float largest = 0;
    for (std::size_t i = m * per_output; i < (m + 1) * per_output; ++i) largest = std::max(largest, std::abs(values[i]));
    scales[m] = largest > 0 ? largest / 127.0f : 1.0f;
    for (std::size_t i = m * per_output; i < (m + 1) * per_output; ++i) {
      quantized[i] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(values[i] / scales[m]) + 128.0f, 0.0f, 255.0f));
    }
  }
  *graph.add_initializer() = onnx_fp16::Tensor::from_vector<std::uint8_t>(w.shape(), quantized).to_proto(base + "_quantized");
  *graph.add_initializer() = onnx_fp16::Tensor::from_vector<std::uint8_t>({}, {128}).to_proto(base + "_zero_point");
  *graph.add_initializer() =
      onnx_fp16::Tensor::from_vector<float>({1, static_cast<std::int64_t>(outputs), 1, 1}, scales).to_proto(base + "_scale");
}

// Appends nodes named after the node they replace.
class NodeMaker {
 public:
  NodeMaker(std::vector<onnx::NodeProto>& nodes, std::string name) : nodes_(nodes), name_(std::move(name)) {}
  onnx::NodeProto& operator()(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                              const std::string& suffix) {
    onnx::NodeProto& made = nodes_.emplace_back();
    made.set_op_type(op);
    made.set_name(name_ + suffix);
    for (auto& input : inputs) made.add_input(input);
    for (auto& output : outputs) made.add_output(output);
    return made;
  }

 private:
  std::vector<onnx::NodeProto>& nodes_;
  std::string name_;
};

// DynamicQuantizeLinear(x) -> `integer_op`(x_q, W_q, x_zero_point, W_zero_point) -> Cast ->
// Mul(by x_scale * W_scale), writing `output`; returns the rescaled product's name.
void add_integer_product(NodeMaker& make, const std::string& name, const std::string& integer_op, const std::string& x,
                         const std::string& base, const std::string& output,
                         const google::protobuf::RepeatedPtrField<onnx::AttributeProto>& attributes) {
  make("DynamicQuantizeLinear", {x}, {name + "_x_q", name + "_x_scale", name + "_x_zero_point"}, "/quantize");
  onnx::NodeProto& product = make(integer_op, {name + "_x_q", base + "_quantized", name + "_x_zero_point", base + "_zero_point"},
                                  {name + "_sums"}, integer_op == "ConvInteger" ? "/conv_integer" : "/matmul_integer");
  *product.mutable_attribute() = attributes;
  attr_int(make("Cast", {name + "_sums"}, {name + "_sums_float"}, "/cast"), "to", onnx::TensorProto::FLOAT);
  make("Mul", {name + "_x_scale", base + "_scale"}, {name + "_scale"}, "/scales");
  make("Mul", {name + "_sums_float", name + "_scale"}, {output}, "/rescale");
}

// Replaces the graph's nodes by `nodes` and drops the float constants no node reads any more
// (initializers and Constant nodes); an initializer added twice is kept once.
void replace_nodes(onnx::GraphProto& graph, std::vector<onnx::NodeProto> nodes) {
  std::set<std::string> read;
  for (const auto& node : nodes) {
    for (const auto& input : node.input()) read.insert(input);
  }
  for (const auto& output : graph.output()) read.insert(output.name());
  for (const auto& input : graph.input()) read.insert(input.name());  // an input's default stays
  std::vector<onnx::TensorProto> kept;
  std::set<std::string> seen;
  for (const auto& initializer : graph.initializer()) {
    if (!read.count(initializer.name()) || !seen.insert(initializer.name()).second) continue;
    kept.push_back(initializer);
  }
  graph.clear_initializer();
  for (auto& initializer : kept) *graph.add_initializer() = std::move(initializer);
  std::erase_if(nodes, [&](const onnx::NodeProto& node) {
    return node.op_type() == "Constant" && node.output_size() == 1 && !read.count(node.output(0));
  });
  graph.clear_node();
  for (auto& node : nodes) *graph.add_node() = std::move(node);
}

std::string name_of(const onnx::NodeProto& node) { return node.name().empty() ? node.output(0) : node.name(); }

}  // namespace

int quantize_dynamic_matmuls(onnx::ModelProto& model) {
  onnx::GraphProto& graph = *model.mutable_graph();
  std::map<std::string, int> initializer_at;
  for (int i = 0; i < graph.initializer_size(); ++i) initializer_at[graph.initializer(i).name()] = i;
  std::vector<onnx::NodeProto> nodes;
  int count = 0;
  for (const onnx::NodeProto& node : graph.node()) {
    const auto weight = node.op_type() == "MatMul" && node.input_size() == 2 ? initializer_at.find(node.input(1))
                                                                              : initializer_at.end();
    if (weight == initializer_at.end() || graph.initializer(weight->second).data_type() != onnx::TensorProto::FLOAT ||
        graph.initializer(weight->second).dims_size() != 2) {
      nodes.push_back(node);
      continue;
    }
    const std::string base = node.input(1);
    add_quantized_weight(graph, base, graph.initializer(weight->second));
    NodeMaker make(nodes, name_of(node));
    add_integer_product(make, name_of(node), "MatMulInteger", node.input(0), base, node.output(0), {});
    ++count;
  }
  replace_nodes(graph, std::move(nodes));
  return count;
}

int quantize_dynamic_convs(onnx::ModelProto& model) {
  onnx::GraphProto& graph = *model.mutable_graph();
  // Into the graph's own initializers and Constant nodes: adding initializers keeps the
  // pointers valid (repeated fields hold their elements by pointer), and the nodes are replaced
  // only after the loop.
  const std::map<std::string, const onnx::TensorProto*> constants = float_constants(graph);
  std::vector<onnx::NodeProto> nodes;
  int count = 0;
  for (const onnx::NodeProto& node : graph.node()) {
    const auto weight = node.op_type() == "Conv" && node.input_size() >= 2 ? constants.find(node.input(1)) : constants.end();
    const bool has_bias = node.input_size() == 3 && !node.input(2).empty();
    const auto bias = has_bias ? constants.find(node.input(2)) : constants.end();
    if (weight == constants.end() || weight->second->dims_size() != 4 || (has_bias && bias == constants.end())) {
      nodes.push_back(node);
      continue;
    }
    const std::string name = name_of(node);
    const std::string base = node.input(1);
    add_quantized_conv_weight(graph, base, *weight->second);
    NodeMaker make(nodes, name);
    const std::string product = has_bias ? name + "_scaled" : node.output(0);
    add_integer_product(make, name, "ConvInteger", node.input(0), base, product, node.attribute());
    if (has_bias) {
      // The bias over the channel axis of an NCHW output: [C] as [1, C, 1, 1].
      onnx::TensorProto& reshaped = *graph.add_initializer() = *bias->second;
      reshaped.set_name(name + "_bias");
      reshaped.clear_dims();
      for (std::int64_t d : {std::int64_t{1}, static_cast<std::int64_t>(onnx_fp16::Tensor::from_proto(*bias->second).size()),
                             std::int64_t{1}, std::int64_t{1}}) {
        reshaped.add_dims(d);
      }
      make("Add", {product, name + "_bias"}, {node.output(0)}, "/bias");
    }
    ++count;
  }
  replace_nodes(graph, std::move(nodes));
  return count;
}

}  // namespace modelgen
