// Reductions over a set of axes: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
// ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare.
//
// Axes: an attribute until ReduceSum 13 / the others 18, then an optional second input, with
// noop_with_empty_axes deciding whether no axes means all axes (0) or none (1). Without axes
// every axis is reduced. keepdims (default 1) keeps reduced dimensions as 1.
//
// Every output element is accumulated in the compute type (float32 for float16, double for
// float64), in input order, and rounded once. Integer sums and products wrap; integer means,
// norms and logarithms are computed in double and converted as Cast would (numpy's astype).
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_reduction.h"
#include "runtime/parallel.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

namespace {

template <typename T>
T nan_max(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();  // numpy.max
  }
  return a < b ? b : a;
}
template <typename T>
T nan_min(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return b < a ? b : a;
}
template <typename T>
T lowest_value() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::lowest();
}
template <typename T>
T highest_value() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::max();
}
template <typename T>
T magnitude(T x) {
  if constexpr (std::is_unsigned_v<T>) {
    return x;
  } else if constexpr (std::is_integral_v<T>) {
    return x < T{0} ? wrapping_neg(x) : x;
  } else {
    return std::fabs(x);
  }
}

// One reduction: the accumulator's start, how it takes a value, and the result from it and the
// group's size. `real` reductions of integers accumulate in double.
struct SumOp {
  static constexpr bool real = false;
  template <typename A>
  static A init() {
    return A{0};
  }
  template <typename A>
  static A step(A acc, A x) {
    return wrapping_add(acc, x);
  }
  template <typename A>
  static A finish(A acc, std::size_t) {
    return acc;
  }
};
struct MeanOp {
  static constexpr bool real = true;
  template <typename A>
  static A init() {
    return A{0};
  }
  template <typename A>
  static A step(A acc, A x) {
    return acc + x;
  }
  template <typename A>
  static A finish(A acc, std::size_t n) {
    return acc / static_cast<A>(n);
  }
};
struct ProdOp {
  static constexpr bool real = false;
  template <typename A>
  static A init() {
    return A{1};
  }
  template <typename A>
  static A step(A acc, A x) {
    return wrapping_mul(acc, x);
  }
  template <typename A>
  static A finish(A acc, std::size_t) {
    return acc;
  }
};
struct MaxOp {
  static constexpr bool real = false;
  template <typename A>
  static A init() {
    return lowest_value<A>();
  }
  template <typename A>
  static A step(A acc, A x) {
    return nan_max(acc, x);
  }
  template <typename A>
  static A finish(A acc, std::size_t) {
    return acc;
  }
};
struct MinOp {
  static constexpr bool real = false;
  template <typename A>
  static A init() {
    return highest_value<A>();
  }
  template <typename A>
  static A step(A acc, A x) {
    return nan_min(acc, x);
  }
  template <typename A>
  static A finish(A acc, std::size_t) {
    return acc;
  }
};
struct L1Op {
  static constexpr bool real = false;
  template <typename A>
  static A init() {
    return A{0};
  }
  template <typename A>
  static A step(A acc, A x) {
    return wrapping_add(acc, magnitude(x));
  }
  template <typename A>
  static A finish(A acc, std::size_t) {
    return acc;
  }
};
struct L2Op {
  static constexpr bool real = true;
  template <typename A>
  static A init() {
    return A{0};
  }
  template <typename A>
  static A step(A acc, A x) {
    return acc + x * x;
  }
  template <typename A>
  static A finish(A acc, std::size_t) {
    return std::sqrt(acc);
  }
};
struct SumSquareOp {
  static constexpr bool real = false;
  template <typename A>
  static A init() {
    return A{0};
  }
  template <typename A>
  static A step(A acc, A x) {
    return wrapping_add(acc, wrapping_mul(x, x));
  }
  template <typename A>
  static A finish(A acc, std::size_t) {
    return acc;
  }
};
struct LogSumOp {
  static constexpr bool real = true;
  template <typename A>
  static A init() {
    return A{0};
  }
  template <typename A>
  static A step(A acc, A x) {
    return acc + x;
  }
  template <typename A>
  static A finish(A acc, std::size_t) {
    return std::log(acc);
  }
};

// Which axes the node reduces: every axis, the listed ones, or (noop_with_empty_axes) none.
std::vector<bool> reduced_axes(const KernelContext& ctx, std::size_t rank, bool axes_are_input) {
  std::optional<std::vector<std::int64_t>> axes;
  if (axes_are_input) {
    if (const Tensor* input = ctx.optional_input(1)) axes = to_int64_vector(*input);
  } else if (ctx.has_attribute("axes")) {
    axes = ctx.attr_ints("axes");
  }
  if (!axes.has_value() || axes->empty()) {
    const bool noop = axes_are_input && ctx.attr_int("noop_with_empty_axes", 0) != 0;
    return std::vector<bool>(rank, !noop);
  }
  return math::axes_mask(*axes, rank);
}

