#include "convert/rewrite.h"

#include <onnx_fp16/error.h>

#include <algorithm>

#include <map>
#include <unordered_map>

#include "convert/constant_conversion.h"
#include "convert/port_rules.h"
#include "graph/topological_order.h"
#include "io/tensor_bytes.h"
#include "types/op_rules.h"

namespace onnx_fp16::convert {

namespace {

constexpr std::int32_t kFloat = onnx::TensorProto::FLOAT;

onnx::AttributeProto* find_attribute(onnx::NodeProto& node, const std::string& name) {
  for (auto& a : *node.mutable_attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

void set_int_attribute(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
  onnx::AttributeProto* a = find_attribute(node, name);
  if (!a) {
    a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
  }
  a->set_i(value);
}

// Cast's target: an int since Cast-6, a type name ("FLOAT16") in Cast-1 (opsets 1 to 5).
void set_cast_to(onnx::NodeProto& cast, Precision precision, int default_opset) {
  const std::int32_t elem = elem_type(precision);
  if (default_opset < 1 || default_opset >= 6) {
    set_int_attribute(cast, "to", elem);
    return;
  }
  onnx::AttributeProto* a = find_attribute(cast, "to");
  if (!a) {
    a = cast.add_attribute();
    a->set_name("to");
  }
  a->clear_i();
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(elem)));
}

void set_elem_type(onnx::ValueInfoProto& info, Precision precision) {
  const std::int32_t elem = elem_type(precision);
  if (info.type().has_tensor_type() || !info.has_type()) info.mutable_type()->mutable_tensor_type()->set_elem_type(elem);
}

class Rewriter {
 public:
  Rewriter(const Context& ctx, const Plan& plan, ConversionReport& report)
      : ctx_(ctx), plan_(plan), report_(report), index_(ctx.index),
        converter_{elem_type(ctx.target), {ctx.options.min_positive_val, ctx.options.max_finite_val}},
        after_node_(index_.nodes().size()), at_scope_start_(index_.scopes().size()) {}

  // The steps, in the order their contracts need. Each reads the index (which describes the model
  // as it was: names, positions, initializer indices) and the plan, never what an earlier step
  // wrote; the new nodes and initializers wait in after_node_, at_scope_start_ and
  // new_initializers_ until reorder_nodes puts them in, so that every index stays valid.
  void run() {
    // Needs: the original initializers. Gives: report_.float_bytes_before.
    count_constant_bytes_before();
    // Needs: the original float32 data (so before convert_values). Gives: a converted copy of
    // every constant read in both precisions, held back (Constant nodes in after_node_,
    // initializers in new_initializers_).
    make_constant_copies();
    // Gives: constants produced in the target type converted in place (Plan::clamped).
    convert_values();
    // Gives: Cast `to`, dtype and output_datatype attributes of converted outputs set to the target.
    rewrite_type_attributes();
    // Gives: producers of renamed top-level outputs write under their new names.
    rename_producer_outputs();
    // Needs: final producer names (after rename_producer_outputs). Gives: one Cast per planned
    // alternative, held back in after_node_ / at_scope_start_.
    make_casts();
    // Needs: every alternative's name (the plan). Gives: each input reads the name holding the
    // precision it wants.
    rewire_readers();
    // Gives: graph inputs and outputs declare their planned precision; body outputs are bound to
    // the name holding it.
    update_graph_boundaries();
    // Gives: value_info entries in the produced precision, plus entries for renamed values,
    // alternatives and Cast-1 outputs.
    update_value_info();
    // Needs: every step above done (it moves nodes, so node positions change). Gives: held-back
    // nodes and initializers inserted, every graph topologically sorted.
    reorder_nodes();
    // Gives: report_.float_bytes_after.
    count_constant_bytes_after();
  }

