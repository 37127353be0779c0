#include "convert/port_rules.h"

#include <string_view>
#include <unordered_map>
#include <vector>

#include "graph/domain.h"
#include "types/type_inference.h"

namespace onnx_fp16::convert {

bool is_op(const onnx::NodeProto& node, const char* op_type) {
  return graph::is_default_domain(node.domain()) && node.op_type() == op_type;
}

namespace {

const std::unordered_map<std::string_view, std::vector<int>>& index_ports() {
  static const std::unordered_map<std::string_view, std::vector<int>> table{
      {"Reshape", {1}},       {"Expand", {1}},          {"Tile", {1}},          {"ConstantOfShape", {0}},
      {"Range", {0, 1, 2}},   {"Slice", {1, 2, 3, 4}},  {"Resize", {1, 2, 3}},  {"Upsample", {1}},
      {"TopK", {1}},          {"Pad", {1, 3}},          {"Squeeze", {1}},       {"Unsqueeze", {1}},
      {"ReduceSum", {1}},     {"ReduceMean", {1}},      {"ReduceMax", {1}},     {"ReduceMin", {1}},
      {"ReduceProd", {1}},    {"ReduceL1", {1}},        {"ReduceL2", {1}},      {"ReduceLogSum", {1}},
      {"ReduceLogSumExp", {1}}, {"ReduceSumSquare", {1}}, {"Split", {1}},       {"OneHot", {1}},
      {"Gather", {1}},        {"GatherElements", {1}},  {"GatherND", {1}},      {"ScatterND", {1}},
      {"ScatterElements", {1}}, {"Scatter", {1}},       {"Trilu", {1}},         {"CenterCropPad", {1}},
      {"CumSum", {1}},        {"RoiAlign", {2}},        {"MaxUnpool", {1, 2}},  {"Col2Im", {1, 2}},
  };
  return table;
}

// A port belongs to a group of ports bound by one type parameter; the group converts only if
// the parameter allows the target type and none of its ports is index-like.
bool group_convertible(const Context& ctx, graph::NodeId n, const std::string& param) {
  const types::PortSignature& sig = ctx.signatures[n];
  if (param.empty() || !sig.param_allows(param, ctx.target)) return false;
  const onnx::NodeProto& proto = ctx.proto(n);
  for (int q = 0; q < static_cast<int>(sig.input_params.size()); ++q) {
    if (sig.input_params[q] == param && is_index_port(proto, q)) return false;
  }
  return true;
}

}  // namespace

bool is_index_port(const onnx::NodeProto& node, int port) {
  if (!graph::is_default_domain(node.domain())) return false;
  auto it = index_ports().find(node.op_type());
  if (it == index_ports().end()) return false;
  for (int p : it->second) {
    if (p == port) return true;
  }
  return false;
}

bool input_port_convertible(const Context& ctx, graph::NodeId n, int port) {
  if (types::is_control_flow(ctx.proto(n))) {
    // Loop's trip count and condition are never float; every float32 data port follows the node.
    return true;
  }
  const auto& params = ctx.signatures[n].input_params;
  return port < static_cast<int>(params.size()) && group_convertible(ctx, n, params[port]);
}

bool output_port_convertible(const Context& ctx, graph::NodeId n, int port) {
  if (types::is_control_flow(ctx.proto(n))) return true;
  const auto& params = ctx.signatures[n].output_params;
  return port < static_cast<int>(params.size()) && group_convertible(ctx, n, params[port]);
}

Want input_want(const Context& ctx, const Decisions& decisions, graph::NodeId n, int port) {
  graph::ValueId v = ctx.index.node(n).inputs[port];
  if (!ctx.holds_float32(v)) return Want::NotFloat;
  if (!ctx.is_float32(v)) return Want::Float32;  // sequences/optionals of float32: never cast
  const onnx::NodeProto& proto = ctx.proto(n);
  // A Cast or CastLike reads its data input in whatever precision it comes: casting it first
  // would round twice.
  if (port == 0 && (is_op(proto, "Cast") || is_op(proto, "CastLike"))) return Want::Any;
  const NodeDecision& d = decisions[n];
  if (d.relevant && d.converted && input_port_convertible(ctx, n, port)) return Want::Target;
  return Want::Float32;
}

std::int32_t output_precision(const Context& ctx, const Decisions& decisions, graph::NodeId n, int port) {
  graph::ValueId v = ctx.index.node(n).outputs[port];
  if (!ctx.holds_float32(v)) return 0;
  const NodeDecision& d = decisions[n];
  if (ctx.is_float32(v) && d.relevant && d.converted && output_port_convertible(ctx, n, port)) return ctx.target;
  return onnx::TensorProto::FLOAT;
}

}  // namespace onnx_fp16::convert
