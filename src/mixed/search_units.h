// What the search decides about: the main graph's nodes that the conversion would turn to
// float16, in topological order. A node with subgraphs (If, Loop, Scan) is one unit with
// everything inside it: keeping it keeps its bodies too.
#pragma once

#include <string>
#include <vector>

#include "graph/graph_index.h"
#include "mixed/conversion_analysis.h"

namespace onnx_fp16::mixed {

struct SearchUnits {
  std::vector<graph::NodeId> nodes;  // by unit: the main-graph node, in topological order
  std::vector<int> unit_of;          // by NodeId: its unit (a subgraph node: its ancestor's), -1 for none
  std::vector<std::string> labels;   // by unit: the node's name, or "<op_type>#<index>"
  std::size_t size() const { return nodes.size(); }

  // By NodeId: whether the node stays float32 when the units in `kept_units` are kept.
  std::vector<bool> kept_nodes(const std::vector<bool>& kept_units) const;
};

// The units of the full conversion (nothing kept by the search).
SearchUnits find_search_units(const ConversionAnalysis& analysis);

}  // namespace onnx_fp16::mixed
