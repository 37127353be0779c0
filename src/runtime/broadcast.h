// numpy-style (multidirectional) broadcasting: the output shape of several inputs, and a walk
// over the output that tells where each input's values are, in runs along the innermost
// dimension so that the loops over a run are plain (and vectorisable) loops.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "runtime/parallel.h"
#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

// The broadcast of the shapes (right-aligned; each dimension equal or 1). Throws
// onnx_fp16::Error naming the shapes when they do not broadcast.
Shape broadcast_shapes(std::span<const Shape> shapes);
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Opset < 7 binary ops broadcast only B onto A, and only when the node says broadcast=1; `axis`
// places B's dimensions inside A's (default: trailing). Returns B's shape padded with 1s to A's
// rank, which multidirectional broadcasting then handles. Without broadcast=1 the shapes must
// be equal. Throws onnx_fp16::Error otherwise.
Shape legacy_broadcast_shape(const Shape& a, const Shape& b, bool broadcast, std::optional<std::int64_t> axis);

class BroadcastLayout {
 public:
  // Inputs broadcast together (multidirectional).
  explicit BroadcastLayout(std::span<const Shape> inputs);
  // Inputs broadcast to a given output shape (unidirectional, as Expand's input).
  BroadcastLayout(std::span<const Shape> inputs, const Shape& output);

  const Shape& output_shape() const { return output_shape_; }
  std::size_t output_size() const { return output_size_; }
  std::size_t input_count() const { return strides_.size(); }

  // Calls run(out_offset, count, in_offsets, in_steps) for consecutive runs covering the output:
  // elements [out_offset, out_offset + count) of the output read, from input k, elements
  // in_offsets[k] + i * in_steps[k] (in_steps[k] is 0 for a repeated value, 1 otherwise).
  template <typename Run>
  void for_each_run(Run&& run) const {
    for_each_run(0, run_count(), run);
  }
  // The same for runs [first, last) of the run_count() runs (all of one length), so that
  // threads can take ranges of them.
  template <typename Run>
  void for_each_run(std::size_t first, std::size_t last, Run&& run) const;
  std::size_t run_count() const;

 private:
  void plan(std::span<const Shape> inputs);

  Shape output_shape_;
  std::size_t output_size_ = 0;
  std::vector<std::int64_t> dims_;                 // merged output dimensions, outermost first
  std::vector<std::vector<std::int64_t>> strides_;  // per input, per merged dimension (0: broadcast)
};

inline std::size_t BroadcastLayout::run_count() const {
  if (output_size_ == 0) return 0;
  return dims_.empty() ? 1 : output_size_ / static_cast<std::size_t>(dims_.back());
}

template <typename Run>
void BroadcastLayout::for_each_run(std::size_t first, std::size_t last, Run&& run) const {
  const std::size_t inputs = strides_.size();
  std::vector<std::size_t> offsets(inputs, 0);
  std::vector<std::size_t> steps(inputs, 0);
  if (output_size_ == 0 || first >= last) return;
  if (dims_.empty()) {  // every dimension is 1: one element
    run(std::size_t{0}, std::size_t{1}, offsets.data(), steps.data());
    return;
  }
  const std::size_t outer_rank = dims_.size() - 1;
  const auto inner = static_cast<std::size_t>(dims_.back());
  for (std::size_t k = 0; k < inputs; ++k) steps[k] = static_cast<std::size_t>(strides_[k].back());
  // The outer index of run `first` (mixed radix over the outer dimensions) and its offsets.
  std::vector<std::int64_t> index(outer_rank, 0);
  for (std::size_t d = outer_rank, rest = first; d-- > 0;) {
    index[d] = static_cast<std::int64_t>(rest % static_cast<std::size_t>(dims_[d]));
    rest /= static_cast<std::size_t>(dims_[d]);
    for (std::size_t k = 0; k < inputs; ++k) offsets[k] += static_cast<std::size_t>(strides_[k][d] * index[d]);
  }
  for (std::size_t r = first; r < last; ++r) {
    run(r * inner, inner, offsets.data(), steps.data());
    for (std::size_t d = outer_rank; d-- > 0;) {
      if (++index[d] < dims_[d]) {
        for (std::size_t k = 0; k < inputs; ++k) offsets[k] += static_cast<std::size_t>(strides_[k][d]);
        break;
      }
      index[d] = 0;
      for (std::size_t k = 0; k < inputs; ++k) offsets[k] -= static_cast<std::size_t>(strides_[k][d] * (dims_[d] - 1));
    }
  }
}

