#include "convert/port_rules.h"

#include <string_view>

#include "graph/domain.h"
#include "types/op_rules.h"
#include "types/type_inference.h"

namespace onnx_fp16::convert {

bool is_op(const onnx::NodeProto& node, const char* op_type) {
  return graph::is_default_domain(node.domain()) && node.op_type() == op_type;
}

namespace {

// A port belongs to a group of ports bound by one type parameter; the group converts only if
// the parameter allows the target type and none of its ports is index-like.
bool group_convertible(const Context& ctx, graph::NodeId n, std::string_view param) {
  const types::PortSignature& sig = ctx.signatures[n];
  if (param.empty() || !sig.param_allows(param, elem_type(ctx.target))) return false;
  const onnx::NodeProto& proto = ctx.proto(n);
  for (int q = 0; q < static_cast<int>(sig.input_params.size()); ++q) {
    if (sig.input_params[q] == param && types::is_index_port(proto, q)) return false;
  }
  return true;
}

}  // namespace

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
  if (d.converted() && input_port_convertible(ctx, n, port)) return Want::Target;
  return Want::Float32;
}

Precision output_precision(const Context& ctx, const Decisions& decisions, graph::NodeId n, int port) {
  graph::ValueId v = ctx.index.node(n).outputs[port];
  if (!ctx.holds_float32(v)) return Precision::None;
  const NodeDecision& d = decisions[n];
  if (ctx.is_float32(v) && d.converted() && output_port_convertible(ctx, n, port)) return ctx.target;
  return Precision::Float32;
}

}  // namespace onnx_fp16::convert
