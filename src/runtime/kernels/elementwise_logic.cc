// Comparisons, boolean logic, Where, IsNaN and IsInf. Comparisons of float16 values compare
// the exact float16 values (widening is exact).
#include <cmath>

#include "runtime/elementwise.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

using BoolTypes = TypeList<bool>;
using ComparableTypes = NumericAndBoolTypes;

// y[i] = predicate(x[i]) for a float tensor x; y is bool.
template <typename Predicate>
void float_predicate(KernelContext& ctx, Predicate predicate) {
  const Tensor& x = ctx.input(0);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    const InputValues<S> in(x);
    Tensor out = Tensor::uninitialized(onnx::TensorProto::BOOL, x.shape());
    auto y = out.mutable_data<bool>();
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = predicate(in[i]);
    ctx.set_output(0, std::move(out));
  });
}

void is_inf_kernel(KernelContext& ctx) {
  const bool negative = ctx.attr_int("detect_negative", 1) != 0;
  const bool positive = ctx.attr_int("detect_positive", 1) != 0;
  float_predicate(ctx, [negative, positive](auto v) {
    return std::isinf(v) && ((v > 0 && positive) || (v < 0 && negative));
  });
}

// Where(condition, X, Y): X where the condition holds, else Y; all three broadcast together.
// Values are copied as stored: no conversion, so any type works.
void where_kernel(KernelContext& ctx) {
  const Tensor& condition = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (condition.dtype() != onnx::TensorProto::BOOL) {
    ctx.fail("the condition is " + data_type_name(condition.dtype()) + ", expected BOOL");
  }
  require_same_type(ctx, x, y);
  const Shape shapes[] = {condition.shape(), x.shape(), y.shape()};
  const BroadcastLayout layout(shapes);
  dispatch<AllTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    Tensor out = Tensor::uninitialized(x.dtype(), layout.output_shape());
    broadcast_ternary(layout, condition.data<bool>(), x.data<S>(), y.data<S>(), out.mutable_data<S>(),
                      [](bool c, const S& a, const S& b) { return c ? a : b; });
    ctx.set_output(0, std::move(out));
  });
}

}  // namespace

void register_elementwise_logic_kernels(KernelRegistry& r) {
  r.add("Equal", 1, comparison_kernel<AllTypes>([](const auto& a, const auto& b) { return a == b; }));
  r.add("Less", 1, comparison_kernel<ComparableTypes>([](auto a, auto b) { return a < b; }));
  r.add("Greater", 1, comparison_kernel<ComparableTypes>([](auto a, auto b) { return a > b; }));
  r.add("LessOrEqual", 12, comparison_kernel<ComparableTypes>([](auto a, auto b) { return a <= b; }));
  r.add("GreaterOrEqual", 12, comparison_kernel<ComparableTypes>([](auto a, auto b) { return a >= b; }));
  r.add("And", 1, binary_kernel<BoolTypes>([](bool a, bool b) { return a && b; }));
  r.add("Or", 1, binary_kernel<BoolTypes>([](bool a, bool b) { return a || b; }));
  r.add("Xor", 1, binary_kernel<BoolTypes>([](bool a, bool b) { return a != b; }));
  r.add("Not", 1, unary_kernel<BoolTypes>([](bool a) { return !a; }));
  r.add("Where", 9, where_kernel);
  r.add("IsNaN", 9, [](KernelContext& ctx) { float_predicate(ctx, [](auto v) { return std::isnan(v); }); });
  r.add("IsInf", 10, is_inf_kernel);
}

}  // namespace onnx_fp16::runtime
