// Linear quantization: QuantizeLinear and DequantizeLinear (10; per-axis scales and zero
// points from 13) and DynamicQuantizeLinear (11). Arithmetic in float32, as the spec writes
// it: y = saturate(round_half_even(x / scale) + zero_point), x = (y - zero_point) * scale.
#include <algorithm>
#include <limits>
#include <string>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/avx512.h"
#include "runtime/kernels/nn_quantize.h"
#include "runtime/parallel.h"
#include "runtime/tensor_cast.h"

namespace onnx_fp16::runtime {

namespace {

using QuantizedTypes = TypeList<std::uint8_t, std::int8_t>;

// The axis of per-axis parameters: the attribute (default 1) from opset 13, none before.
std::int64_t parameter_axis(const KernelContext& ctx) { return ctx.opset() >= 13 ? ctx.attr_int("axis", 1) : 1; }

// A zero point's values as int64 (empty when absent); it must match the scale's count.
std::vector<std::int64_t> zero_points(const KernelContext& ctx, const Tensor* zero_point, std::size_t scales) {
  if (zero_point == nullptr) return {};
  auto values = to_int64_vector(*zero_point);
  if (values.size() != scales) {
    ctx.fail("zero point of shape " + shape_to_string(zero_point->shape()) + " for " + std::to_string(scales) +
             " scales");
  }
  return values;
}

void quantize_linear_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<float> scales = to_float_vector(ctx.input(1));
  const Tensor* zero_point = ctx.optional_input(2);
  const auto zeros = zero_points(ctx, zero_point, scales.size());
  const nn::ParameterLayout layout = nn::parameter_layout(ctx, x.shape(), scales.size(), parameter_axis(ctx));
  std::vector<float> values;
  if (x.dtype() == onnx::TensorProto::INT32) {
    for (const std::int32_t v : x.data<std::int32_t>()) values.push_back(static_cast<float>(v));
  } else {
    values = to_float_vector(x);
  }
  const DataType out_type = zero_point != nullptr ? zero_point->dtype() : onnx::TensorProto::UINT8;
  dispatch<QuantizedTypes>(out_type, [&]<typename Q>(std::type_identity<Q>) {
    Tensor y = Tensor::uninitialized(out_type, x.shape());
    auto out = y.mutable_data<Q>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t k = layout.index(i);
      out[i] = nn::quantize_value<Q>(values[i] / scales[k], zeros.empty() ? 0 : zeros[k]);  // float32 division
    }
    ctx.set_output(0, std::move(y));
  });
}

void dequantize_linear_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const std::vector<float> scales = to_float_vector(scale);
  const Tensor* zero_point = ctx.optional_input(2);
  if (zero_point != nullptr && zero_point->dtype() != x.dtype()) ctx.fail("the zero point must have x's element type");
  const auto zeros = zero_points(ctx, zero_point, scales.size());
  const nn::ParameterLayout layout = nn::parameter_layout(ctx, x.shape(), scales.size(), parameter_axis(ctx));
  const std::vector<std::int64_t> values = to_int64_vector(x);
  std::vector<float> y(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::size_t k = layout.index(i);
    y[i] = static_cast<float>(values[i] - (zeros.empty() ? 0 : zeros[k])) * scales[k];
  }
  // The output has the scale's type (float32 up to opset 17; float16 from 19), rounded once.
  ctx.set_output(0, make_float_tensor(scale.dtype(), x.shape(), y));
}

// DynamicQuantizeLinear: uint8 quantization over the range [min(x, 0), max(x, 0)]:
// scale = (max - min) / 255, zero_point = saturate(round(-min / scale)).
//
// Dynamically quantized CNNs run one before every Conv, over the whole activation (13 M values
// at a U2-Net's full resolution), so the float32 input is read in place, the range and the
// quantization are split over the threads (a min and a max do not depend on the order), and the
// rounding is done in float32 without a libm call: the quotient is first clamped to the range the
// zero point leaves (what saturation would give), where adding and subtracting 1.5 x 2^23 rounds
// it half to even. The bits are those of quantize_value (and ONNX Runtime's).
void dynamic_quantize_linear_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  // float32 by the schema up to opset 19; float16 (opset 21) is widened first.
  const bool is_float = x.dtype() == onnx::TensorProto::FLOAT;
  const Tensor widened = is_float ? Tensor() : cast_tensor(x, onnx::TensorProto::FLOAT);
  const std::span<const float> values = (is_float ? x : widened).data<float>();
  // Each share's extremes, then theirs.
  constexpr std::size_t kGrain = std::size_t{1} << 16;
  const std::size_t shares = std::max<std::size_t>(1, (values.size() + kGrain - 1) / kGrain);
  std::vector<float> lows(shares, 0.0f), highs(shares, 0.0f);
  parallel_for(ctx.threads(), shares, 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t share = begin; share < end; ++share) {
      float low = 0.0f, high = 0.0f;
      const std::size_t first = share * kGrain;
      const std::size_t last = std::min(values.size(), first + kGrain);
      if (nn::cpu_has_avx512f()) {
        nn::range_avx512(values.data() + first, last - first, low, high);
      } else {
        for (std::size_t i = first; i < last; ++i) {
          low = std::min(low, values[i]);
          high = std::max(high, values[i]);
        }
      }
      lows[share] = low;
      highs[share] = high;
    }
  });
  const float low = *std::min_element(lows.begin(), lows.end());
  const float high = *std::max_element(highs.begin(), highs.end());
  const float scale = (high - low) / 255.0f;
  // An all-zero input has scale 0: every value quantizes to the zero point 0.
  const std::uint8_t zero = scale == 0 ? 0 : nn::quantize_value<std::uint8_t>(0.0f - low / scale, 0);
  Tensor y = Tensor::uninitialized(onnx::TensorProto::UINT8, x.shape());
  std::uint8_t* const out = y.mutable_data<std::uint8_t>().data();
  const float below = -static_cast<float>(zero);        // quotients at or below quantize to 0
  const float above = 255.0f - static_cast<float>(zero);  // and at or above to 255
  constexpr float kRound = 12582912.0f;                   // 1.5 x 2^23
  parallel_for(ctx.threads(), values.size(), kGrain, [&](std::size_t begin, std::size_t end) {
    if (scale != 0 && nn::cpu_has_avx512f()) {
      nn::quantize_u8_avx512(values.data() + begin, end - begin, scale, zero, out + begin);
      return;
    }
    for (std::size_t i = begin; i < end; ++i) {
      float q = scale == 0 ? 0.0f : values[i] / scale;  // float32 division, as the spec writes it
      q = q != q ? 0.0f : std::min(std::max(q, below), above);  // NaN gives the zero point
      out[i] = static_cast<std::uint8_t>(static_cast<int>((q + kRound) - kRound) + zero);
    }
  });
  ctx.set_output(0, std::move(y));
  if (ctx.output_count() > 1) ctx.set_output(1, Tensor::scalar<float>(scale));
  if (ctx.output_count() > 2) ctx.set_output(2, Tensor::scalar<std::uint8_t>(zero));
}

}  // namespace

void register_quantization_kernels(KernelRegistry& r) {
  r.add("QuantizeLinear", 10, quantize_linear_kernel);
  r.add("DequantizeLinear", 10, dequantize_linear_kernel);
  r.add("DynamicQuantizeLinear", 11, dynamic_quantize_linear_kernel);
}

}  // namespace onnx_fp16::runtime
