// Elementwise math on one tensor: y = f(x), same type and shape. Float ops compute in float32
// for float16/bfloat16 (double for float64) and round once at the output; every op here has
// the same semantics at every opset from its first one (later versions only added types).
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernels/avx512.h"
#include "runtime/kernels/fused_kernels.h"
#include "runtime/parallel.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// Sigmoid, 1 / (1 + exp(-x)), over float32 values: in AVX-512 vectors where the CPU has them
// (avx512.h; the scalar std::exp was 53% of torchvision's EfficientNet-B0, 65 Sigmoids of its
// SiLUs, 7.5 of 14.1 ms), else one std::exp per value. The Sigmoid kernel and the gated one
// below both compute it here.
void sigmoid_values(const float* in, float* out, std::size_t count) {
#if defined(ONNX_FP16_HAVE_AVX512)
  if (nn::cpu_has_avx512f()) return nn::sigmoid_avx512(in, out, count);
#endif
  for (std::size_t i = 0; i < count; ++i) out[i] = 1.0f / (1.0f + std::exp(-in[i]));
}
double sigmoid_value(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Erf, float32 compute in AVX-512 vectors where the CPU has them (std::erf per value was 22% of
// torchvision's ConvNeXt-tiny, its GELUs), std::erf otherwise and for float64.
void erf_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
#if defined(ONNX_FP16_HAVE_AVX512)
  if (nn::cpu_has_avx512f() && x.dtype() != onnx::TensorProto::DOUBLE) {
    dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
      if constexpr (std::is_same_v<compute_t<S>, float>) {
        const InputValues<S> in(x);
        OutputValues<S> out(x.shape());
        parallel_for(ctx.threads(), in.size(), kElementwiseGrain, [&](std::size_t begin, std::size_t end) {
          nn::erf_avx512(in.span().data() + begin, out.span().data() + begin, end - begin);
        });
        ctx.set_output(0, std::move(out).finish());
      }
    });
    return;
  }
#endif
  unary_map<FloatTypes>(ctx, [](auto v) { return std::erf(v); });
}

// HardSigmoid, max(0, min(1, alpha * x + beta)), in the compute type.
struct HardSigmoid {
  float alpha = 0.2f;
  float beta = 0.5f;
  explicit HardSigmoid(const KernelContext& ctx)
      : alpha(ctx.attr_float("alpha", 0.2f)), beta(ctx.attr_float("beta", 0.5f)) {}
  template <typename T>
  T operator()(T x) const {
    return std::max(T{0}, std::min(T{1}, static_cast<T>(alpha) * x + static_cast<T>(beta)));
  }
};

// Float32 compute (float32, float16, bfloat16) a block at a time; float64 per value.
void sigmoid_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() == onnx::TensorProto::DOUBLE) return unary_map<TypeList<double>>(ctx, sigmoid_value);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    if constexpr (std::is_same_v<compute_t<S>, float>) {
      const InputValues<S> in(x);
      OutputValues<S> out(x.shape());
      parallel_for(ctx.threads(), in.size(), kElementwiseGrain, [&](std::size_t begin, std::size_t end) {
        sigmoid_values(in.span().data() + begin, out.span().data() + begin, end - begin);
      });
      ctx.set_output(0, std::move(out).finish());
    }
  });
}

template <typename T>
T sign_of(T x) {
  if constexpr (std::is_unsigned_v<T>) {
    return x > T{0} ? T{1} : T{0};
  } else {
    if (x > T{0}) return T{1};
    if (x < T{0}) return T{-1};
    return x;  // 0 (or -0), NaN
  }
}

template <typename T>
T abs_of(T x) {
  if constexpr (std::is_unsigned_v<T>) {
    return x;
  } else if constexpr (std::is_integral_v<T>) {
    return x < T{0} ? wrapping_neg(x) : x;  // INT_MIN stays INT_MIN, as numpy
  } else {
    return std::fabs(x);
  }
}

