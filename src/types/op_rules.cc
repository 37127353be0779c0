#include "types/op_rules.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "graph/domain.h"

namespace onnx_fp16::types {

namespace {

using When = TypeAttribute::WhenAbsent;

// Scatter with a reduction: ONNX Runtime's CPU provider has float16 kernels only without one.
bool has_reduction(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "reduction") return !a.s().empty() && a.s() != "none";
  }
  return false;
}

constexpr const char* kScatterReduction = "ONNX Runtime's CPU provider has no float16 kernel for scatter with a reduction";

std::vector<OpRule> make_rules() {
  return {
      // Shape and index inputs.
      {.op_type = "Reshape", .index_ports = {1}, .preserves_values = true},
      {.op_type = "Expand", .index_ports = {1}, .preserves_values = true},
      {.op_type = "Tile", .index_ports = {1}, .preserves_values = true},
      {.op_type = "ConstantOfShape", .index_ports = {0}},
      {.op_type = "Range", .index_ports = {0, 1, 2}},
      {.op_type = "Slice", .index_ports = {1, 2, 3, 4}, .preserves_values = true},
      {.op_type = "Resize", .index_ports = {1, 2, 3}},
      {.op_type = "Upsample", .index_ports = {1}},
      {.op_type = "TopK", .index_ports = {1}, .stops_shape_walk = true},
      {.op_type = "Pad", .index_ports = {1, 3}, .selects_values = true},
      {.op_type = "Squeeze", .index_ports = {1}, .preserves_values = true},
      {.op_type = "Unsqueeze", .index_ports = {1}, .preserves_values = true},
      {.op_type = "ReduceSum", .index_ports = {1}},
      {.op_type = "ReduceMean", .index_ports = {1}},
      {.op_type = "ReduceMax", .index_ports = {1}, .preserves_values = true},
      {.op_type = "ReduceMin", .index_ports = {1}, .preserves_values = true},
      {.op_type = "ReduceProd", .index_ports = {1}},
      {.op_type = "ReduceL1", .index_ports = {1}},
      {.op_type = "ReduceL2", .index_ports = {1}},
      {.op_type = "ReduceLogSum", .index_ports = {1}},
      {.op_type = "ReduceLogSumExp", .index_ports = {1}},
      {.op_type = "ReduceSumSquare", .index_ports = {1}},
      {.op_type = "Split", .index_ports = {1}, .preserves_values = true},
      {.op_type = "OneHot", .index_ports = {1}},
      {.op_type = "Gather", .index_ports = {1}, .preserves_values = true},
      {.op_type = "GatherElements", .index_ports = {1}, .preserves_values = true},
      {.op_type = "GatherND", .index_ports = {1}, .preserves_values = true},
      {.op_type = "ScatterND", .index_ports = {1}, .runtime_limitation = kScatterReduction, .limited = has_reduction},
      {.op_type = "ScatterElements", .index_ports = {1}, .runtime_limitation = kScatterReduction, .limited = has_reduction},
      {.op_type = "Scatter", .index_ports = {1}},
      {.op_type = "Trilu", .index_ports = {1}},
      {.op_type = "CenterCropPad", .index_ports = {1}},
      {.op_type = "CumSum", .index_ports = {1}},
      {.op_type = "RoiAlign", .index_ports = {2}},
      {.op_type = "MaxUnpool", .index_ports = {1, 2}},
      {.op_type = "Col2Im", .index_ports = {1, 2}},
      // Integer results from shapes or comparisons.
      {.op_type = "Shape", .stops_shape_walk = true},
      {.op_type = "Size", .stops_shape_walk = true},
      {.op_type = "ArgMax", .stops_shape_walk = true},
      {.op_type = "ArgMin", .stops_shape_walk = true},
      {.op_type = "NonZero", .stops_shape_walk = true},
      {.op_type = "NonMaxSuppression", .stops_shape_walk = true},
      // Output types set by an attribute.
      {.op_type = "Cast", .type_attribute = TypeAttribute{"to", When::Required}},
      {.op_type = "RandomNormal", .type_attribute = TypeAttribute{"dtype", When::Float32}},
      {.op_type = "RandomUniform", .type_attribute = TypeAttribute{"dtype", When::Float32}},
      {.op_type = "RandomNormalLike", .type_attribute = TypeAttribute{"dtype", When::LikeFirstInput}},
      {.op_type = "RandomUniformLike", .type_attribute = TypeAttribute{"dtype", When::LikeFirstInput}},
      {.op_type = "Bernoulli", .type_attribute = TypeAttribute{"dtype", When::LikeFirstInput}},
      {.op_type = "EyeLike",
       .type_attribute = TypeAttribute{"dtype", When::LikeFirstInput},
       .runtime_limitation = "ONNX Runtime has no float16 EyeLike kernel"},
      {.op_type = "BlackmanWindow", .type_attribute = TypeAttribute{"output_datatype", When::Float32}},
      {.op_type = "HammingWindow", .type_attribute = TypeAttribute{"output_datatype", When::Float32}},
      {.op_type = "HannWindow", .type_attribute = TypeAttribute{"output_datatype", When::Float32}},
      {.op_type = "MelWeightMatrix",
       .type_attribute = TypeAttribute{"output_datatype", When::Float32},
       .runtime_limitation = "ONNX Runtime cannot run MelWeightMatrix with a float16 output"},
      // Values moved, selected or mapped exactly, without index inputs (the ones with index
      // inputs are marked above).
      {.op_type = "Transpose", .preserves_values = true},
      {.op_type = "Flatten", .preserves_values = true},
      {.op_type = "Identity", .preserves_values = true},
      {.op_type = "DepthToSpace", .preserves_values = true},
      {.op_type = "SpaceToDepth", .preserves_values = true},
      {.op_type = "Relu", .preserves_values = true},
      {.op_type = "MaxPool", .preserves_values = true},
      {.op_type = "GlobalMaxPool", .preserves_values = true},
      {.op_type = "Abs", .preserves_values = true},
      {.op_type = "Neg", .preserves_values = true},
      // Values selected from several inputs or from subgraphs.
      {.op_type = "Concat", .selects_values = true},
      {.op_type = "Where", .selects_values = true},
      {.op_type = "Max", .selects_values = true},
      {.op_type = "Min", .selects_values = true},
      {.op_type = "Clip", .selects_values = true},
      {.op_type = "If", .selects_values = true},
      {.op_type = "Loop", .selects_values = true},
      {.op_type = "Scan", .selects_values = true},
      // Integer sums of products (dynamically quantized models).
      {.op_type = "ConvInteger", .integer_sums = true},
      {.op_type = "MatMulInteger", .integer_sums = true},
      // Other float16 limits.
      {.op_type = "MeanVarianceNormalization",
       .runtime_limitation = "ONNX 1.12 defines MeanVarianceNormalization by a function body with float32 constants"},
  };
}

}  // namespace

