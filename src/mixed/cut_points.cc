#include "mixed/cut_points.h"

#include "graph/topological_order.h"

namespace onnx_fp16::mixed {

CutPoints::CutPoints(const graph::GraphIndex& index) {
  const std::size_t count = index.nodes().size();
  nearest_.assign(count, graph::kNone);
  rank_.assign(count, -1);
  const std::vector<graph::NodeId>& main_nodes = index.scope(graph::GraphIndex::main_scope()).nodes;
  std::vector<const onnx::NodeProto*> protos;
  protos.reserve(main_nodes.size());
  for (graph::NodeId n : main_nodes) protos.push_back(index.node(n).proto);
  std::vector<graph::NodeId> order;
  for (std::size_t position : graph::stable_topological_order(protos)) {
    rank_[main_nodes[position]] = static_cast<int>(order.size());
    order.push_back(main_nodes[position]);
  }
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
    for (graph::ValueId v : index.node(n).outputs) {
      if (v == graph::kNone) continue;
      const graph::Value& value = index.value(v);
      if (!value.graph_output_positions.empty()) meet(kOutputs);
      for (const graph::PortRef& reader : value.consumers) {
        const graph::NodeId successor = index.holder_in(reader.node, graph::GraphIndex::main_scope());
        // A reader out of order (a cycle the index let through) has no rank after n: treat as output.
        if (successor == n || rank_[successor] <= rank_[n]) {
          meet(kOutputs);
        } else {
          meet(successor);
        }
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
