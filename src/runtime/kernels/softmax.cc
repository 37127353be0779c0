// Softmax, LogSoftmax and Hardmax.
//
// The axis changed meaning at opset 13. Before, the input is coerced to a matrix
// [prod(dims[:axis]), prod(dims[axis:])] (axis default 1) and each row is normalised over all
// its trailing dimensions; from 13 the op normalises along the single dimension `axis`
// (default -1).
//
// Each row is computed in the compute type (float32 for float16) with its maximum subtracted
// first, and rounded once: exp, the sum and the division never see float16 intermediates.
#include <cmath>
#include <limits>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_reduction.h"
#include "runtime/parallel.h"

namespace onnx_fp16::runtime {

namespace {

enum class Normaliser { kSoftmax, kLogSoftmax, kHardmax };

math::AxisSplit softmax_rows(const KernelContext& ctx, const Shape& shape) {
  if (ctx.opset() >= 13) return math::split_at_axis(shape, normalize_axis(ctx.attr_int("axis", -1), shape.size()));
  const std::int64_t axis = ctx.attr_int("axis", 1);
  // The coercion works for a scalar too (one row of one element), as numpy's reshape would.
  if (shape.empty() && (axis == 0 || axis == 1 || axis == -1)) return math::AxisSplit{};
  return math::split_before_axis(shape, normalize_axis(axis, shape.size()));
}

// One row of `dim` values, `stride` apart, from `in` to `out`.
template <Normaliser kind, typename C>
void normalise_row(const C* in, C* out, std::size_t dim, std::size_t stride) {
  if (dim == 0) return;
  if constexpr (kind == Normaliser::kHardmax) {
    // 1 at the first maximum (numpy.argmax: the first NaN wins), 0 elsewhere.
    std::size_t best = 0;
    for (std::size_t j = 1; j < dim; ++j) {
      const C value = in[j * stride];
      const C top = in[best * stride];
      if (!std::isnan(top) && (std::isnan(value) || value > top)) best = j;
    }
    for (std::size_t j = 0; j < dim; ++j) out[j * stride] = j == best ? C{1} : C{0};
  } else {
    C top = -std::numeric_limits<C>::infinity();  // NaN, once seen, stays
    for (std::size_t j = 0; j < dim; ++j) {
      const C value = in[j * stride];
      top = (std::isnan(value) || value > top) ? value : top;
    }
    C sum{0};
    for (std::size_t j = 0; j < dim; ++j) {
      const C e = std::exp(in[j * stride] - top);
      if constexpr (kind == Normaliser::kSoftmax) out[j * stride] = e;
      sum += e;
    }
    if constexpr (kind == Normaliser::kSoftmax) {
      for (std::size_t j = 0; j < dim; ++j) out[j * stride] /= sum;
    } else {
      const C log_sum = std::log(sum);
      for (std::size_t j = 0; j < dim; ++j) out[j * stride] = in[j * stride] - top - log_sum;
    }
  }
}

template <Normaliser kind>
void softmax_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const math::AxisSplit rows = softmax_rows(ctx, x.shape());
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    OutputValues<S> out(x.shape());
    // One row per (outer, inner) pair; each row is computed by one thread.
    const auto rows_in = [&](std::size_t begin, std::size_t end) {
      for (std::size_t r = begin; r < end; ++r) {
        const std::size_t base = (r / rows.inner) * rows.dim * rows.inner + r % rows.inner;
        normalise_row<kind, C>(in.span().data() + base, out.span().data() + base, rows.dim, rows.inner);
      }
    };
    parallel_for(ctx.threads(), rows.outer * rows.inner, math::rows_per_task(rows.dim), rows_in);
    ctx.set_output(0, std::move(out).finish());
  });
}

}  // namespace

void register_softmax_kernels(KernelRegistry& r) {
  r.add("Softmax", 1, softmax_kernel<Normaliser::kSoftmax>);
  r.add("LogSoftmax", 1, softmax_kernel<Normaliser::kLogSoftmax>);
  r.add("Hardmax", 1, softmax_kernel<Normaliser::kHardmax>);
}

}  // namespace onnx_fp16::runtime
