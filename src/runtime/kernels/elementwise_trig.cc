// Trigonometric and hyperbolic functions, HardSwish and Gelu: y = f(x) for float types, computed
// in float32 for float16/bfloat16 (double for float64) and rounded once. Every op has the same
// semantics at every opset from its first one.
#include <cmath>
#include <string>

#include "runtime/elementwise.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

void register_elementwise_trig_kernels(KernelRegistry& r) {
  r.add("Tan", 7, unary_kernel<FloatTypes>([](auto x) { return std::tan(x); }));
  r.add("Asin", 7, unary_kernel<FloatTypes>([](auto x) { return std::asin(x); }));
  r.add("Acos", 7, unary_kernel<FloatTypes>([](auto x) { return std::acos(x); }));
  r.add("Atan", 7, unary_kernel<FloatTypes>([](auto x) { return std::atan(x); }));
  r.add("Sinh", 9, unary_kernel<FloatTypes>([](auto x) { return std::sinh(x); }));
  r.add("Cosh", 9, unary_kernel<FloatTypes>([](auto x) { return std::cosh(x); }));
  r.add("Asinh", 9, unary_kernel<FloatTypes>([](auto x) { return std::asinh(x); }));
  r.add("Acosh", 9, unary_kernel<FloatTypes>([](auto x) { return std::acosh(x); }));
  r.add("Atanh", 9, unary_kernel<FloatTypes>([](auto x) { return std::atanh(x); }));
  // x * max(0, min(1, x / 6 + 1 / 2)).
  r.add("HardSwish", 14, unary_kernel<FloatTypes>([](auto x) {
          using C = decltype(x);
          const C gate = x / C{6} + C{0.5};
          return x * (gate < C{0} ? C{0} : gate > C{1} ? C{1} : gate);
        }));
  // approximate = "none": x/2 (1 + erf(x / sqrt 2)); "tanh": x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
  r.add("Gelu", 20, unary_kernel_with<FloatTypes>([](const KernelContext& ctx) {
          const std::string approximate = ctx.attr_string("approximate", "none");
          if (approximate != "none" && approximate != "tanh") ctx.fail("approximate must be 'none' or 'tanh', not '" + approximate + "'");
          const bool use_tanh = approximate == "tanh";
          return [use_tanh](auto x) {
            using C = decltype(x);
            if (use_tanh) {
              const C k = static_cast<C>(0.7978845608028654);  // sqrt(2 / pi)
              return C{0.5} * x * (C{1} + std::tanh(k * (x + static_cast<C>(0.044715) * x * x * x)));
            }
            return C{0.5} * x * (C{1} + std::erf(x / static_cast<C>(1.4142135623730951)));
          };
        }));
}

}  // namespace onnx_fp16::runtime
