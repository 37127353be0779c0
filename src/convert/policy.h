// The policy: for every node, converted or kept, and why. Reads the options (block lists), the
// schemas (through the port signatures) and the shape-computation analysis.
#pragma once

#include <vector>

#include "convert/context.h"

namespace onnx_fp16::convert {

// Fills ctx.decisions. Throws onnx_fp16::Error when a float tensor that matters has no known type.
void decide_nodes(Context& ctx);

}  // namespace onnx_fp16::convert
