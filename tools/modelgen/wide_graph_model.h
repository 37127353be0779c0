// A graph of many tiny nodes, for measuring how conversion time grows with the node count:
// the weights are negligible, so any super-linear step of the converter shows up directly.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace modelgen {

// Exactly `node_count` nodes (>= 1) on a float [batch, 16] tensor: blocks of 27 nodes where the
// input fans out to four chains of Mul/Add/Tanh/Sigmoid/Relu (each Mul/Add with its own [16]
// initializer) that are joined again by two Adds and a Max (Max is on the default op block
// list: one kept node per block), one block feeding the next; nodes left over after the last
// whole block form a plain chain. Input "x", output "y". Opset 17.
onnx::ModelProto wide_graph_model(int node_count, std::uint64_t seed = 5);

}  // namespace modelgen
