// Which precision each port of a node reads and writes, given the node's decision. The single
// place that knows the exceptions: Cast/CastLike inputs take any precision, index-like ports
// (Reshape shape, Resize scales, Slice starts, ...: types/op_rules.h) stay float32 even on
// converted nodes, and control-flow ports follow the node.
#pragma once

#include <cstdint>

#include "convert/context.h"

namespace onnx_fp16::convert {

enum class Want { NotFloat, Any, Float32, Target };

bool input_port_convertible(const Context& ctx, graph::NodeId node, int port);
bool output_port_convertible(const Context& ctx, graph::NodeId node, int port);
// What a node reads at an input port, and (float32 values only; 0 otherwise) the element type it
// writes at an output port, under `decisions`.
Want input_want(const Context& ctx, const Decisions& decisions, graph::NodeId node, int port);
Precision output_precision(const Context& ctx, const Decisions& decisions, graph::NodeId node, int port);

}  // namespace onnx_fp16::convert