// Rows `begin`..`end` of `row` elements each folded into out[r]: four rows side by side, so
// that four independent chains of additions overlap (one chain waits on each addition), each
// row still summed in its own order, so the bits are those of the walk.
template <typename Op, typename A, typename C, typename Out>
void fold_rows(std::span<const C> in, std::size_t row, std::size_t begin, std::size_t end, std::size_t group, Out& out) {
  constexpr std::size_t kSide = 4;
  std::size_t r = begin;
  for (; r + kSide <= end; r += kSide) {
    A acc[kSide];
    for (std::size_t k = 0; k < kSide; ++k) acc[k] = Op::template init<A>();
    const C* base = in.data() + r * row;
    for (std::size_t i = 0; i < row; ++i) {
      for (std::size_t k = 0; k < kSide; ++k) acc[k] = Op::step(acc[k], static_cast<A>(base[k * row + i]));
    }
    for (std::size_t k = 0; k < kSide; ++k) out[r + k] = convert_value<C>(Op::template finish<A>(acc[k], group));
  }
  for (; r < end; ++r) {
    A acc = Op::template init<A>();
    for (std::size_t i = 0; i < row; ++i) acc = Op::step(acc, static_cast<A>(in[r * row + i]));
    out[r] = convert_value<C>(Op::template finish<A>(acc, group));
  }
}

template <typename Op, typename S>
void reduce_values(const Tensor& x, const math::ReductionWalk& walk, OutputValues<S>& out, int threads) {
  using C = compute_t<S>;
  using A = std::conditional_t<Op::real && !std::is_floating_point_v<C>, double, C>;
  const InputValues<S> in(x);
  if (walk.folds_contiguous_rows() && walk.group_size() > 0) {
    // Measured: ConvNeXt-tiny's 46 ReduceMeans over channels, 12.0 ms a run one element at a time.
    const std::size_t row = walk.group_size();
    parallel_for(threads, walk.output_size(), math::rows_per_task(row), [&](std::size_t begin, std::size_t end) {
      fold_rows<Op, A>(in.span(), row, begin, end, walk.group_size(), out);
    });
    return;
  }
  std::vector<A> acc(walk.output_size(), Op::template init<A>());
  walk.for_each_run([&](std::size_t from, std::size_t to, std::size_t count, std::size_t step) {
    for (std::size_t i = 0; i < count; ++i) {
      A& a = acc[to + i * step];
      a = Op::step(a, static_cast<A>(in[from + i]));
    }
  });
  for (std::size_t o = 0; o < acc.size(); ++o) {
    out[o] = convert_value<C>(Op::template finish<A>(acc[o], walk.group_size()));
  }
}

// log(sum(exp(x))) with the group's maximum taken out first, so that large values do not
// overflow exp.
template <typename S>
void reduce_log_sum_exp(const Tensor& x, const math::ReductionWalk& walk, OutputValues<S>& out) {
  using C = compute_t<S>;
  using A = std::conditional_t<std::is_floating_point_v<C>, C, double>;
  const InputValues<S> in(x);
  std::vector<A> top(walk.output_size(), -std::numeric_limits<A>::infinity());
  walk.for_each_run([&](std::size_t from, std::size_t to, std::size_t count, std::size_t step) {
    for (std::size_t i = 0; i < count; ++i)
      top[to + i * step] = nan_max(top[to + i * step], static_cast<A>(in[from + i]));
  });
  std::vector<A> sum(walk.output_size(), A{0});
  walk.for_each_run([&](std::size_t from, std::size_t to, std::size_t count, std::size_t step) {
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t o = to + i * step;
      sum[o] += std::exp(static_cast<A>(in[from + i]) - top[o]);
    }
  });
  for (std::size_t o = 0; o < sum.size(); ++o) {
    // An infinite maximum (or none: an empty group) is the result itself; exp(inf - inf) is NaN.
    const A value = std::isinf(top[o]) ? top[o] : top[o] + std::log(sum[o]);
    out[o] = convert_value<C>(value);
  }
}

// A reduction kernel; `axes_input_since` is the opset from which axes are an input.
template <typename Op, bool kLogSumExp = false>
Kernel reduce_kernel(int axes_input_since) {
  return [axes_input_since](KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const auto reduced = reduced_axes(ctx, x.rank(), ctx.opset() >= axes_input_since);
    const math::ReductionWalk walk(x.shape(), reduced, ctx.attr_int("keepdims", 1) != 0);
    dispatch<NumericTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
      OutputValues<S> out(walk.output_shape());
      if constexpr (kLogSumExp) {
        reduce_log_sum_exp<S>(x, walk, out);
      } else {
        reduce_values<Op, S>(x, walk, out, ctx.threads());
      }
      ctx.set_output(0, std::move(out).finish());
    });
  };
}

}  // namespace

void register_reduce_kernels(KernelRegistry& r) {
  r.add("ReduceSum", 1, reduce_kernel<SumOp>(13));
  r.add("ReduceMean", 1, reduce_kernel<MeanOp>(18));
  r.add("ReduceProd", 1, reduce_kernel<ProdOp>(18));
  r.add("ReduceMax", 1, reduce_kernel<MaxOp>(18));
  r.add("ReduceMin", 1, reduce_kernel<MinOp>(18));
  r.add("ReduceL1", 1, reduce_kernel<L1Op>(18));
  r.add("ReduceL2", 1, reduce_kernel<L2Op>(18));
  r.add("ReduceSumSquare", 1, reduce_kernel<SumSquareOp>(18));
  r.add("ReduceLogSum", 1, reduce_kernel<LogSumOp>(18));
  r.add("ReduceLogSumExp", 1, reduce_kernel<SumOp, true>(18));
}

}  // namespace onnx_fp16::runtime