// out[i] = op(a[.], b[.]) over the broadcast of a and b (`out` has layout.output_size()), on up
// to `threads` threads (each output element is computed alone, so `out` may alias an input).
template <typename A, typename B, typename R, typename Op>
void broadcast_binary(const BroadcastLayout& layout, std::span<const A> a, std::span<const B> b, std::span<R> out,
                      Op&& op, int threads = 1) {
  const auto each_run = [&](std::size_t o, std::size_t n, const std::size_t* offset, const std::size_t* step) {
    const A* pa = a.data() + offset[0];
    const B* pb = b.data() + offset[1];
    R* pr = out.data() + o;
    if (step[0] != 0 && step[1] != 0) {
      for (std::size_t i = 0; i < n; ++i) pr[i] = op(pa[i], pb[i]);
    } else if (step[0] != 0) {
      const B y = *pb;
      for (std::size_t i = 0; i < n; ++i) pr[i] = op(pa[i], y);
    } else if (step[1] != 0) {
      const A x = *pa;
      for (std::size_t i = 0; i < n; ++i) pr[i] = op(x, pb[i]);
    } else {
      const R value = op(*pa, *pb);
      for (std::size_t i = 0; i < n; ++i) pr[i] = value;
    }
  };
  const std::size_t runs = layout.run_count();
  const std::size_t run_length = runs == 0 ? 1 : layout.output_size() / runs;
  // Ranges of about kBroadcastGrain elements: below that a thread costs more than it saves.
  constexpr std::size_t kBroadcastGrain = 1 << 15;
  if (run_length <= kBroadcastGrain) {
    parallel_for(threads, runs, std::max<std::size_t>(1, kBroadcastGrain / run_length),
                 [&](std::size_t first, std::size_t last) { layout.for_each_run(first, last, each_run); });
    return;
  }
  // Long runs (two tensors of one shape merge into a single run: a residual Add) are cut into
  // pieces of about kBroadcastGrain elements, or one thread did the whole operation.
  const std::size_t pieces = (run_length + kBroadcastGrain - 1) / kBroadcastGrain;
  const std::size_t piece_length = (run_length + pieces - 1) / pieces;
  parallel_for(threads, runs * pieces, 1, [&](std::size_t first, std::size_t last) {
    for (std::size_t item = first; item < last; ++item) {
      const std::size_t begin = item % pieces * piece_length;
      const std::size_t end = std::min(run_length, begin + piece_length);
      layout.for_each_run(item / pieces, item / pieces + 1,
                          [&](std::size_t o, std::size_t, const std::size_t* offset, const std::size_t* step) {
                            const std::size_t moved[2] = {offset[0] + begin * step[0], offset[1] + begin * step[1]};
                            each_run(o + begin, end - begin, moved, step);
                          });
    }
  });
}

// out[i] = op(a[.], b[.], c[.]) over the broadcast of three inputs (Where, Clip-like ops).
template <typename A, typename B, typename C, typename R, typename Op>
void broadcast_ternary(const BroadcastLayout& layout, std::span<const A> a, std::span<const B> b,
                       std::span<const C> c, std::span<R> out, Op&& op) {
  layout.for_each_run([&](std::size_t o, std::size_t n, const std::size_t* offset, const std::size_t* step) {
    const A* pa = a.data() + offset[0];
    const B* pb = b.data() + offset[1];
    const C* pc = c.data() + offset[2];
    R* pr = out.data() + o;
    for (std::size_t i = 0; i < n; ++i) pr[i] = op(pa[i * step[0]], pb[i * step[1]], pc[i * step[2]]);
  });
}

}  // namespace onnx_fp16::runtime
