// Where the elements of a reduction are: for Reduce*, the normalisations and every kernel that
// folds a tensor over some of its axes or walks it along one axis.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/tensor.h"

namespace onnx_fp16::runtime::math {

// Which of `rank` axes the ONNX `axes` list names (negative ones count from the back).
// Throws onnx_fp16::Error for an axis out of range or named twice.
std::vector<bool> axes_mask(std::span<const std::int64_t> axes, std::size_t rank);

// A tensor folded over the axes marked in `reduced`, walked in the input's storage order so that
// reads are sequential and each output element sees its inputs in their order. The walk is a
// sequence of runs: input elements [in, in + count) go to output elements out + i * out_step
// (out_step 0: the run folds into one output element; 1: it maps onto a run of outputs).
class ReductionWalk {
 public:
  ReductionWalk(const Shape& shape, const std::vector<bool>& reduced, bool keepdims);

  const Shape& output_shape() const { return output_shape_; }
  std::size_t output_size() const { return output_size_; }
  // How many input elements fold into each output element (0 when a reduced dimension is 0).
  std::size_t group_size() const { return group_size_; }

  // Calls run(in, out, count, out_step) for every run, in input order.
  template <typename Run>
  void for_each_run(Run&& run) const;

  // Whether the walk is rows of group_size() contiguous elements, row r folding into output r
  // (the innermost axes reduced, as LayerNorm's mean and variance written out are): the rows
  // can then be summed side by side, each in its own order.
  bool folds_contiguous_rows() const {
    return !dims_.empty() && out_strides_.back() == 0 && (dims_.size() == 1 || (dims_.size() == 2 && out_strides_[0] == 1));
  }

 private:
  Shape output_shape_;
  std::size_t output_size_ = 0;
  std::size_t group_size_ = 0;
  std::size_t input_size_ = 0;
  // Merged dimensions (neighbours of the same kind joined, size-1 ones dropped), outermost first.
  std::vector<std::size_t> dims_;
  std::vector<std::size_t> out_strides_;  // 0 for reduced dimensions
};

template <typename Run>
void ReductionWalk::for_each_run(Run&& run) const {
  if (input_size_ == 0) return;
  if (dims_.empty()) {  // a single element
    run(std::size_t{0}, std::size_t{0}, std::size_t{1}, std::size_t{0});
    return;
  }
  const std::size_t last = dims_.size() - 1;
  const std::size_t count = dims_[last];
  const std::size_t out_step = out_strides_[last];
  std::vector<std::size_t> index(last, 0);
  std::size_t out = 0;
  for (std::size_t in = 0; in < input_size_; in += count) {
    run(in, out, count, out_step);
    for (std::size_t d = last; d-- > 0;) {
      out += out_strides_[d];
      if (++index[d] < dims_[d]) break;
      out -= out_strides_[d] * dims_[d];
      index[d] = 0;
    }
  }
}

// Rows of `row_size` elements per parallel_for task: about 32K elements of work each, below
// which splitting costs more than it saves.
inline std::size_t rows_per_task(std::size_t row_size) {
  return std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(1, row_size));
}

// A shape seen as [outer, dim, inner] around one axis: element (o, j, i) is at
// (o * dim + j) * inner + i.
struct AxisSplit {
  std::size_t outer = 1;
  std::size_t dim = 1;
  std::size_t inner = 1;
};
AxisSplit split_at_axis(const Shape& shape, std::size_t axis);
// The shape as [outer, dim] at `axis` (inner 1): outer is the product of the dimensions before
// it, dim of the others (opset < 13 Softmax's coercion to 2-D). axis may equal the rank.
AxisSplit split_before_axis(const Shape& shape, std::size_t axis);

}  // namespace onnx_fp16::runtime::math