// log(1 + e^x) without overflow for large x; the same function as the spec's formula.
template <typename T>
T softplus(T x) {
  return x > T{0} ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

void register_float_math(KernelRegistry& r) {
  r.add("Sqrt", 1, unary_kernel<FloatTypes>([](auto x) { return std::sqrt(x); }));
  r.add("Exp", 1, unary_kernel<FloatTypes>([](auto x) { return std::exp(x); }));
  r.add("Log", 1, unary_kernel<FloatTypes>([](auto x) { return std::log(x); }));
  r.add("Tanh", 1, unary_kernel<FloatTypes>([](auto x) { return std::tanh(x); }));
  r.add("Erf", 9, erf_kernel);
  r.add("Sin", 7, unary_kernel<FloatTypes>([](auto x) { return std::sin(x); }));
  r.add("Cos", 7, unary_kernel<FloatTypes>([](auto x) { return std::cos(x); }));
  r.add("Floor", 1, unary_kernel<FloatTypes>([](auto x) { return std::floor(x); }));
  r.add("Ceil", 1, unary_kernel<FloatTypes>([](auto x) { return std::ceil(x); }));
  // Halves to even, as the spec says (nearbyint in the default rounding mode).
  r.add("Round", 11, unary_kernel<FloatTypes>([](auto x) { return std::nearbyint(x); }));
  r.add("Reciprocal", 1, unary_kernel<FloatTypes>([](auto x) { return decltype(x){1} / x; }));
  r.add("Sigmoid", 1, sigmoid_kernel);
  r.add("Softplus", 1, unary_kernel<FloatTypes>([](auto x) { return softplus(x); }));
  r.add("Softsign", 1, unary_kernel<FloatTypes>([](auto x) { return x / (decltype(x){1} + std::fabs(x)); }));
}

void register_activations(KernelRegistry& r) {
  // Relu took integer types at opset 14; accepting them earlier is harmless.
  r.add("Relu", 1, unary_kernel<SignedNumericTypes>([](auto x) { return relu_of(x); }));
  r.add("LeakyRelu", 1, unary_kernel_with<FloatTypes>([](const KernelContext& ctx) {
          const float alpha = ctx.attr_float("alpha", 0.01f);
          return [alpha](auto x) {
            using T = decltype(x);
            return x < T{0} ? static_cast<T>(alpha) * x : x;
          };
        }));
  r.add("Elu", 1, unary_kernel_with<FloatTypes>([](const KernelContext& ctx) {
          const float alpha = ctx.attr_float("alpha", 1.0f);
          return [alpha](auto x) {
            using T = decltype(x);
            return x < T{0} ? static_cast<T>(alpha) * std::expm1(x) : x;
          };
        }));
  r.add("Selu", 1, unary_kernel_with<FloatTypes>([](const KernelContext& ctx) {
          const float alpha = ctx.attr_float("alpha", 1.67326319217681884765625f);
          const float gamma = ctx.attr_float("gamma", 1.05070102214813232421875f);
          return [alpha, gamma](auto x) {
            using T = decltype(x);
            return x > T{0} ? static_cast<T>(gamma) * x : static_cast<T>(gamma) * static_cast<T>(alpha) * std::expm1(x);
          };
        }));
  r.add("HardSigmoid", 1, unary_kernel_with<FloatTypes>([](const KernelContext& ctx) { return HardSigmoid(ctx); }));
}

void register_sign_ops(KernelRegistry& r) {
  r.add("Neg", 1, unary_kernel<SignedNumericTypes>([](auto x) { return wrapping_neg(x); }));
  r.add("Abs", 1, unary_kernel<NumericTypes>([](auto x) { return abs_of(x); }));
  r.add("Sign", 9, unary_kernel<NumericTypes>([](auto x) { return sign_of(x); }));
}

}  // namespace

void register_elementwise_unary_kernels(KernelRegistry& registry) {
  register_float_math(registry);
  register_activations(registry);
  register_sign_ops(registry);
}

bool is_gating_activation(std::string_view op_type) { return op_type == "Sigmoid" || op_type == "HardSigmoid"; }

void gated_activation_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool sigmoid = ctx.op_type() == "Sigmoid";
  if (!sigmoid && ctx.op_type() != "HardSigmoid") ctx.fail("cannot gate with " + ctx.op_type() + " (internal)");
  const HardSigmoid hard_sigmoid(ctx);
#if defined(ONNX_FP16_HAVE_AVX512)
  if (sigmoid && x.dtype() == onnx::TensorProto::FLOAT && nn::cpu_has_avx512f()) {  // one pass in vectors
    Tensor out = Tensor::uninitialized(x.dtype(), x.shape());
    const float* in = x.data<float>().data();
    float* y = out.mutable_data<float>().data();
    parallel_for(ctx.threads(), x.size(), kElementwiseGrain, [&](std::size_t begin, std::size_t end) {
      nn::silu_avx512(in + begin, y + begin, end - begin);
    });
    return ctx.set_output(0, std::move(out));
  }
#endif
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    constexpr std::size_t kBlock = 1024;  // values per step: x, the gate and y stay in L1
    Tensor out = Tensor::uninitialized(x.dtype(), x.shape());
    const auto in = x.data<S>();
    const auto y = out.mutable_data<S>();
    parallel_for(ctx.threads(), in.size(), kElementwiseGrain, [&](std::size_t begin, std::size_t end) {
      C values[kBlock];
      C gate[kBlock];
      S stored[kBlock];
      for (std::size_t start = begin; start < end; start += kBlock) {
        const std::size_t n = std::min(kBlock, end - start);
        if constexpr (is_half_storage_v<S>) {
          widen_to_float(in.subspan(start, n), std::span<float>(values, n));
        } else {
          std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(start), n, values);
        }
        if (!sigmoid) {
          for (std::size_t i = 0; i < n; ++i) gate[i] = hard_sigmoid(values[i]);
        } else if constexpr (std::is_same_v<C, float>) {
          sigmoid_values(values, gate, n);
        } else {
          for (std::size_t i = 0; i < n; ++i) gate[i] = sigmoid_value(values[i]);
        }
        if constexpr (is_half_storage_v<S>) {  // the gate as the activation's output holds it
          round_from_float(std::span<const float>(gate, n), std::span<S>(stored, n));
          widen_to_float(std::span<const S>(stored, n), std::span<float>(gate, n));
        }
        for (std::size_t i = 0; i < n; ++i) gate[i] = values[i] * gate[i];  // the Mul, in its compute type
        if constexpr (is_half_storage_v<S>) {
          round_from_float(std::span<const float>(gate, n), y.subspan(start, n));
        } else {
          std::copy_n(gate, n, y.begin() + static_cast<std::ptrdiff_t>(start));
        }
      }
    });
    ctx.set_output(0, std::move(out));
  });
}

}  // namespace onnx_fp16::runtime
