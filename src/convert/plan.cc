#include "convert/plan.h"

#include <onnx_fp16/error.h>

#include <deque>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "convert/port_rules.h"
#include "types/type_inference.h"

namespace onnx_fp16::convert {

namespace {

constexpr Precision kFloat = Precision::Float32;

// Names not yet used in the model. `taken` views the model's names (GraphIndex::all_names), which
// must stay unchanged while the generator lives; the names it makes it keeps itself.
class NameGenerator {
 public:
  explicit NameGenerator(const std::vector<std::string_view>& taken) : taken_(taken.begin(), taken.end()) {}
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; taken_.count(name); ++i) name = base + "_" + std::to_string(i);
    taken_.insert(made_.emplace_back(name));
    return name;
  }

 private:
  std::unordered_set<std::string_view> taken_;
  std::deque<std::string> made_;  // a deque: its strings never move as it grows
};

bool is_constant(const Context& ctx, graph::ValueId v) {
  const graph::Value& value = ctx.index.value(v);
  if (value.kind == graph::ValueKind::Initializer) return !value.sparse;
  if (value.kind == graph::ValueKind::NodeOutput) {
    const onnx::NodeProto& producer = ctx.proto(value.producer);
    if (!is_op(producer, "Constant")) return false;
    for (const auto& a : producer.attribute()) {
      if (a.name() == "value" || a.name() == "value_float" || a.name() == "value_floats") return true;
    }
  }
  return false;
}

// Precision of a body graph's input: that of the control-flow node's port feeding it.
Precision body_input_precision(const Context& ctx, const Decisions& decisions, graph::ScopeId scope, graph::ValueId v) {
  const graph::Scope& s = ctx.index.scope(scope);
  for (const auto& binding : types::control_flow_bindings(ctx.index, s.owner)) {
    if (binding.body != scope) continue;
    for (std::size_t k = 0; k < s.inputs.size(); ++k) {
      if (s.inputs[k] == v && binding.body_input_from_outer_input[k] != graph::kNone) {
        const NodeDecision& d = decisions[s.owner];
        return d.converted() ? ctx.target : kFloat;
      }
    }
  }
  return kFloat;
}

}  // namespace

const char* precision_suffix(Precision precision) {
  switch (precision) {
    case Precision::Float16: return "fp16";
    case Precision::BFloat16: return "bf16";
    default: return "fp32";
  }
}

const std::string& Plan::name_for(graph::ValueId v, Precision precision) const {
  const ValuePlan& p = values[v];
  return precision == p.alt && p.alt != Precision::None ? p.alt_name : p.produced_name;
}

bool Plan::clamped(graph::ValueId v, Precision precision) const {
  const ValuePlan& p = values[v];
  if (precision == kFloat || precision == Precision::None) return false;
  if (precision == p.produced) return p.produced_is_constant;
  return precision == p.alt && p.alt_is_constant_copy;
}

namespace {

// The precision a top-level input or output must have (keep_io_types, keep_io_names).
class IoPrecision {
 public:
  explicit IoPrecision(const Context& ctx)
      : ctx_(ctx), names_(ctx.options.keep_io_names.begin(), ctx.options.keep_io_names.end()) {}
  Precision operator()(const std::string& name) const {
    return ctx_.options.keep_io_types || names_.count(name) ? kFloat : ctx_.target;
  }

 private:
  const Context& ctx_;
  std::unordered_set<std::string> names_;
};

// Phase 1. What each scope's outputs must be (0 where not float32): top level by
// keep_io_types, bodies by the owner's matching output port.
std::vector<std::vector<Precision>> required_output_precisions(const Context& ctx, const Decisions& decided,
                                                                  const IoPrecision& io_precision) {
  const auto& index = ctx.index;
  std::vector<std::vector<Precision>> by_scope(index.scopes().size());
  for (graph::ScopeId s = 0; s < static_cast<graph::ScopeId>(index.scopes().size()); ++s) {
    const graph::Scope& scope = index.scope(s);
    auto& required = by_scope[s];
    required.assign(scope.outputs.size(), Precision::None);
    std::vector<int> outer_port(scope.outputs.size(), graph::kNone);
    if (scope.owner != graph::kNone) {
      for (const auto& binding : types::control_flow_bindings(index, scope.owner)) {
        if (binding.body == s) outer_port = binding.body_output_to_outer_output;
      }
    }
    for (std::size_t k = 0; k < scope.outputs.size(); ++k) {
      graph::ValueId v = scope.outputs[k];
      if (!ctx.is_float32(v)) continue;
      if (scope.owner == graph::kNone) {
        required[k] = io_precision(index.value(v).name);
      } else if (outer_port[k] != graph::kNone) {
        const Precision p = output_precision(ctx, decided, scope.owner, outer_port[k]);
        required[k] = p != Precision::None ? p : kFloat;
      } else {
        required[k] = kFloat;
      }
    }
  }
  return by_scope;
}

// By ValueId: whether some reader (or a graph output listing it) wants it in float32, and in the
// target type.
struct Wanted {
  std::vector<bool> float32;
  std::vector<bool> target;
  bool wants(graph::ValueId v, Precision precision, Precision target_type) const {
    return precision == target_type ? target[v] : float32[v];
  }
};

// Phase 2. The precisions wanted of each value, by its readers and the graph outputs.
Wanted wanted_precisions(const Context& ctx, const Decisions& decided,
                         const std::vector<std::vector<Precision>>& output_precision) {
  const auto& index = ctx.index;
  Wanted wanted{std::vector<bool>(index.values().size(), false), std::vector<bool>(index.values().size(), false)};
  auto want = [&](graph::ValueId v, Precision p) { (p == ctx.target ? wanted.target : wanted.float32)[v] = true; };
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index.nodes().size()); ++n) {
    const graph::Node& node = index.node(n);
    for (int port = 0; port < static_cast<int>(node.inputs.size()); ++port) {
      graph::ValueId v = node.inputs[port];
      if (!ctx.is_float32(v)) continue;
      Want w = input_want(ctx, decided, n, port);
      if (w == Want::Target) want(v, ctx.target);
      if (w == Want::Float32) want(v, kFloat);
    }
  }
  for (graph::ScopeId s = 0; s < static_cast<graph::ScopeId>(index.scopes().size()); ++s) {
    const graph::Scope& scope = index.scope(s);
    for (std::size_t k = 0; k < scope.outputs.size(); ++k) {
      if (output_precision[s][k] != Precision::None) want(scope.outputs[k], output_precision[s][k]);
    }
  }
  return wanted;
}

