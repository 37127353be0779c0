// Moving elements without looking at their values: the shared engine of the shape and
// data-movement kernels (Transpose, Slice, Pad, Tile, Expand, Gather, DepthToSpace, ...).
// Works for every element type, strings included; float16/bfloat16 bits are copied as they are
// (no float conversion, so NaN payloads and -0 survive).
//
// Most such ops are "separable": along each output axis the source position depends only on the
// index along that axis. copy_by_axis_offsets() runs those from per-axis offset tables, so each
// kernel only says where each output index comes from. Ops whose sources depend on several
// indices at once (GatherElements, GatherND, ReverseSequence) list flat source positions and
// use take_blocks().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

// Product of shape[begin, end) (1 for an empty range).
std::int64_t dim_product(const Shape& shape, std::size_t begin, std::size_t end);
// Elements between consecutive indices of each dimension in row-major order.
std::vector<std::int64_t> row_major_strides(const Shape& shape);

// An index in [-extent, extent) (negative ones count from the end) as one in [0, extent).
// Throws onnx_fp16::Error for an index outside.
std::int64_t wrap_index(std::int64_t index, std::int64_t extent);

// An offset in a table of copy_by_axis_offsets() that means "no source: use the fill value".
inline constexpr std::int64_t kFillOffset = -1;

// A tensor of `out_shape` whose element at multi-index (i0, ..., in) is the input's flat element
// offsets[0][i0] + ... + offsets[n][in]; where any of those offsets is negative (kFillOffset),
// the element is `fill` (a one-element tensor of the input's type) or, without one, zero / false
// / "". offsets[d] has out_shape[d] entries. The caller guarantees the sums are in range.
Tensor copy_by_axis_offsets(const Tensor& input, Shape out_shape, const std::vector<std::vector<std::int64_t>>& offsets,
                            const Tensor* fill = nullptr);

// The offset table of an axis read with a stride: entry k is (start + k * step) * stride.
std::vector<std::int64_t> strided_offsets(std::int64_t count, std::int64_t start, std::int64_t step,
                                          std::int64_t stride);

// A tensor of `out_shape` made of consecutive blocks of `block` elements: block i is the input's
// elements [starts[i], starts[i] + block). starts.size() * block must be the output's size.
Tensor take_blocks(const Tensor& input, Shape out_shape, std::span<const std::int64_t> starts, std::size_t block = 1);

}  // namespace onnx_fp16::runtime
