#include "convert/policy.h"

#include <onnx_fp16/error.h>

#include <algorithm>
#include <unordered_set>

#include "convert/port_rules.h"
#include "convert/shape_computation.h"
#include "graph/domain.h"
#include "graph/node_label.h"
#include "types/op_rules.h"
#include "types/type_inference.h"

namespace onnx_fp16::convert {

namespace {

bool touches_float32(const Context& ctx, graph::NodeId n) {
  const graph::Node& node = ctx.index.node(n);
  for (auto v : node.inputs) {
    if (ctx.holds_float32(v)) return true;
  }
  for (auto v : node.outputs) {
    if (ctx.holds_float32(v)) return true;
  }
  return false;
}

bool touches_non_tensor_float32(const Context& ctx, graph::NodeId n) {
  const graph::Node& node = ctx.index.node(n);
  auto non_tensor = [&](graph::ValueId v) { return ctx.holds_float32(v) && !ctx.is_float32(v); };
  return std::any_of(node.inputs.begin(), node.inputs.end(), non_tensor) ||
         std::any_of(node.outputs.begin(), node.outputs.end(), non_tensor);
}

bool has_convertible_float_port(const Context& ctx, graph::NodeId n) {
  const graph::Node& node = ctx.index.node(n);
  for (int p = 0; p < static_cast<int>(node.inputs.size()); ++p) {
    if (ctx.is_float32(node.inputs[p]) && input_port_convertible(ctx, n, p)) return true;
  }
  for (int p = 0; p < static_cast<int>(node.outputs.size()); ++p) {
    if (ctx.is_float32(node.outputs[p]) && output_port_convertible(ctx, n, p)) return true;
  }
  return false;
}

std::string describe(const Context& ctx, graph::NodeId n) {
  return "node '" + ctx.index.node_label(n) + "' (" + ctx.proto(n).op_type() + ")";
}

// A converted node must know whether each port it rewrites carries float32.
void require_known_types(const Context& ctx, graph::NodeId n) {
  const graph::Node& node = ctx.index.node(n);
  auto check = [&](graph::ValueId v, bool convertible, const char* role) {
    if (v == graph::kNone || !convertible || ctx.types[v].known()) return;
    const graph::Value& value = ctx.index.value(v);
    std::string producer = value.producer == graph::kNone ? "a graph input or initializer" : describe(ctx, value.producer);
    throw Error("cannot determine the element type of tensor '" + value.name + "' (produced by " + producer +
                ", " + role + " " + describe(ctx, n) + " in graph '" + ctx.index.scope(node.scope).label +
                "'); add its type to the model's value_info or enable shape inference");
  };
  for (int p = 0; p < static_cast<int>(node.inputs.size()); ++p) {
    check(node.inputs[p], input_port_convertible(ctx, n, p), "read by");
  }
  for (int p = 0; p < static_cast<int>(node.outputs.size()); ++p) {
    check(node.outputs[p], output_port_convertible(ctx, n, p), "written by");
  }
}

// A Cast to float32 whose every reader wants float32 stays float32 itself: converting it would
// only add a float16 round trip.
void keep_casts_read_in_float32(const Context& ctx, const std::vector<bool>& top_output_kept, Decisions& decisions) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(ctx.index.nodes().size()); ++n) {
      NodeDecision& d = decisions[n];
      if (!d.converted() || !is_op(ctx.proto(n), "Cast")) continue;
      graph::ValueId out = ctx.index.node(n).outputs.empty() ? graph::kNone : ctx.index.node(n).outputs[0];
      if (!ctx.is_float32(out)) continue;
      const graph::Value& value = ctx.index.value(out);
      bool any_target_reader = false;
      for (const auto& use : value.consumers) {
        if (input_want(ctx, decisions, use.node, use.port) == Want::Target) any_target_reader = true;
      }
      const graph::Scope& scope = ctx.index.scope(value.scope);
      if (!value.graph_output_positions.empty()) {
        // A graph output keeps the precision the outside expects.
        any_target_reader = any_target_reader || scope.owner != graph::kNone || !top_output_kept[out];
      }
      if (!any_target_reader) {
        d.fate = NodeDecision::Fate::Kept;
        d.reason = KeepReason::CastFollowsConsumers;
        changed = true;
      }
    }
  }
}

// Dynamically quantized models (DynamicQuantizeLinear, ConvInteger or MatMulInteger, Cast to
// float, Mul by the two scales) hold int32 sums of products up to 2^31 between the Cast and the
// scaling, and float16 stops at 65504. Converted, the Cast overflows: measured on a 16-channel
// 3x3 ConvInteger of uint8 values (sums near 1e6), every output was inf. So for float16 the Cast
// stays float32, and so does the path from it to the Mul or Div that scales it: that node, and
// on the way any Add or Sub (a bias added in the sums' scale, as some exporters write it) or node
// that only moves values (types::preserves_values: a Reshape, a Relu). What the scaling writes
// converts. (bfloat16 has float32's range: nothing to keep.)
void keep_integer_sums(const Context& ctx, Decisions& decisions) {
  if (ctx.target != Precision::Float16) return;
  const graph::GraphIndex& index = ctx.index;
  auto keep = [&](graph::NodeId n, const std::string& detail) {
    decisions[n].fate = NodeDecision::Fate::Kept;
    decisions[n].reason = KeepReason::IntegerSums;
    decisions[n].detail = detail;
  };
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index.nodes().size()); ++n) {
    if (!decisions[n].converted() || !is_op(ctx.proto(n), "Cast") || index.node(n).inputs.empty()) continue;
    const graph::ValueId in = index.node(n).inputs[0];
    if (in == graph::kNone || index.value(in).producer == graph::kNone) continue;
    const graph::NodeId producer = index.value(in).producer;
    if (!types::makes_integer_sums(ctx.proto(producer))) continue;
    const std::string sums = "the int32 sums of " + graph::describe_node(ctx.proto(producer), index.node(producer).position) +
                             ", up to 2^31: float16 stops at 65504";
    keep(n, "casts " + sums);
    // Forward from the Cast while the values are still in the sums' scale. Each node is kept
    // once, so the walk ends (a graph is acyclic, and kept nodes are not entered again).
    std::vector<graph::NodeId> unscaled{n};
    while (!unscaled.empty()) {
      const graph::NodeId from = unscaled.back();
      unscaled.pop_back();
      for (const graph::ValueId out : index.node(from).outputs) {
        if (out == graph::kNone) continue;
        for (const auto& use : index.value(out).consumers) {
          if (!decisions[use.node].converted()) continue;
          const onnx::NodeProto& reader = ctx.proto(use.node);
          if (is_op(reader, "Mul") || is_op(reader, "Div")) {
            keep(use.node, "scales " + sums);
          } else if (is_op(reader, "Add") || is_op(reader, "Sub") || types::preserves_values(reader)) {
            keep(use.node, "carries " + sums + ", not yet scaled");
            unscaled.push_back(use.node);
          }
        }
      }
    }
  }
}

}  // namespace

