// Elementwise arithmetic on two or more tensors with numpy broadcasting: Add, Sub, Mul, Div,
// Pow, Mod, and the variadic Sum, Mean, Min, Max; plus Clip. Opset < 7 Add/Sub/Mul/Div/Pow
// broadcast the legacy way (broadcast=1, axis), see elementwise.h.
#include <cmath>
#include <limits>
#include <variant>

#include "runtime/elementwise.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/fused_kernels.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

namespace {

template <typename T>
T divide(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // numpy gives 0 for a division by zero; INT_MIN / -1 wraps.
    if (b == T{0}) return T{0};
    if constexpr (std::is_signed_v<T>) {
      if (b == T{-1}) return wrapping_neg(a);
    }
    return static_cast<T>(a / b);
  } else {
    return a / b;
  }
}

// Mod with fmod=0: the result takes the divisor's sign (Python's %, numpy.mod).
template <typename T>
T floor_mod(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == T{0}) return T{0};
    if constexpr (std::is_signed_v<T>) {
      if (b == T{-1}) return T{0};
      const T r = static_cast<T>(a % b);
      return (r != T{0} && ((r < T{0}) != (b < T{0}))) ? static_cast<T>(r + b) : r;
    } else {
      return static_cast<T>(a % b);
    }
  } else {
    const T r = std::fmod(a, b);
    return (r != T{0} && ((r < T{0}) != (b < T{0}))) ? r + b : r;
  }
}

// Mod with fmod=1: the result takes the dividend's sign (C's fmod / truncated %).
template <typename T>
T truncated_mod(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == T{0}) return T{0};
    if constexpr (std::is_signed_v<T>) {
      if (b == T{-1}) return T{0};
    }
    return static_cast<T>(a % b);
  } else {
    return std::fmod(a, b);
  }
}

void mod_kernel(KernelContext& ctx) {
  if (ctx.attr_int("fmod", 0) != 0) {
    binary_map<NumericTypes, SameType>(ctx, [](auto a, auto b) { return truncated_mod(a, b); });
  } else {
    binary_map<NumericTypes, SameType>(ctx, [](auto a, auto b) { return floor_mod(a, b); });
  }
}

// Integer power by squaring, exact like numpy's for integers; a negative exponent gives the
// truncated value of the real result (0 unless the base is 1 or -1).
template <typename T>
T integer_power(T base, std::int64_t exponent) {
  if (exponent < 0) {
    if (base == T{1}) return T{1};
    if constexpr (std::is_signed_v<T>) {
      if (base == T{-1}) return (exponent % 2 == 0) ? T{1} : T{-1};
    }
    return T{0};
  }
  T result{1};
  while (exponent > 0) {
    if (exponent & 1) result = wrapping_mul(result, base);
    base = wrapping_mul(base, base);
    exponent >>= 1;
  }
  return result;
}

// X^Y in X's compute type C: float X in C, integer X raised to an integer exactly, integer X
// raised to a float Y in double, then truncated.
template <typename C, typename CE>
C power(C base, CE exponent) {
  if constexpr (std::is_floating_point_v<C>) {
    return static_cast<C>(std::pow(base, static_cast<C>(exponent)));
  } else if constexpr (std::is_integral_v<CE>) {
    return integer_power(base, static_cast<std::int64_t>(exponent));
  } else {
    return convert_value<C>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  }
}

// Pow(X, Y): Y of its own type from opset 12 (same type before). The result has X's type.
// The exponents are widened first to double (float types), int64 (signed and narrower
// unsigned) or uint64, which changes no value power() sees, so the kernel is compiled for 12
// base types x 3 exponent forms instead of 12 x 12 (a third of this file's build time under
// the sanitizers).
void pow_kernel(KernelContext& ctx) {
  const Tensor& base = ctx.input(0);
  const Tensor& exponent = ctx.input(1);
  if (ctx.opset() < 12) require_same_type(ctx, base, exponent);
  const Shape shapes[] = {base.shape(), second_operand_shape(ctx, base, exponent)};
  const BroadcastLayout layout(shapes);
  std::variant<std::vector<double>, std::vector<std::int64_t>, std::vector<std::uint64_t>> exponents;
  dispatch<NumericTypes>(exponent.dtype(), [&]<typename E>(std::type_identity<E>) {
    using CE = compute_t<E>;
    using Wide = std::conditional_t<std::is_floating_point_v<CE>, double,
                                    std::conditional_t<std::is_same_v<CE, std::uint64_t>, std::uint64_t, std::int64_t>>;
    const InputValues<E> y(exponent);
    exponents = std::vector<Wide>(y.span().begin(), y.span().end());
  });
  dispatch<NumericTypes>(base.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> x(base);
    OutputValues<S> out(layout.output_shape());
    // A float base squared (LayerNorm and variance written out, as ConvNeXt's export does):
    // a * a, the correctly rounded square, where std::pow cost ~20 ns a value (a quarter of
    // ConvNeXt-tiny's run).
    const auto* doubles = std::get_if<std::vector<double>>(&exponents);
    const bool square = std::is_floating_point_v<C> && doubles != nullptr && doubles->size() == 1 && (*doubles)[0] == 2.0;
    std::visit(
        [&]<typename W>(const std::vector<W>& y) {
          if (square) {
            broadcast_binary(layout, x.span(), std::span<const W>(y), out.span(), [](C a, W) { return a * a; },
                             ctx.threads());
            return;
          }
          broadcast_binary(
              layout, x.span(), std::span<const W>(y), out.span(), [](C a, W b) { return power<C, W>(a, b); },
              ctx.threads());
        },
        exponents);
    ctx.set_output(0, std::move(out).finish());
  });
}

