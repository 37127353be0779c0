// The policy: for every node, converted or kept, and why. Reads the options (block lists), the
// schemas (through the port signatures) and the shape-computation analysis.
#pragma once

#include <vector>

#include "convert/context.h"

namespace onnx_fp16::convert {

// The decisions for `ctx`, with the nodes where forced_keep[NodeId] is true kept in float32 as
// if named in the node block list (the mixed-precision search's choice; empty: none forced).
// A pure function of its arguments. Throws onnx_fp16::Error when a float tensor that matters
// has no known type.
Decisions decide_nodes(const Context& ctx, const std::vector<bool>& forced_keep = {});

}  // namespace onnx_fp16::convert
