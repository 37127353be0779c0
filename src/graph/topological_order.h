// Stable topological ordering of one graph's nodes.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <span>
#include <vector>

namespace onnx_fp16::graph {

// Positions of `nodes` in an order where every node comes after the producers of the values it
// reads (directly or from inside its subgraphs), staying as close to the given order as
// possible: among ready nodes the earliest goes first. Nodes on a cycle keep their given order
// at the end (the checker reports such a graph).
std::vector<std::size_t> stable_topological_order(std::span<const onnx::NodeProto* const> nodes);

}  // namespace onnx_fp16::graph
