#include "mixed/search_units.h"

#include "graph/topological_order.h"
#include "types/op_rules.h"

namespace onnx_fp16::mixed {

std::vector<bool> SearchUnits::kept_nodes(const std::vector<bool>& kept_units) const {
  std::vector<bool> kept(unit_of.size(), false);
  for (std::size_t n = 0; n < unit_of.size(); ++n) kept[n] = unit_of[n] >= 0 && kept_units[unit_of[n]];
  return kept;
}

namespace {

// Appends the units of `scope`'s nodes in topological order, a node's subgraphs' before it when
// descending. `converts`: by NodeId, whether the node is a unit.
void add_units(const graph::GraphIndex& index, graph::ScopeId scope, const std::vector<bool>& converts, bool descend,
               SearchUnits& units) {
  const std::vector<graph::NodeId>& nodes = index.scope(scope).nodes;
  std::vector<const onnx::NodeProto*> protos;
  protos.reserve(nodes.size());
  for (graph::NodeId n : nodes) protos.push_back(index.node(n).proto);
  for (std::size_t position : graph::stable_topological_order(protos)) {
    const graph::NodeId n = nodes[position];
    if (descend) {
      for (graph::ScopeId inner : index.node(n).subgraphs) add_units(index, inner, converts, descend, units);
    }
    if (!converts[n]) continue;
    units.unit_of[n] = static_cast<int>(units.nodes.size());
    units.nodes.push_back(n);
    units.labels.push_back(index.node_label(n));
  }
}

}  // namespace

SearchUnits find_search_units(const ConversionAnalysis& analysis, bool descend) {
  const graph::GraphIndex& index = analysis.index();
  const convert::Decisions& decisions = analysis.full_conversion().decisions;
  const std::size_t count = index.nodes().size();

  // Descending, a node is a unit when it converts; otherwise a main-graph node is one when it,
  // or anything inside its subgraphs, converts.
  std::vector<bool> converts(count, false);
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(count); ++n) {
    if (!decisions[n].converted()) continue;
    converts[descend ? n : index.holder_in(n, graph::GraphIndex::main_scope())] = true;
  }
  SearchUnits units;
  units.unit_of.assign(count, -1);
  add_units(index, graph::GraphIndex::main_scope(), converts, descend, units);
  if (!descend) {
    for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(count); ++n) {
      units.unit_of[n] = units.unit_of[index.holder_in(n, graph::GraphIndex::main_scope())];
    }
  }
  return units;
}

std::vector<int> find_followers(const ConversionAnalysis& analysis, const SearchUnits& units,
                                const std::vector<bool>& screened) {
  const graph::GraphIndex& index = analysis.index();
  std::vector<int> follows(units.size(), -1);
  // Units are in topological order: a producer's unit comes first and is resolved by then.
  for (std::size_t u = 0; u < units.size(); ++u) {
    const graph::Node& node = index.node(units.nodes[u]);
    if (screened[u] || node.inputs.empty() || node.inputs[0] == graph::kNone || !types::preserves_values(*node.proto)) {
      continue;
    }
    const graph::NodeId producer = index.value(node.inputs[0]).producer;
    if (producer == graph::kNone) continue;  // a graph input or a constant: nothing to follow
    const int producer_unit = units.unit_of[producer];
    if (producer_unit < 0 || static_cast<std::size_t>(producer_unit) >= u) continue;
    follows[u] = follows[producer_unit] >= 0 ? follows[producer_unit] : producer_unit;
  }
  return follows;
}

}  // namespace onnx_fp16::mixed
