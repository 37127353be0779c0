#include "runtime/kernels/math_reduction.h"

#include <onnx_fp16/error.h>

#include <string>

namespace onnx_fp16::runtime::math {

std::vector<bool> axes_mask(std::span<const std::int64_t> axes, std::size_t rank) {
  std::vector<bool> mask(rank, false);
  for (const std::int64_t axis : axes) {
    const std::size_t a = normalize_axis(axis, rank);
    if (mask[a]) throw Error("axis " + std::to_string(axis) + " is listed twice");
    mask[a] = true;
  }
  return mask;
}

ReductionWalk::ReductionWalk(const Shape& shape, const std::vector<bool>& reduced, bool keepdims) {
  input_size_ = element_count(shape);
  output_size_ = 1;
  group_size_ = 1;
  std::vector<bool> merged_reduced;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const auto size = static_cast<std::size_t>(shape[d]);
    if (reduced[d]) {
      group_size_ *= size;
      if (keepdims) output_shape_.push_back(1);
    } else {
      output_size_ *= size;
      output_shape_.push_back(shape[d]);
    }
    if (size == 1) continue;  // reduced or not, it moves nothing
    if (!dims_.empty() && merged_reduced.back() == reduced[d]) {
      dims_.back() *= size;
    } else {
      dims_.push_back(size);
      merged_reduced.push_back(reduced[d]);
    }
  }
  out_strides_.assign(dims_.size(), 0);
  std::size_t stride = 1;
  for (std::size_t d = dims_.size(); d-- > 0;) {
    if (merged_reduced[d]) continue;
    out_strides_[d] = stride;
    stride *= dims_[d];
  }
}

AxisSplit split_at_axis(const Shape& shape, std::size_t axis) {
  AxisSplit split;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const auto size = static_cast<std::size_t>(shape[d]);
    if (d < axis) {
      split.outer *= size;
    } else if (d == axis) {
      split.dim = size;
    } else {
      split.inner *= size;
    }
  }
  return split;
}

AxisSplit split_before_axis(const Shape& shape, std::size_t axis) {
  AxisSplit split;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    (d < axis ? split.outer : split.dim) *= static_cast<std::size_t>(shape[d]);
  }
  return split;
}

}  // namespace onnx_fp16::runtime::math
