// What the search decides about: the nodes that the conversion would turn to float16, in
// topological order. A node with subgraphs (If, Loop, Scan) is either one unit with everything
// inside it (keeping it keeps its bodies too: the spec's bisection) or, descending, a unit for
// its own outputs after a unit for each node inside (the improved search: exporters put a whole
// model inside an If, Silero VAD on its sample rate and merged decoders on their cache, and as
// one unit it could only stay float32).
#pragma once

#include <string>
#include <vector>

#include "graph/graph_index.h"
#include "mixed/conversion_analysis.h"

namespace onnx_fp16::mixed {

struct SearchUnits {
  std::vector<graph::NodeId> nodes;  // by unit: its node, in topological order (a subgraph's before its holder)
  std::vector<int> unit_of;          // by NodeId: the unit deciding it (not descending, a subgraph node: its
                                     // main-graph ancestor's), -1 for none
  std::vector<std::string> labels;   // by unit: the node's name, or "<op_type>#<index>"
  std::size_t size() const { return nodes.size(); }

  // By NodeId: whether the node stays float32 when the units in `kept_units` are kept.
  std::vector<bool> kept_nodes(const std::vector<bool>& kept_units) const;
};

// The units of the full conversion (nothing kept by the search); `descend`: into subgraphs.
SearchUnits find_search_units(const ConversionAnalysis& analysis, bool descend);

// By unit: the earlier unit whose decision it takes (-1: decided on its own). A unit follows the
// unit that produces its first input when its op preserves values (types::preserves_values:
// Reshape, Transpose, Gather, Relu, MaxPool...) and `screened` does not keep it: in float16 it
// rounds nothing its producer has not, so with its producer's precision it changes no number,
// and trying it alone only costs an attempt (and, kept alone, a pair of Casts). Chains resolve
// to their first unit, so the unit followed is never a follower itself.
std::vector<int> find_followers(const ConversionAnalysis& analysis, const SearchUnits& units,
                                const std::vector<bool>& screened);

}  // namespace onnx_fp16::mixed
