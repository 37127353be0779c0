// Models whose If nodes each take one branch on every sample (Silero VAD at one sample rate, a
// merged decoder fed one kind of step, any exporter's shape checks): the search runs them as if
// the taken branch's nodes stood in the If's place, so that the incremental engine, the cut
// points and the error model work inside the branch as in a model without subgraphs. Before,
// such a model ran whole on the rebuild engine for every attempt: BERT-base wrapped in an If took
// 134 s and 960 full-run equivalents where the bare model takes 4 s and 18.
#pragma once

#include <cstddef>
#include <map>
#include <vector>

#include "graph/graph_index.h"

namespace onnx_fp16::mixed {

// By If NodeId: the ScopeId of the branch every sample took.
using InlinedBranches = std::map<graph::NodeId, graph::ScopeId>;

// The nodes of the flat model, each after what it reads: the main graph's in topological order,
// with an inlined If's place taken by its branch's nodes (likewise ordered, an If among them
// inlined in turn), followed by the If itself, which then stands for its outputs (its branch's
// outputs passed on). Empty when the flat model cannot be made: a node with subgraphs it
// reaches is not inlined (a Loop, an If whose samples took both branches), or a name is defined
// twice across the graphs merged.
std::vector<graph::NodeId> flat_nodes(const graph::GraphIndex& index, const InlinedBranches& inlined);

// A flat model and the samples that run it (ascending).
struct FlatModel {
  InlinedBranches inlined;
  std::vector<std::size_t> samples;
};

// Whether `node` stands for an inlined If's outputs in the flat model.
inline bool is_inlined(const InlinedBranches& inlined, graph::NodeId node) { return inlined.count(node) > 0; }

}  // namespace onnx_fp16::mixed