 private:
  // Where a value's alternative goes: right after its producer, or first in its scope.
  std::vector<onnx::NodeProto*>& insertion_point(graph::ValueId v) {
    const graph::Value& value = index_.value(v);
    return value.producer != graph::kNone ? after_node_[value.producer] : at_scope_start_[value.scope];
  }

  onnx::TensorProto* initializer_of(graph::ValueId v) {
    const graph::Value& value = index_.value(v);
    if (value.initializer_index == graph::kNone) return nullptr;
    return index_.edit_graph(value.scope).mutable_initializer(value.initializer_index);
  }

  void make_constant_copies() {
    for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(plan_.values.size()); ++v) {
      const ValuePlan& p = plan_.values[v];
      if (p.alt == Precision::None || !p.alt_is_constant_copy) continue;
      const graph::Value& value = index_.value(v);
      if (onnx::TensorProto* init = initializer_of(v)) {
        onnx::TensorProto copy = *init;
        copy.set_name(p.alt_name);
        if (plan_.clamped(v, p.alt)) report_.values_clamped += converter_.convert(copy);
        new_initializers_.push_back({value.scope, std::move(copy)});
      } else {
        auto* node = new onnx::NodeProto(*index_.node(value.producer).proto);
        node->set_output(0, p.alt_name);
        node->set_name(p.alt_name);
        if (plan_.clamped(v, p.alt)) report_.values_clamped += converter_.convert_constant_node(*node);
        insertion_point(v).push_back(node);
      }
      ++report_.initializers_duplicated;
    }
  }

  // Constants the plan converts in place: initializers, Constant nodes, ConstantOfShape's fill.
  void convert_values() {
    for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(plan_.values.size()); ++v) {
      const ValuePlan& p = plan_.values[v];
      if (p.produced != ctx_.target || !plan_.clamped(v, p.produced)) continue;
      const graph::Value& value = index_.value(v);
      if (onnx::TensorProto* init = initializer_of(v)) {
        report_.values_clamped += converter_.convert(*init);
        ++report_.initializers_converted;
      }
      if (value.kind != graph::ValueKind::NodeOutput) continue;
      onnx::NodeProto& producer = index_.edit_node(value.producer);
      if (is_op(producer, "Constant")) {
        report_.values_clamped += converter_.convert_constant_node(producer);
        ++report_.constants_converted;
      } else if (is_op(producer, "ConstantOfShape")) {
        report_.values_clamped += converter_.convert(constant_of_shape_value(producer));
        ++report_.constants_converted;
      }
    }
  }

  // ConstantOfShape's `value` attribute (the output's type and fill), made explicit when absent
  // (a float32 zero by default).
  static onnx::TensorProto& constant_of_shape_value(onnx::NodeProto& node) {
    onnx::AttributeProto* value = find_attribute(node, "value");
    if (!value) {
      value = node.add_attribute();
      value->set_name("value");
      value->set_type(onnx::AttributeProto::TENSOR);
      value->mutable_t()->set_data_type(kFloat);
      value->mutable_t()->add_dims(1);
      value->mutable_t()->add_float_data(0.0f);
    }
    return *value->mutable_t();
  }

