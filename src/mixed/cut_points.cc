#include "mixed/cut_points.h"

#include <map>

#include "graph/topological_order.h"

namespace onnx_fp16::mixed {

CutPoints::CutPoints(const graph::GraphIndex& index, const InlinedBranches& inlined) {
  const std::size_t count = index.nodes().size();
  nearest_.assign(count, graph::kNone);
  rank_.assign(count, -1);
  std::vector<graph::NodeId> order;
  if (inlined.empty()) {
    const std::vector<graph::NodeId>& main_nodes = index.scope(graph::GraphIndex::main_scope()).nodes;
    std::vector<const onnx::NodeProto*> protos;
    protos.reserve(main_nodes.size());
    for (graph::NodeId n : main_nodes) protos.push_back(index.node(n).proto);
    for (std::size_t position : graph::stable_topological_order(protos)) order.push_back(main_nodes[position]);
  } else {
    order = flat_nodes(index, inlined);
  }
  for (std::size_t i = 0; i < order.size(); ++i) rank_[order[i]] = static_cast<int>(i);
  // An inlined branch's outputs go on as its If's.
  std::map<graph::ValueId, std::vector<graph::NodeId>> passed_to;
  for (const auto& [node, branch] : inlined) {
    for (graph::ValueId v : index.scope(branch).outputs) passed_to[v].push_back(node);
  }
  // The node of the flat model a reader belongs to: itself, or the node whose subgraph holds it.
  auto flat_reader = [&](graph::NodeId reader) {
    while (reader != graph::kNone && rank_[reader] < 0) reader = index.scope(index.node(reader).scope).owner;
    return reader;
  };
  // The graph outputs are one virtual node after every other.
  constexpr graph::NodeId kOutputs = graph::kNone;
  node_count_ = static_cast<int>(order.size());
  const int outputs_rank = node_count_;
  auto rank_of = [&](graph::NodeId n) { return n == kOutputs ? outputs_rank : rank_[n]; };
  // The nearest common post-dominator of two: climb from the earlier one (Cooper, Harvey and
  // Kennedy's intersection; in a DAG, visited in reverse topological order, one pass is exact).
  auto common = [&](graph::NodeId a, graph::NodeId b) {
    while (a != b) {
      if (rank_of(a) < rank_of(b)) {
        a = nearest_[a];
      } else {
        b = nearest_[b];
      }
    }
    return a;
  };
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const graph::NodeId n = *it;
    bool any = false;
    graph::NodeId joint = kOutputs;
    auto meet = [&](graph::NodeId successor) {
      joint = any ? common(joint, successor) : successor;
      any = true;
    };
    auto meet_reader = [&](graph::NodeId successor) {
      // A reader out of order (a cycle the index let through) has no rank after n: treat as output.
      if (successor == graph::kNone || successor == n || rank_[successor] <= rank_[n]) {
        meet(kOutputs);
      } else {
        meet(successor);
      }
    };
    for (graph::ValueId v : index.node(n).outputs) {
      if (v == graph::kNone) continue;
      const graph::Value& value = index.value(v);
      if (!value.graph_output_positions.empty() && value.scope == graph::GraphIndex::main_scope()) meet(kOutputs);
      for (const graph::PortRef& reader : value.consumers) meet_reader(flat_reader(reader.node));
      if (const auto passed = passed_to.find(v); passed != passed_to.end()) {
        for (graph::NodeId owner : passed->second) meet_reader(owner);
      }
    }
    nearest_[n] = joint;  // no reader at all: it reaches no output
  }
}

std::vector<graph::NodeId> CutPoints::after(graph::NodeId node) const {
  std::vector<graph::NodeId> chain;
  for (graph::NodeId p = nearest_[node]; p != graph::kNone; p = nearest_[p]) chain.push_back(p);
  return chain;
}

}  // namespace onnx_fp16::mixed
