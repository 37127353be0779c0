#include "mixed/inlined_branches.h"

#include <set>
#include <string>

#include "graph/topological_order.h"

namespace onnx_fp16::mixed {
namespace {

// Appends the nodes of `scope` in topological order, inlined Ifs replaced by their branch and
// then themselves; false when a node with subgraphs is not inlined or a name repeats.
bool append_scope(const graph::GraphIndex& index, graph::ScopeId scope, const InlinedBranches& inlined,
                  std::set<std::string>& defined, std::vector<graph::NodeId>& flat) {
  const graph::Scope& s = index.scope(scope);
  for (const auto& initializer : s.graph->initializer()) {
    if (!defined.insert(initializer.name()).second && scope != graph::GraphIndex::main_scope()) return false;
  }
  std::vector<const onnx::NodeProto*> protos;
  for (graph::NodeId n : s.nodes) protos.push_back(index.node(n).proto);
  for (std::size_t position : graph::stable_topological_order(protos)) {
    const graph::NodeId n = s.nodes[position];
    const graph::Node& node = index.node(n);
    if (!node.subgraphs.empty()) {
      const auto branch = inlined.find(n);
      if (branch == inlined.end() || index.scope(branch->second).owner != n) return false;
      if (!append_scope(index, branch->second, inlined, defined, flat)) return false;
    }
    for (const auto& output : node.proto->output()) {
      if (!output.empty() && !defined.insert(output).second) return false;
    }
    flat.push_back(n);
  }
  return true;
}

}  // namespace

std::vector<graph::NodeId> flat_nodes(const graph::GraphIndex& index, const InlinedBranches& inlined) {
  std::set<std::string> defined;
  const onnx::GraphProto& main = *index.scope(graph::GraphIndex::main_scope()).graph;
  for (const auto& input : main.input()) defined.insert(input.name());
  std::vector<graph::NodeId> flat;
  if (!append_scope(index, graph::GraphIndex::main_scope(), inlined, defined, flat)) return {};
  return flat;
}

}  // namespace onnx_fp16::mixed
