#include "graph/topological_order.h"

#include <functional>
#include <numeric>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>

namespace onnx_fp16::graph {

namespace {

// Calls `read` for every name a node reads, including names its subgraphs read from outside.
void for_each_read(const onnx::NodeProto& node, const std::function<void(const std::string&)>& read) {
  for (const auto& in : node.input()) {
    if (!in.empty()) read(in);
  }
  for (const auto& attribute : node.attribute()) {
    auto visit_graph = [&](const onnx::GraphProto& g) {
      for (const auto& inner : g.node()) for_each_read(inner, read);
      for (const auto& out : g.output()) read(out.name());
    };
    if (attribute.has_g()) visit_graph(attribute.g());
    for (const auto& g : attribute.graphs()) visit_graph(g);
  }
}

}  // namespace

std::vector<std::size_t> stable_topological_order(std::span<const onnx::NodeProto* const> nodes) {
  const std::size_t count = nodes.size();
  // Views of the nodes' own output names: the nodes do not change while this runs.
  std::unordered_map<std::string_view, std::size_t> producer;
  producer.reserve(count * 2);
  for (std::size_t i = 0; i < count; ++i) {
    for (const auto& out : nodes[i]->output()) {
      if (!out.empty()) producer.emplace(out, i);
    }
  }
  // Exported graphs are nearly always sorted already: then the order is the given one (with
  // every edge forward, the earliest ready node is always the next one), found without
  // building the dependency lists (a sixth of this function's cost was their allocations).
  bool sorted = true;
  for (std::size_t i = 0; i < count && sorted; ++i) {
    for_each_read(*nodes[i], [&](const std::string& name) {
      auto it = producer.find(name);
      if (it != producer.end() && it->second > i) sorted = false;
    });
  }
  if (sorted) {
    std::vector<std::size_t> order(count);
    std::iota(order.begin(), order.end(), std::size_t{0});
    return order;
  }
  std::vector<std::vector<std::size_t>> dependents(count);
  std::vector<std::size_t> pending(count, 0);
  for (std::size_t i = 0; i < count; ++i) {
    for_each_read(*nodes[i], [&](const std::string& name) {
      auto it = producer.find(name);
      if (it == producer.end() || it->second == i) return;
      dependents[it->second].push_back(i);
      ++pending[i];
    });
  }
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < count; ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  std::vector<std::size_t> order;
  order.reserve(count);
  std::vector<bool> placed(count, false);
  while (!ready.empty()) {
    std::size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    placed[i] = true;
    for (std::size_t j : dependents[i]) {
      if (--pending[j] == 0) ready.push(j);
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (!placed[i]) order.push_back(i);
  }
  return order;
}

}  // namespace onnx_fp16::graph
