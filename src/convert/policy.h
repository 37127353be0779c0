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

// decide_nodes' first step: what each node gets from the options, its schema and the
// shape-computation analysis, no forced keep, none of the rules that look at its neighbours. A
// function of `ctx` alone, so that a caller deciding many times (the mixed-precision search:
// a plan per attempt and per unit it measures) computes it once.
Decisions decide_each_node(const Context& ctx);
// decide_nodes from decide_each_node(ctx)'s result `each_node`: the same decisions.
Decisions decide_nodes(const Context& ctx, Decisions each_node, const std::vector<bool>& forced_keep);

}  // namespace onnx_fp16::convert