Decisions decide_each_node(const Context& ctx) {
  const auto& index = ctx.index;
  const Float16Options& options = ctx.options;
  const std::vector<std::string>& op_list = options.op_block_list ? *options.op_block_list : default_op_block_list();
  std::unordered_set<std::string> blocked_ops(op_list.begin(), op_list.end());
  std::unordered_set<std::string> blocked_names(options.node_block_list.begin(), options.node_block_list.end());
  std::unordered_set<std::string> local_functions;
  for (const auto& f : index.model().functions()) local_functions.insert(f.domain() + "::" + f.name());
  const std::vector<bool> shape_computation = find_shape_computations(ctx);

  Decisions decisions(index.nodes().size());
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index.nodes().size()); ++n) {
    const onnx::NodeProto& proto = ctx.proto(n);
    NodeDecision& d = decisions[n];
    if (is_op(proto, "Constant") || !touches_float32(ctx, n)) continue;  // constants are planned as values
    d.fate = NodeDecision::Fate::Kept;  // until every reason to keep it is ruled out
    if (!proto.name().empty() && blocked_names.count(proto.name())) {
      d.reason = KeepReason::NodeBlockList;  // the only NodeBlockList here (forced keeps come later)
    } else if (blocked_ops.count(proto.op_type())) {
      d.reason = KeepReason::OpBlockList;
    } else if (local_functions.count(proto.domain() + "::" + proto.op_type())) {
      d.reason = KeepReason::ModelLocalFunction;
    } else if (!ctx.signatures[n].known() && !types::is_control_flow(proto)) {
      d.reason = KeepReason::UnknownOperator;
      d.detail = "no schema for " + graph::domain_label(proto.domain()) + "::" +
                 proto.op_type() + " at opset " + std::to_string(index.opset(proto.domain()));
    } else if (const char* limitation = types::runtime_limitation(proto)) {
      d.reason = KeepReason::RuntimeLimitation;
      d.detail = limitation;
    } else if (touches_non_tensor_float32(ctx, n)) {
      d.reason = KeepReason::NonTensorTypes;
    } else if (shape_computation[n]) {
      d.reason = KeepReason::ShapeComputation;
    } else if (!has_convertible_float_port(ctx, n)) {
      d.reason = KeepReason::NoFloat16InSchema;
      d.detail = "no float port of " + proto.op_type() + " allows " + types::elem_name(elem_type(ctx.target));
    } else {
      d.fate = NodeDecision::Fate::Converted;
    }
  }
  return decisions;
}

Decisions decide_nodes(const Context& ctx, const std::vector<bool>& forced_keep) {
  return decide_nodes(ctx, decide_each_node(ctx), forced_keep);
}

Decisions decide_nodes(const Context& ctx, Decisions decisions, const std::vector<bool>& forced_keep) {
  const auto& index = ctx.index;
  const Float16Options& options = ctx.options;
  if (!forced_keep.empty() && forced_keep.size() != index.nodes().size()) {
    throw Error("internal: a forced-keep list of the wrong size");
  }
  if (decisions.size() != index.nodes().size()) throw Error("internal: per-node decisions of the wrong size");
  // A forced keep comes right after the node block list: a node named there keeps that reason,
  // any other float node stays float32 whatever else its own decision said.
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(forced_keep.size()); ++n) {
    NodeDecision& d = decisions[n];
    if (!forced_keep[n] || d.fate == NodeDecision::Fate::NotFloat) continue;
    if (d.kept() && d.reason == KeepReason::NodeBlockList) continue;
    d.fate = NodeDecision::Fate::Kept;
    d.reason = KeepReason::NodeBlockList;
    d.detail = "blocked by the caller";
  }
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index.nodes().size()); ++n) {
    if (decisions[n].converted()) require_known_types(ctx, n);
  }

  // Which top-level outputs must stay float32 (keep_io_types).
  std::vector<bool> top_output_kept(index.values().size(), false);
  std::unordered_set<std::string> keep_names(options.keep_io_names.begin(), options.keep_io_names.end());
  for (graph::ValueId v : index.scope(0).outputs) {
    top_output_kept[v] = options.keep_io_types || keep_names.count(index.value(v).name);
  }
  keep_integer_sums(ctx, decisions);
  keep_casts_read_in_float32(ctx, top_output_kept, decisions);
  return decisions;
}

}  // namespace onnx_fp16::convert
