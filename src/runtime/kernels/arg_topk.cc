// Ranking along one axis: ArgMax, ArgMin (keepdims, select_last_index from opset 12) and TopK
// (k an attribute before opset 10, an input after; largest/sorted from opset 11).
//
// Values compare in the compute type (float16 exactly as float32). As in numpy, ArgMax and ArgMin
// pick the first NaN, and NaN ranks above every number in TopK (numpy's sort puts it last):
// TopK(largest) lists NaNs first, TopK(smallest) last. Equal values keep index order (TopK's spec: the lower index
// first; ArgMax/ArgMin: the first one unless select_last_index).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_reduction.h"
#include "runtime/parallel.h"

namespace onnx_fp16::runtime {

namespace {

template <typename T>
bool is_nan(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(value);
  } else {
    return false;
  }
}

// a ranks strictly above b when larger (NaN above every number, NaNs tie).
template <typename T>
bool ranks_above(T a, T b) {
  if (is_nan(a)) return !is_nan(b);
  if (is_nan(b)) return false;
  return a > b;
}

Shape with_axis_size(Shape shape, std::size_t axis, std::int64_t size) {
  shape[axis] = size;
  return shape;
}

template <bool kMax>
void arg_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::size_t axis = normalize_axis(ctx.attr_int("axis", 0), x.rank());
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  const bool last = ctx.attr_int("select_last_index", 0) != 0;
  const math::AxisSplit split = math::split_at_axis(x.shape(), axis);
  if (split.dim == 0) ctx.fail("cannot take the extreme of an empty axis");
  Shape out_shape = with_axis_size(x.shape(), axis, 1);
  if (!keepdims) out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(axis));
  Tensor out = Tensor::uninitialized(onnx::TensorProto::INT64, out_shape);
  auto indices = out.mutable_data<std::int64_t>();
  dispatch<NumericTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    // numpy.argmax/argmin: the first NaN wins over any number, for both.
    const auto better = [](C candidate, C best) {
      if (is_nan(best)) return false;
      if (is_nan(candidate)) return true;
      return kMax ? candidate > best : candidate < best;
    };
    // One result per (outer, inner) pair, each found by one thread.
    parallel_for(ctx.threads(), split.outer * split.inner, math::rows_per_task(split.dim),
                 [&](std::size_t begin, std::size_t end) {
                   for (std::size_t r = begin; r < end; ++r) {
                     const std::size_t base = (r / split.inner) * split.dim * split.inner + r % split.inner;
                     std::size_t best_at = 0;
                     C best = in[base];
                     for (std::size_t j = 1; j < split.dim; ++j) {
                       const C value = in[base + j * split.inner];
                       if (better(value, best) || (last && value == best)) {
                         best = value;
                         best_at = j;
                       }
                     }
                     indices[r] = static_cast<std::int64_t>(best_at);
                   }
                 });
  });
  ctx.set_output(0, std::move(out));
}

void top_k_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::size_t axis = normalize_axis(ctx.attr_int("axis", -1), x.rank());
  std::int64_t k = 0;
  if (ctx.opset() < 10) {
    k = ctx.attr_int("k");
  } else {
    const Tensor& k_input = ctx.input(1);
    if (k_input.size() != 1) ctx.fail("K must hold one value, got shape " + shape_to_string(k_input.shape()));
    k = scalar_to_int64(k_input);
  }
  const bool largest = ctx.opset() < 11 || ctx.attr_int("largest", 1) != 0;
  const math::AxisSplit split = math::split_at_axis(x.shape(), axis);
  if (k < 0 || static_cast<std::size_t>(k) > split.dim) {
    ctx.fail("K = " + std::to_string(k) + " is outside [0, " + std::to_string(split.dim) + "]");
  }
  const auto count = static_cast<std::size_t>(k);
  const Shape out_shape = with_axis_size(x.shape(), axis, k);
  Tensor indices_out = Tensor::uninitialized(onnx::TensorProto::INT64, out_shape);
  auto indices = indices_out.mutable_data<std::int64_t>();
  dispatch<NumericTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    OutputValues<S> values(out_shape);
    // The index breaks ties, which makes the order total: the result is always sorted (the spec
    // leaves the order free when sorted=0).
    const auto select = [&](std::size_t begin, std::size_t end) {
      std::vector<std::size_t> order(split.dim);
      std::vector<C> row(split.dim);
      const auto before = [&](std::size_t a, std::size_t b) {
        const bool above = largest ? ranks_above(row[a], row[b]) : ranks_above(row[b], row[a]);
        const bool below = largest ? ranks_above(row[b], row[a]) : ranks_above(row[a], row[b]);
        return above || (!below && a < b);
      };
      for (std::size_t r = begin; r < end; ++r) {
        const std::size_t o = r / split.inner;
        const std::size_t i = r % split.inner;
        const std::size_t base = o * split.dim * split.inner + i;
        for (std::size_t j = 0; j < split.dim; ++j) row[j] = in[base + j * split.inner];
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count), order.end(), before);
        for (std::size_t j = 0; j < count; ++j) {
          const std::size_t at = (o * count + j) * split.inner + i;
          values[at] = row[order[j]];
          indices[at] = static_cast<std::int64_t>(order[j]);
        }
      }
    };
    parallel_for(ctx.threads(), split.outer * split.inner, math::rows_per_task(split.dim), select);
    ctx.set_output(0, std::move(values).finish());
  });
  if (ctx.output_count() > 1) ctx.set_output(1, std::move(indices_out));
}

}  // namespace

void register_arg_topk_kernels(KernelRegistry& r) {
  r.add("ArgMax", 1, arg_kernel<true>);
  r.add("ArgMin", 1, arg_kernel<false>);
  r.add("TopK", 1, top_k_kernel);
}

}  // namespace onnx_fp16::runtime
