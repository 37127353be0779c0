// CumSum (opset 11): running sums along the axis given as a scalar input, optionally exclusive
// (each output leaves its own element out) and reversed (sums run from the end).
//
// The running sum stays in the compute type (float32 for float16): each output is the exact
// float32 prefix sum rounded once, not a sum of float16-rounded partial results. Integers wrap.
#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_reduction.h"
#include "runtime/parallel.h"

namespace onnx_fp16::runtime {

namespace {

void cumsum_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& axis_input = ctx.input(1);
  if (axis_input.size() != 1) ctx.fail("axis must be a scalar, got shape " + shape_to_string(axis_input.shape()));
  const std::size_t axis = normalize_axis(scalar_to_int64(axis_input), x.rank());
  const bool exclusive = ctx.attr_int("exclusive", 0) != 0;
  const bool reverse = ctx.attr_int("reverse", 0) != 0;
  const math::AxisSplit split = math::split_at_axis(x.shape(), axis);
  dispatch<NumericTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    OutputValues<S> out(x.shape());
    // One running sum per (outer, inner) pair, each by one thread.
    parallel_for(ctx.threads(), split.outer * split.inner, math::rows_per_task(split.dim),
                 [&](std::size_t begin, std::size_t end) {
                   for (std::size_t r = begin; r < end; ++r) {
                     const std::size_t base = (r / split.inner) * split.dim * split.inner + r % split.inner;
                     C sum{0};
                     for (std::size_t step = 0; step < split.dim; ++step) {
                       const std::size_t j = reverse ? split.dim - 1 - step : step;
                       const std::size_t at = base + j * split.inner;
                       if (exclusive) {
                         out[at] = sum;
                         sum = wrapping_add(sum, in[at]);
                       } else {
                         sum = wrapping_add(sum, in[at]);
                         out[at] = sum;
                       }
                     }
                   }
                 });
    ctx.set_output(0, std::move(out).finish());
  });
}

}  // namespace

void register_cumsum_kernels(KernelRegistry& r) { r.add("CumSum", 11, cumsum_kernel); }

}  // namespace onnx_fp16::runtime
