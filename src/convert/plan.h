// The plan: a plain, inspectable description of the conversion, computed from the decisions
// before anything in the model changes. For every float32 tensor value: the precision it is
// produced in, the name holding it, and (when some reader needs the other precision) the Cast
// or constant copy that provides it. One alternative per value and precision, shared by all
// readers that need it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convert/context.h"

namespace onnx_fp16::convert {

struct ValuePlan {
  Precision produced = Precision::None;  // None: not a float32 tensor; left as it is
  std::string produced_name;     // the name holding the produced data
  Precision alt = Precision::None;       // the other precision, when some reader needs it
  std::string alt_name;
  bool alt_is_constant_copy = false;  // a converted copy of a constant rather than a Cast
  bool renamed = false;               // produced_name differs from the value's name
  // The produced data is a constant converted in place (an initializer, also one that is a graph
  // input's default, a Constant node's value, a ConstantOfShape's fill value) rather than a
  // value a node computes or the caller feeds.
  bool produced_is_constant = false;
};

// What a plan spells out. PrecisionsOnly leaves every name empty (produced_name, alt_name,
// cast_node_names) and `renamed` false, and so cannot be applied: for a reader that never rewrites the model, such as
// the mixed-precision search's simulations, which ask for a plan per attempt and per unit they
// measure (BERT-base: 330 plans; naming, a set of the model's names and a fresh name per
// alternative, took about half of each).
enum class PlanDetail { Full, PrecisionsOnly };

struct Plan {
  PlanDetail detail = PlanDetail::Full;
  Decisions decisions;                                     // by NodeId: what the plan was made from
  std::vector<ValuePlan> values;                           // by ValueId
  std::vector<std::vector<Precision>> output_precision;  // by scope, by output position; None: not float32
  std::vector<std::string> cast_node_names;                // by ValueId, for alternatives made by a Cast

  // The name a reader wanting `precision` reads.
  const std::string& name_for(graph::ValueId v, Precision precision) const;
  // Whether the data of value v in `precision` is clamped to [min_positive_val, max_finite_val]
  // before it is rounded: true for a constant's data converted to the target (in place or as a
  // copy), false for a computed value (its producer rounds it, or a Cast does) and for float32.
  // (Clamping applies to float16 alone: bfloat16 keeps float32's range.) The one rule the rewrite and the mixed-precision engine both follow.
  bool clamped(graph::ValueId v, Precision precision) const;
};

Plan make_plan(const Context& ctx, Decisions decisions, PlanDetail detail = PlanDetail::Full);

// Short suffix for generated names: "fp16", "bf16", "fp32".
const char* precision_suffix(Precision precision);

}  // namespace onnx_fp16::convert
