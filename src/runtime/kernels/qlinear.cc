// The quantized operators of opset 10: QLinearConv and QLinearMatMul. Both sum
// (x - x_zero_point) * (w - w_zero_point) exactly in integers, then requantize:
//   y = saturate(round_half_even(sum * (x_scale * w_scale / y_scale)) + y_zero_point)
// with the multiplier computed in float32, as the spec's reference does.
#include <string>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/kernels/nn_integer_conv.h"
#include "runtime/kernels/nn_quantize.h"
#include "tensor/buffer_pool.h"

namespace onnx_fp16::runtime {

namespace {

using QuantizedTypes = TypeList<std::uint8_t, std::int8_t>;

float scalar_scale(const KernelContext& ctx, std::size_t index, const char* name) {
  const auto values = to_float_vector(ctx.input(index));
  if (values.size() != 1) ctx.fail(std::string(name) + " must be a scalar");
  return values[0];
}

// A scale or zero point that is one value or `count` values (per channel / row / column).
template <typename V>
std::vector<V> per_channel(const KernelContext& ctx, std::vector<V> values, std::size_t count, const char* name) {
  if (values.size() != 1 && values.size() != count) {
    ctx.fail(std::string(name) + " has " + std::to_string(values.size()) + " values, expected 1 or " +
             std::to_string(count));
  }
  return values;
}

template <typename V>
V pick(const std::vector<V>& values, std::size_t i) {
  return values.size() == 1 ? values[0] : values[i];
}

// y_zero_point's type and value (its element type is the output's).
struct OutputQuantization {
  DataType type;
  float scale;
  std::int64_t zero_point;
};
OutputQuantization output_quantization(const KernelContext& ctx, std::size_t scale_index, std::size_t zero_index) {
  OutputQuantization q{ctx.input(0).dtype(), scalar_scale(ctx, scale_index, "y_scale"), 0};
  if (const Tensor* zero = ctx.optional_input(zero_index)) {
    q.type = zero->dtype();
    if (zero->size() != 1) ctx.fail("y_zero_point must be a scalar");
    q.zero_point = to_int64_vector(*zero)[0];
  }
  return q;
}

void qlinear_conv_kernel(KernelContext& ctx) {
  const Tensor& w = ctx.input(3);
  const float x_scale = scalar_scale(ctx, 1, "x_scale");
  nn::IntegerConv sums = nn::integer_conv(ctx, ctx.input(0), ctx.optional_input(2), w, ctx.optional_input(5), {3, 5});
  const std::size_t channels = sums.out_channels;
  const auto w_scales = per_channel(ctx, to_float_vector(ctx.input(4)), channels, "w_scale");
  const OutputQuantization out = output_quantization(ctx, 6, 7);
  std::vector<std::int64_t> bias;
  if (const Tensor* b = ctx.optional_input(8)) bias = per_channel(ctx, to_int64_vector(*b), channels, "B");
  dispatch<QuantizedTypes>(out.type, [&]<typename Q>(std::type_identity<Q>) {
    Tensor y = Tensor::uninitialized(out.type, sums.sums.shape());
    const auto sum_values = sums.sums.data<std::int32_t>();
    auto values = y.mutable_data<Q>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t m = sums.plane == 0 ? 0 : (i / sums.plane) % channels;
      const float multiplier = x_scale * pick(w_scales, m) / out.scale;
      const std::int64_t sum = sum_values[i] + (bias.empty() ? 0 : pick(bias, m));
      values[i] = nn::quantize_value<Q>(static_cast<double>(sum) * multiplier, out.zero_point);
    }
    ctx.set_output(0, std::move(y));
  });
}

// QLinearMatMul: numpy.matmul of the shifted values; a's scale and zero point per tensor or
// per row of a, b's per tensor or per column of b.
void qlinear_matmul_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  const math::MatMulPlan plan = math::plan_matmul(a.shape(), b.shape());
  const auto a_scales = per_channel(ctx, to_float_vector(ctx.input(1)), plan.m, "a_scale");
  const auto b_scales = per_channel(ctx, to_float_vector(ctx.input(4)), plan.n, "b_scale");
  const Tensor* a_zero = ctx.optional_input(2);
  const Tensor* b_zero = ctx.optional_input(5);
  if (a_zero != nullptr) per_channel(ctx, to_int64_vector(*a_zero), plan.m, "a_zero_point");
  if (b_zero != nullptr) per_channel(ctx, to_int64_vector(*b_zero), plan.n, "b_zero_point");
  // The sums as exact integer products, as MatMulInteger's (math::exact_integer_gemm: float32
  // slices added in int64). A plain integer loop took 72 ms for 128x768 by 768x768.
  // Zero points: a's value i belongs to row (i / k) % m; b's to column i % n.
  const buffers::Scratch<float> fa(a.size());
  const buffers::Scratch<float> fb(b.size());
  const std::int32_t largest_a = nn::shift_int8_values(ctx, a, a_zero, plan.m, plan.k, fa.get());
  const std::int32_t largest_b = nn::shift_int8_values(ctx, b, b_zero, plan.n, 1, fb.get());
  const double largest_product = static_cast<double>(largest_a) * static_cast<double>(largest_b);
  std::vector<std::int32_t> sums(element_count(plan.output));
  if (!sums.empty()) {
    math::for_each_product(plan, [&](std::size_t rows, std::size_t a_offset, std::size_t b_offset, std::size_t out_offset) {
      math::exact_integer_gemm(ctx.threads(), rows, plan.n, plan.k, fa.get() + a_offset, plan.k, fb.get() + b_offset,
                               plan.n, largest_product, sums.data() + out_offset, plan.n);
    });
  }
  const OutputQuantization out = output_quantization(ctx, 6, 7);
  dispatch<QuantizedTypes>(out.type, [&]<typename Q>(std::type_identity<Q>) {
    Tensor y = Tensor::uninitialized(out.type, plan.output);
    auto values = y.mutable_data<Q>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t row = plan.n == 0 ? 0 : (i / plan.n) % std::max<std::size_t>(plan.m, 1);
      const std::size_t col = plan.n == 0 ? 0 : i % plan.n;
      const float multiplier = pick(a_scales, row) * pick(b_scales, col) / out.scale;
      values[i] = nn::quantize_value<Q>(static_cast<double>(sums[i]) * multiplier, out.zero_point);
    }
    ctx.set_output(0, std::move(y));
  });
}

}  // namespace

void register_qlinear_kernels(KernelRegistry& r) {
  r.add("QLinearConv", 10, qlinear_conv_kernel);
  r.add_preparer("", "QLinearConv", [](KernelContext& ctx) {
    if (ctx.has_input(3)) nn::prepare_integer_conv(ctx, ctx.input(3), ctx.optional_input(5), {3, 5});
  });
  r.add("QLinearMatMul", 10, qlinear_matmul_kernel);
}

}  // namespace onnx_fp16::runtime
