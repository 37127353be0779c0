#include "convert/shape_computation.h"

#include "convert/port_rules.h"
#include "types/op_rules.h"

namespace onnx_fp16::convert {

namespace {

// Shape and index values have a few elements (one per dimension); a larger or dynamic tensor
// is data, where the walk stops.
constexpr std::int64_t kMaxIndexElements = 64;

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
      if (node.inputs[port] != graph::kNone && types::is_index_port(*node.proto, port)) pending.push_back(node.inputs[port]);
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
    // Integer results from shapes or comparisons (Shape, ArgMax, TopK...): the walk stops.
    if (const types::OpRule* rule = types::find_op_rule(*producer.proto); rule && rule->stops_shape_walk) continue;
    marked[value.producer] = true;
    for (graph::ValueId in : producer.inputs) {
      if (in != graph::kNone) pending.push_back(in);
    }
  }
  return marked;
}

}  // namespace onnx_fp16::convert
