#include "mixed/search_units.h"

#include "graph/topological_order.h"
#include "types/op_rules.h"

namespace onnx_fp16::mixed {

std::vector<bool> SearchUnits::kept_nodes(const std::vector<bool>& kept_units) const {
  std::vector<bool> kept(unit_of.size(), false);
  for (std::size_t n = 0; n < unit_of.size(); ++n) kept[n] = unit_of[n] >= 0 && kept_units[unit_of[n]];
  return kept;
}

SearchUnits find_search_units(const ConversionAnalysis& analysis) {
  const graph::GraphIndex& index = analysis.index();
  const convert::Decisions& decisions = analysis.full_conversion().decisions;
  const std::size_t count = index.nodes().size();

  // A main-graph node is a unit when it, or anything inside its subgraphs, converts.
  std::vector<bool> converts(count, false);
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(count); ++n) {
    if (decisions[n].converted()) converts[index.holder_in(n, graph::GraphIndex::main_scope())] = true;
  }

  const std::vector<graph::NodeId>& main_nodes = index.scope(graph::GraphIndex::main_scope()).nodes;
  std::vector<const onnx::NodeProto*> protos;
  protos.reserve(main_nodes.size());
  for (graph::NodeId n : main_nodes) protos.push_back(index.node(n).proto);

  SearchUnits units;
  units.unit_of.assign(count, -1);
  for (std::size_t position : graph::stable_topological_order(protos)) {
    const graph::NodeId n = main_nodes[position];
    if (!converts[n]) continue;
    units.unit_of[n] = static_cast<int>(units.nodes.size());
    units.nodes.push_back(n);
    units.labels.push_back(index.node_label(n));
  }
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(count); ++n) {
    units.unit_of[n] = units.unit_of[index.holder_in(n, graph::GraphIndex::main_scope())];
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