// Phase 3. The precision each float32 value is produced in, and whether that data is a
// constant's (fills ValuePlan::produced, produced_name, produced_is_constant).
void plan_produced_precisions(const Context& ctx, const Decisions& decided, const Wanted& wanted,
                              const IoPrecision& io_precision, PlanDetail detail, std::vector<ValuePlan>& values) {
  const auto& index = ctx.index;
  for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(values.size()); ++v) {
    if (!ctx.is_float32(v)) continue;
    const graph::Value& value = index.value(v);
    ValuePlan& p = values[v];
    if (detail == PlanDetail::Full) p.produced_name = value.name;
    if (is_constant(ctx, v)) {
      // A constant takes the precision its readers want; a top-level output fixes its name's.
      bool top_output = value.scope == 0 && !value.graph_output_positions.empty();
      if (top_output) {
        p.produced = io_precision(value.name);
      } else {
        p.produced = wanted.target[v] && !wanted.float32[v] ? ctx.target : kFloat;
      }
      p.produced_is_constant = true;
    } else if (value.kind == graph::ValueKind::GraphInput) {
      p.produced = value.scope == 0 ? io_precision(value.name) : body_input_precision(ctx, decided, value.scope, v);
      p.produced_is_constant = value.initializer_index != graph::kNone;  // its default, when not fed
    } else if (value.kind == graph::ValueKind::NodeOutput) {
      p.produced = output_precision(ctx, decided, value.producer, value.producer_port);
      p.produced_is_constant = is_op(ctx.proto(value.producer), "ConstantOfShape");
    } else {
      p.produced = kFloat;  // sparse initializers stay as they are
    }
  }
}

// Phase 4. For each value wanted in the other precision too: its alternative (a Cast, or a
// converted copy of a constant) and fresh names; a top-level output whose name must hold the
// other precision is renamed at its producer instead. Needs phase 3's produced precisions. A
// PrecisionsOnly plan gets its alternatives' precisions and kinds, no names.
void plan_alternatives(const Context& ctx, const Wanted& wanted, const IoPrecision& io_precision, Plan& plan) {
  const auto& index = ctx.index;
  std::optional<NameGenerator> made_names;
  if (plan.detail == PlanDetail::Full) made_names.emplace(index.all_names());
  for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(plan.values.size()); ++v) {
    ValuePlan& p = plan.values[v];
    if (p.produced == Precision::None) continue;
    const Precision other = p.produced == ctx.target ? kFloat : ctx.target;
    if (!wanted.wants(v, other, ctx.target)) continue;
    const graph::Value& value = index.value(v);
    p.alt = other;
    p.alt_is_constant_copy = is_constant(ctx, v);
    if (!made_names) continue;
    NameGenerator& names = *made_names;
    bool top_output = value.scope == 0 && !value.graph_output_positions.empty();
    if (top_output && value.kind == graph::ValueKind::NodeOutput && !p.alt_is_constant_copy &&
        io_precision(value.name) == other) {
      // The outside world sees this name: it must hold the output precision, so the producer
      // writes under a new name and the Cast writes the original one.
      p.renamed = true;
      p.produced_name = names.fresh(value.name + "_" + precision_suffix(p.produced));
      p.alt_name = value.name;
    } else {
      p.alt_name = names.fresh(value.name + "_" + precision_suffix(other));
    }
    if (!p.alt_is_constant_copy) {
      plan.cast_node_names[v] = names.fresh("Cast_" + value.name + "_to_" + precision_suffix(other));
    }
  }
}

}  // namespace

Plan make_plan(const Context& ctx, Decisions decisions, PlanDetail detail) {
  Plan plan;
  plan.detail = detail;
  plan.decisions = std::move(decisions);
  const std::size_t value_count = ctx.index.values().size();
  plan.values.resize(value_count);
  if (detail == PlanDetail::Full) plan.cast_node_names.resize(value_count);
  const IoPrecision io_precision(ctx);
  plan.output_precision = required_output_precisions(ctx, plan.decisions, io_precision);
  const Wanted wanted = wanted_precisions(ctx, plan.decisions, plan.output_precision);
  plan_produced_precisions(ctx, plan.decisions, wanted, io_precision, detail, plan.values);
  plan_alternatives(ctx, wanted, io_precision, plan);
  return plan;
}

}  // namespace onnx_fp16::convert
