#include "convert/shape_computation.h"

#include <string_view>

#include "convert/port_rules.h"

namespace onnx_fp16::convert {

namespace {

// Shape and index values have a few elements (one per dimension); a larger or dynamic tensor
// is data, where the walk stops.
constexpr std::int64_t kMaxIndexElements = 64;

// Ops whose integer results come from the shape of their input or from comparisons, not from
// float arithmetic on it: the walk does not go through them.
bool stops_walk(const onnx::NodeProto& node) {
  static constexpr std::string_view kStops[] = {"Shape", "Size", "ArgMax", "ArgMin", "NonZero", "TopK",
                                                "NonMaxSuppression"};
  for (auto op : kStops) {
    if (is_op(node, std::string(op).c_str())) return true;
  }
  return false;
}

}  // namespace

std::vector<bool> find_shape_computations(const Context& ctx) {
  const auto& index = ctx.index;
  std::vector<bool> marked(index.nodes().size(), false);
  std::vector<graph::ValueId> pending;
  auto is_small = [&](graph::ValueId v) {
    const auto& t = ctx.types[v];
    return t.static_elements >= 0 && t.static_elements <= kMaxIndexElements;
  };
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index.nodes().size()); ++n) {
    const graph::Node& node = index.node(n);
    for (int port = 0; port < static_cast<int>(node.inputs.size()); ++port) {
      if (node.inputs[port] != graph::kNone && is_index_port(*node.proto, port)) pending.push_back(node.inputs[port]);
    }
  }
  std::vector<bool> seen(index.values().size(), false);
  while (!pending.empty()) {
    graph::ValueId v = pending.back();
    pending.pop_back();
    if (seen[v]) continue;
    seen[v] = true;
    const graph::Value& value = index.value(v);
    if (value.producer == graph::kNone || !is_small(v)) continue;
    const graph::Node& producer = index.node(value.producer);
    if (stops_walk(*producer.proto)) continue;
    marked[value.producer] = true;
    for (graph::ValueId in : producer.inputs) {
      if (in != graph::kNone) pending.push_back(in);
    }
  }
  return marked;
}

}  // namespace onnx_fp16::convert