const std::vector<OpRule>& op_rules() {
  static const std::vector<OpRule> rules = make_rules();
  return rules;
}

const OpRule* find_op_rule(const onnx::NodeProto& node) {
  static const std::unordered_map<std::string_view, const OpRule*> by_op = [] {
    std::unordered_map<std::string_view, const OpRule*> map;
    for (const OpRule& rule : op_rules()) map.emplace(rule.op_type, &rule);
    return map;
  }();
  if (!graph::is_default_domain(node.domain())) return nullptr;
  const auto it = by_op.find(node.op_type());
  return it == by_op.end() ? nullptr : it->second;
}

bool is_index_port(const onnx::NodeProto& node, int port) {
  const OpRule* rule = find_op_rule(node);
  return rule != nullptr && std::find(rule->index_ports.begin(), rule->index_ports.end(), port) != rule->index_ports.end();
}

const char* runtime_limitation(const onnx::NodeProto& node) {
  const OpRule* rule = find_op_rule(node);
  if (rule == nullptr || rule->runtime_limitation == nullptr) return nullptr;
  return rule->limited == nullptr || rule->limited(node) ? rule->runtime_limitation : nullptr;
}

bool makes_integer_sums(const onnx::NodeProto& node) {
  const OpRule* rule = find_op_rule(node);
  return rule != nullptr && rule->integer_sums;
}

bool preserves_values(const onnx::NodeProto& node) {
  const OpRule* rule = find_op_rule(node);
  return rule != nullptr && rule->preserves_values;
}

bool only_moves_values(const onnx::NodeProto& node) {
  const OpRule* rule = find_op_rule(node);
  return rule != nullptr && (rule->preserves_values || rule->selects_values);
}

}  // namespace onnx_fp16::types
