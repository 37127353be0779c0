// ONNX Runtime's transformer fusions (domain com.microsoft, version 1), as its contrib operator
// schemas define them:
//   Gelu       y = x * 0.5 * (1 + erf(x / sqrt(2)))
//   BiasGelu   Gelu(A + B), B broadcast over A's last dimension
//   FastGelu   v = X (+ bias); y = 0.5 * v * (1 + tanh(sqrt(2/pi) * (v + 0.044715 * v^3)))
//   QuickGelu  y = x * sigmoid(alpha * x), alpha default 1.702
//   BiasAdd    Y = X + bias + skip
//   SkipLayerNormalization            s = input + skip (+ bias); LayerNorm(s) * gamma (+ beta)
//   SkipSimplifiedLayerNormalization  s = input + skip (+ bias); s / RMS(s) * gamma
// Each op is one node: the sums and the activation are computed in float32 for float16 inputs and
// the output is rounded once (the input_skip_bias_sum output of the Skip* ops is rounded on its
// own, and the normalisation uses the unrounded float32 sum).
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_normalize.h"
#include "runtime/kernels/math_reduction.h"
#include "runtime/parallel.h"

namespace onnx_fp16::runtime {

namespace {

template <typename C>
C gelu(C x) {
  return x * C(0.5) * (C{1} + std::erf(x * C(0.70710678118654752440)));
}

template <typename C>
C fast_gelu(C x) {
  const C sqrt_2_over_pi = C(0.79788456080286535588);
  return C(0.5) * x * (C{1} + std::tanh(sqrt_2_over_pi * (x + C(0.044715) * x * x * x)));
}

// values += addend, the addend broadcast one way to `shape` (storage type S).
template <typename S>
void add_broadcast(std::span<compute_t<S>> values, const Shape& shape, const Tensor& addend) {
  const InputValues<S> a(addend);
  const Shape inputs[] = {addend.shape()};
  const BroadcastLayout layout(inputs, shape);
  layout.for_each_run([&](std::size_t o, std::size_t count, const std::size_t* offset, const std::size_t* step) {
    for (std::size_t i = 0; i < count; ++i) values[o + i] += a[offset[0] + i * step[0]];
  });
}

// y = f(x + the other inputs, each broadcast to x), one rounding.
template <typename MakeOp>
Kernel biased_activation(MakeOp make_op) {
  return [make_op](KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const auto op = make_op(ctx);
    dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
      const InputValues<S> in(x);
      OutputValues<S> out(x.shape());
      std::copy(in.span().begin(), in.span().end(), out.span().begin());
      for (std::size_t i = 1; i < ctx.input_count(); ++i) {
        if (const Tensor* addend = ctx.optional_input(i)) {
          require_same_type(ctx, x, *addend);
          add_broadcast<S>(out.span(), x.shape(), *addend);
        }
      }
      auto values = out.span();
      parallel_for(ctx.threads(), values.size(), kElementwiseGrain, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) values[i] = op(values[i]);
      });
      ctx.set_output(0, std::move(out).finish());
    });
  };
}

auto gelu_op = [](const KernelContext&) { return [](auto v) { return gelu(v); }; };
auto fast_gelu_op = [](const KernelContext&) { return [](auto v) { return fast_gelu(v); }; };
auto identity_op = [](const KernelContext&) { return [](auto v) { return v; }; };
auto quick_gelu_op = [](const KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.702f);
  return [alpha](auto v) {
    using C = decltype(v);
    return v / (C{1} + std::exp(-static_cast<C>(alpha) * v));
  };
};

// SkipLayerNormalization (centred) and SkipSimplifiedLayerNormalization (RMS) over the last axis.
// Inputs: input, skip, gamma, then beta and bias (centred) or bias (RMS). Outputs: output,
// mean, inv_std_var (float32, shaped as input with the last dimension 1), input_skip_bias_sum.
template <bool kCentred>
void skip_norm_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& skip = ctx.input(1);
  const Tensor& gamma = ctx.input(2);
  const Tensor* beta = kCentred ? ctx.optional_input(3) : nullptr;
  const Tensor* bias = ctx.optional_input(kCentred ? 4 : 3);
  if (x.rank() < 1) ctx.fail("input must have rank 1 or more");
  for (const Tensor* t : {&skip, &gamma, beta, bias}) {
    if (t != nullptr) require_same_type(ctx, x, *t);
  }
  const double epsilon = ctx.attr_float("epsilon", 1e-12f);
  const auto hidden = static_cast<std::size_t>(x.shape().back());
  const std::size_t rows = hidden == 0 ? 0 : x.size() / hidden;
  Shape stats_shape = x.shape();
  stats_shape.back() = 1;
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    OutputValues<S> out(x.shape());
    std::copy(in.span().begin(), in.span().end(), out.span().begin());
    add_broadcast<S>(out.span(), x.shape(), skip);
    if (bias != nullptr) add_broadcast<S>(out.span(), x.shape(), *bias);
    if (ctx.output_wanted(3)) {
      OutputValues<S> sum(x.shape());
      std::copy(out.span().begin(), out.span().end(), sum.span().begin());
      ctx.set_output(3, std::move(sum).finish());
    }
    std::vector<C> means(rows);
    std::vector<C> inv_std_devs(rows);
    math::normalize_rows<C>(ctx.threads(), out.span(), hidden, epsilon, kCentred, means, inv_std_devs);
    math::scale_and_shift<S>(out.span(), x.shape(), &gamma, beta);
    ctx.set_output(0, std::move(out).finish());
    if (ctx.output_wanted(1)) {
      ctx.set_output(1, make_float_tensor(onnx::TensorProto::FLOAT, stats_shape, std::span<const C>(means)));
    }
    if (ctx.output_wanted(2)) {
      ctx.set_output(2, make_float_tensor(onnx::TensorProto::FLOAT, stats_shape, std::span<const C>(inv_std_devs)));
    }
  });
}

}  // namespace

void register_contrib_transformer_kernels(KernelRegistry& r) {
  constexpr const char* kMs = "com.microsoft";
  r.add(kMs, "Gelu", 1, biased_activation(gelu_op));
  r.add(kMs, "BiasGelu", 1, biased_activation(gelu_op));
  r.add(kMs, "FastGelu", 1, biased_activation(fast_gelu_op));
  r.add(kMs, "QuickGelu", 1, biased_activation(quick_gelu_op));
  r.add(kMs, "BiasAdd", 1, biased_activation(identity_op));
  r.add(kMs, "SkipLayerNormalization", 1, skip_norm_kernel<true>);
  r.add(kMs, "SkipSimplifiedLayerNormalization", 1, skip_norm_kernel<false>);
}

}  // namespace onnx_fp16::runtime
