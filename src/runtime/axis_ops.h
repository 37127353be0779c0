// Taking one slice along an axis and stacking slices along a new axis: what Loop and Scan do
// with their scan inputs and outputs (and what Split/Unbind/Stack-like kernels can reuse).
// Work for every element type, strings included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

// The slice at `index` along `axis`, with that axis removed: shape [a, b, c], axis 1 -> [a, c].
Tensor take_along_axis(const Tensor& input, std::size_t axis, std::int64_t index);

// The parts (same type and shape) stacked along a new axis at position `axis` (0..rank):
// n parts of shape [a, c], axis 1 -> [a, n, c]. Needs at least one part.
Tensor stack_along_axis(std::span<const Tensor> parts, std::size_t axis);

}  // namespace onnx_fp16::runtime