  // Ops whose output type is an attribute (types/op_rules.h): the attribute follows the output's
  // new precision. (ConstantOfShape's is its fill value, a constant: convert_values converts it.)
  void rewrite_type_attributes() {
    for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index_.nodes().size()); ++n) {
      const graph::Node& node = index_.node(n);
      if (node.outputs.empty() || node.outputs[0] == graph::kNone) continue;
      if (plan_.values[node.outputs[0]].produced != ctx_.target) continue;
      onnx::NodeProto& proto = index_.edit_node(n);
      const types::OpRule* rule = types::find_op_rule(proto);
      if (rule == nullptr || !rule->type_attribute) continue;
      const types::TypeAttribute& attribute = *rule->type_attribute;
      const std::string name(attribute.name);
      if (is_op(proto, "Cast")) {
        set_cast_to(proto, ctx_.target, index_.opset(""));  // an int, or Cast-1's type name
      } else if (attribute.when_absent == types::TypeAttribute::WhenAbsent::LikeFirstInput) {
        // Absent, the output follows the (converted) input; present, it says float32.
        if (onnx::AttributeProto* dtype = find_attribute(proto, name); dtype && dtype->i() == kFloat) {
          dtype->set_i(elem_type(ctx_.target));
        }
      } else {
        set_int_attribute(proto, name, elem_type(ctx_.target));
      }
    }
  }

  void rename_producer_outputs() {
    for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(plan_.values.size()); ++v) {
      const ValuePlan& p = plan_.values[v];
      if (!p.renamed) continue;
      const graph::Value& value = index_.value(v);
      index_.edit_node(value.producer).set_output(value.producer_port, p.produced_name);
    }
  }

  void make_casts() {
    for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(plan_.values.size()); ++v) {
      const ValuePlan& p = plan_.values[v];
      if (p.alt == Precision::None || p.alt_is_constant_copy) continue;
      auto* cast = new onnx::NodeProto();
      cast->set_op_type("Cast");
      cast->set_name(plan_.cast_node_names[v]);
      cast->add_input(p.produced_name);
      cast->add_output(p.alt_name);
      set_cast_to(*cast, p.alt, index_.opset(""));
      insertion_point(v).push_back(cast);
      ++report_.casts_added;
    }
  }

  void rewire_readers() {
    for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index_.nodes().size()); ++n) {
      const graph::Node& node = index_.node(n);
      for (int port = 0; port < static_cast<int>(node.inputs.size()); ++port) {
        graph::ValueId v = node.inputs[port];
        if (v == graph::kNone || plan_.values[v].produced == Precision::None) continue;
        Want w = input_want(ctx_, plan_.decisions, n, port);
        const Precision precision =
            w == Want::Target ? ctx_.target : w == Want::Float32 ? Precision::Float32 : plan_.values[v].produced;
        index_.edit_node(n).set_input(port, plan_.name_for(v, precision));
      }
    }
  }

  void update_graph_boundaries() {
    for (graph::ScopeId s = 0; s < static_cast<graph::ScopeId>(index_.scopes().size()); ++s) {
      const graph::Scope& scope = index_.scope(s);
      onnx::GraphProto& g = index_.edit_graph(s);
      for (std::size_t k = 0; k < scope.inputs.size(); ++k) {
        const ValuePlan& p = plan_.values[scope.inputs[k]];
        if (p.produced != Precision::None) set_elem_type(*g.mutable_input(static_cast<int>(k)), p.produced);
      }
      for (std::size_t k = 0; k < scope.outputs.size(); ++k) {
        const Precision required = plan_.output_precision[s][k];
        if (required == Precision::None) continue;
        onnx::ValueInfoProto& out = *g.mutable_output(static_cast<int>(k));
        if (s != 0) out.set_name(plan_.name_for(scope.outputs[k], required));  // bodies bind by position
        set_elem_type(out, required);
      }
    }
  }

  void update_value_info() {
    for (graph::ScopeId s = 0; s < static_cast<graph::ScopeId>(index_.scopes().size()); ++s) {
      onnx::GraphProto& g = index_.edit_graph(s);
      std::vector<onnx::ValueInfoProto> added;
      for (auto& info : *g.mutable_value_info()) {
        graph::ValueId v = index_.find(info.name(), s);
        if (v == graph::kNone || plan_.values[v].produced == Precision::None) continue;
        const ValuePlan& p = plan_.values[v];
        set_elem_type(info, p.renamed ? p.alt : p.produced);
        if (p.renamed) {
          added.push_back(info);
          added.back().set_name(p.produced_name);
          set_elem_type(added.back(), p.produced);
        } else if (p.alt != Precision::None) {
          added.push_back(info);
          added.back().set_name(p.alt_name);
          set_elem_type(added.back(), p.alt);
        }
      }
      for (auto& info : added) *g.add_value_info() = std::move(info);
    }
    declare_cast1_outputs();
  }

  // Cast-1 (opsets 1 to 5) has no type inference: without a declared type, the checker and ONNX
  // Runtime see its output untyped and reject the readers. Declare each inserted Cast's output.
  void declare_cast1_outputs() {
    const int opset = index_.opset("");
    if (opset < 1 || opset >= 6) return;
    for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(plan_.values.size()); ++v) {
      const ValuePlan& p = plan_.values[v];
      if (p.alt == Precision::None || p.alt_is_constant_copy) continue;
      onnx::GraphProto& g = index_.edit_graph(index_.value(v).scope);
      const bool declared = std::any_of(g.value_info().begin(), g.value_info().end(),
                                        [&](const onnx::ValueInfoProto& info) { return info.name() == p.alt_name; });
      if (declared) continue;
      onnx::ValueInfoProto& info = *g.add_value_info();
      info.set_name(p.alt_name);
      set_elem_type(info, p.alt);
    }
  }

  // New node lists: each original node followed by the Casts/copies of its outputs; a scope's
  // own inputs' and constants' Casts first. Then a stable topological sort.
  void reorder_nodes() {
    for (auto& [scope, tensor] : new_initializers_) *index_.edit_graph(scope).add_initializer() = std::move(tensor);
    for (graph::ScopeId s = 0; s < static_cast<graph::ScopeId>(index_.scopes().size()); ++s) {
      const graph::Scope& scope = index_.scope(s);
      onnx::GraphProto& g = index_.edit_graph(s);
      std::vector<onnx::NodeProto*> order;
      order.reserve(g.node_size() + at_scope_start_[s].size());
      for (auto* n : at_scope_start_[s]) order.push_back(n);
      // Release the graph's nodes (ownership moves to `order`), keeping their original order.
      std::vector<onnx::NodeProto*> originals(g.node_size());
      for (int i = g.node_size() - 1; i >= 0; --i) originals[i] = g.mutable_node()->ReleaseLast();
      for (std::size_t i = 0; i < originals.size(); ++i) {
        order.push_back(originals[i]);
        for (auto* n : after_node_[scope.nodes[i]]) order.push_back(n);
      }
      for (std::size_t i : graph::stable_topological_order(order)) g.mutable_node()->AddAllocated(order[i]);
    }
  }

  void count_constant_bytes_before() {
    for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(plan_.values.size()); ++v) {
      if (const onnx::TensorProto* init = initializer_of(v); init && init->data_type() == kFloat) {
        report_.float_bytes_before += io::tensor_data_bytes(*init);
      }
    }
  }

  void count_constant_bytes_after() {
    for (const auto& scope : index_.scopes()) {
      for (const auto& init : scope.graph->initializer()) {
        std::int32_t t = init.data_type();
        if (t == kFloat || t == onnx::TensorProto::FLOAT16 || t == onnx::TensorProto::BFLOAT16) {
          report_.float_bytes_after += io::tensor_data_bytes(init);
        }
      }
    }
  }

  const Context& ctx_;
  const Plan& plan_;
  ConversionReport& report_;
  const graph::GraphIndex& index_;  // editable: built on the model being converted
  ConstantConverter converter_;
  std::vector<std::vector<onnx::NodeProto*>> after_node_;      // by NodeId
  std::vector<std::vector<onnx::NodeProto*>> at_scope_start_;  // by ScopeId
  std::vector<std::pair<graph::ScopeId, onnx::TensorProto>> new_initializers_;
};

}  // namespace

void apply_plan(const Context& ctx, const Plan& plan, ConversionReport& report) {
  if (plan.detail != PlanDetail::Full) throw Error("internal: a plan without names cannot be applied");
  Rewriter(ctx, plan, report).run();
}

}  // namespace onnx_fp16::convert
