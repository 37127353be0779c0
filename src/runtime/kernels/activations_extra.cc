// Activations not in elementwise_unary.cc: PRelu, ThresholdedRelu (opset 10), Celu (12),
// Shrink (9) and Mish (18). Each computes in the compute type and rounds once.
//
// PRelu's slope broadcasts to X (one way) from opset 7. Before, a slope of C values applies per
// channel (dimension 1), as Caffe2 and the PyTorch exporter of that time meant it.
#include <algorithm>
#include <cmath>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// The shape the slope broadcasts as.
Shape slope_shape(const KernelContext& ctx, const Tensor& x, const Tensor& slope) {
  const bool per_channel = ctx.opset() < 7 && slope.rank() == 1 && slope.size() != 1 && x.rank() >= 2 &&
                           static_cast<std::int64_t>(slope.size()) == x.shape()[1];
  if (!per_channel) return slope.shape();
  Shape shape(x.rank() - 1, 1);
  shape[0] = x.shape()[1];
  return shape;
}

void prelu_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  require_same_type(ctx, x, slope);
  const Shape shapes[] = {x.shape(), slope_shape(ctx, x, slope)};
  const BroadcastLayout layout(shapes, x.shape());
  dispatch<SignedNumericTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    const InputValues<S> a(slope);
    OutputValues<S> out(x.shape());
    broadcast_binary(layout, in.span(), a.span(), out.span(),
                     [](C v, C s) { return v < C{0} ? static_cast<C>(wrapping_mul(s, v)) : v; });
    ctx.set_output(0, std::move(out).finish());
  });
}

template <typename T>
T softplus(T x) {
  return x > T{0} ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

}  // namespace

void register_activations_extra_kernels(KernelRegistry& r) {
  r.add("PRelu", 1, prelu_kernel);
  r.add("ThresholdedRelu", 10, unary_kernel_with<FloatTypes>([](const KernelContext& ctx) {
          const float alpha = ctx.attr_float("alpha", 1.0f);
          return [alpha](auto x) { return x > static_cast<decltype(x)>(alpha) ? x : decltype(x){0}; };
        }));
  r.add("Celu", 12, unary_kernel_with<FloatTypes>([](const KernelContext& ctx) {
          const float alpha = ctx.attr_float("alpha", 1.0f);
          return [alpha](auto x) {
            using C = decltype(x);
            const auto a = static_cast<C>(alpha);
            return std::max(C{0}, x) + std::min(C{0}, a * std::expm1(x / a));
          };
        }));
  r.add("Shrink", 9, unary_kernel_with<NumericTypes>([](const KernelContext& ctx) {
          const double lambd = ctx.attr_float("lambd", 0.5f);
          const double bias = ctx.attr_float("bias", 0.0f);
          // In double, then back to the compute type: integer inputs take a float bias as ONNX
          // Runtime does (the value truncated).
          return [lambd, bias](auto x) {
            using C = decltype(x);
            const auto v = static_cast<double>(x);
            if (v < -lambd) return static_cast<C>(v + bias);
            if (v > lambd) return static_cast<C>(v - bias);
            return C{0};
          };
        }));
  r.add("Mish", 18, unary_kernel<FloatTypes>([](auto x) { return x * std::tanh(softplus(x)); }));
}

}  // namespace onnx_fp16::runtime
