// Finds the float arithmetic that computes shapes and indices: nodes whose results flow, through
// small tensors, into index-like ports (Reshape shape, Resize sizes/scales, Slice starts, Range,
// Expand, Tile, ConstantOfShape, TopK's K, ...). float16 is exact only up to 2048, so these
// nodes stay float32.
#pragma once

#include <vector>

#include "convert/context.h"

namespace onnx_fp16::convert {

// Per NodeId: true where the node is part of a shape/index computation.
std::vector<bool> find_shape_computations(const Context& ctx);

}  // namespace onnx_fp16::convert
