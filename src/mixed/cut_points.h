// Cut points of the main graph: for each node, the nodes every path from it to the graph outputs
// passes through (its post-dominators). A change at a node reaches the outputs only through each
// of them, so what it does at the outputs is what it does at such a cut point, carried on by the
// rest of the graph. The improved search's order uses this to measure a node's effect cheaply:
// run only up to a cut point and scale by that point's gain (search_order.cc).
#pragma once

#include <vector>

#include "graph/graph_index.h"
#include "mixed/inlined_branches.h"

namespace onnx_fp16::mixed {

class CutPoints {
 public:
  // Over the main graph's nodes; a node inside a subgraph counts as its main-graph ancestor.
  // With `inlined`, over the flat model's nodes (inlined_branches.h): an inlined If's branch
  // nodes have cut points too, the If standing for its outputs.
  explicit CutPoints(const graph::GraphIndex& index, const InlinedBranches& inlined = {});

  // The node's post-dominators in the main graph, nearest first (empty when only the graph's
  // outputs themselves lie on every path, or the node reaches no output).
  std::vector<graph::NodeId> after(graph::NodeId node) const;
  // Main-graph nodes in topological order have increasing ranks.
  int rank(graph::NodeId node) const { return rank_[node]; }
  int node_count() const { return node_count_; }  // main-graph nodes

 private:
  std::vector<graph::NodeId> nearest_;  // by NodeId: the immediate post-dominator, kNone: the outputs
  std::vector<int> rank_;               // by NodeId: topological position (main graph)
  int node_count_ = 0;
};

}  // namespace onnx_fp16::mixed
