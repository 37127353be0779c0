#include "mixed/search_units.h"

#include "graph/topological_order.h"

namespace onnx_fp16::mixed {

namespace {

// The main-graph node a node belongs to: itself, or the node whose subgraph holds it.
graph::NodeId main_graph_ancestor(const graph::GraphIndex& index, graph::NodeId n) {
  while (index.scope(index.node(n).scope).parent != graph::kNone) n = index.scope(index.node(n).scope).owner;
  return n;
}

}  // namespace

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
    if (decisions[n].converted()) converts[main_graph_ancestor(index, n)] = true;
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
    units.unit_of[n] = units.unit_of[main_graph_ancestor(index, n)];
  }
  return units;
}

}  // namespace onnx_fp16::mixed