// Sum, Mean, Min, Max over any number of inputs, broadcast together. The running result stays
// in the compute type (float32 for float16): one node, one rounding at its output.
template <typename Types, typename Combine, typename Finish>
void variadic_fold(KernelContext& ctx, Combine combine, Finish finish) {
  std::vector<Shape> shapes;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) shapes.push_back(ctx.input(i).shape());
  if (shapes.empty()) ctx.fail("needs at least one input");
  const Tensor& first = ctx.input(0);
  for (std::size_t i = 1; i < ctx.input_count(); ++i) require_same_type(ctx, first, ctx.input(i));
  const Shape output_shape = broadcast_shapes(shapes);
  dispatch<Types>(first.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    OutputValues<S> out(output_shape);
    auto acc = out.span();
    {
      const InputValues<S> x(first);
      const Shape pair[] = {output_shape, first.shape()};
      const BroadcastLayout layout(pair);
      broadcast_binary(layout, std::span<const C>(acc), x.span(), acc, [](C, C v) { return v; }, ctx.threads());
    }
    for (std::size_t i = 1; i < ctx.input_count(); ++i) {
      const InputValues<S> x(ctx.input(i));
      const Shape pair[] = {output_shape, ctx.input(i).shape()};
      const BroadcastLayout layout(pair);
      broadcast_binary(layout, std::span<const C>(acc), x.span(), acc, combine, ctx.threads());
    }
    for (auto& value : acc) value = finish(value, ctx.input_count());
    ctx.set_output(0, std::move(out).finish());
  });
}

template <typename T>
T max_of(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();  // numpy.maximum
  }
  return a < b ? b : a;
}
template <typename T>
T min_of(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return b < a ? b : a;
}

auto keep_value = [](auto value, std::size_t) { return value; };

// Clip: bounds are attributes before opset 11 (float types only), optional scalar inputs after.
void clip_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch<NumericTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    C low = std::numeric_limits<C>::lowest();
    C high = std::numeric_limits<C>::max();
    if constexpr (std::is_floating_point_v<C>) {
      low = -std::numeric_limits<C>::infinity();
      high = std::numeric_limits<C>::infinity();
    }
    if (ctx.opset() < 11) {
      if (ctx.has_attribute("min")) low = static_cast<C>(ctx.attr_float("min"));
      if (ctx.has_attribute("max")) high = static_cast<C>(ctx.attr_float("max"));
    } else {
      for (const std::size_t i : {std::size_t{1}, std::size_t{2}}) {
        const Tensor* bound = ctx.optional_input(i);
        if (bound == nullptr) continue;
        require_same_type(ctx, x, *bound);
        if (bound->size() != 1) ctx.fail("the bounds must be scalars, got shape " + shape_to_string(bound->shape()));
        const InputValues<S> value(*bound);
        (i == 1 ? low : high) = value[0];
      }
    }
    // min(max(x, low), high): NaN stays NaN; low > high gives high, as numpy.clip.
    unary_map<TypeList<S>>(ctx, [low, high](C v) { return min_of(max_of(v, low), high); });
  });
}

// Add's rule, in the Add kernel and in Add followed by Relu.
template <typename T>
T add_of(T a, T b) {
  return wrapping_add(a, b);
}

}  // namespace

void add_relu_kernel(KernelContext& ctx) {
  // The types both nodes take: Relu refuses unsigned ones.
  binary_map<SignedNumericTypes, SameType>(ctx, [](auto a, auto b) { return relu_of(add_of(a, b)); });
}

void register_elementwise_binary_kernels(KernelRegistry& r) {
  r.add("Add", 1, binary_kernel<NumericTypes>([](auto a, auto b) { return add_of(a, b); }));
  r.add("Sub", 1, binary_kernel<NumericTypes>([](auto a, auto b) { return wrapping_sub(a, b); }));
  r.add("Mul", 1, binary_kernel<NumericTypes>([](auto a, auto b) { return wrapping_mul(a, b); }));
  r.add("Div", 1, binary_kernel<NumericTypes>([](auto a, auto b) { return divide(a, b); }));
  r.add("Pow", 1, pow_kernel);
  r.add("Mod", 10, mod_kernel);
  r.add("Sum", 1, [](KernelContext& ctx) {
    variadic_fold<NumericTypes>(ctx, [](auto a, auto b) { return wrapping_add(a, b); }, keep_value);
  });
  r.add("Mean", 1, [](KernelContext& ctx) {
    variadic_fold<FloatTypes>(ctx, [](auto a, auto b) { return a + b; },
                              [](auto sum, std::size_t count) { return sum / static_cast<decltype(sum)>(count); });
  });
  r.add("Max", 1, [](KernelContext& ctx) {
    variadic_fold<NumericTypes>(ctx, [](auto a, auto b) { return max_of(a, b); }, keep_value);
  });
  r.add("Min", 1, [](KernelContext& ctx) {
    variadic_fold<NumericTypes>(ctx, [](auto a, auto b) { return min_of(a, b); }, keep_value);
  });
  r.add("Clip", 1, clip_kernel);
}

}  // namespace onnx_fp16::runtime
