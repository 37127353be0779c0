#include "runtime/kernels/nn_integer_conv.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "runtime/element_types.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/kernels/nn_im2col.h"
#include "runtime/kernels/nn_window.h"
#include "tensor/buffer_pool.h"

namespace onnx_fp16::runtime::nn {

namespace {

using Int8Types = TypeList<std::uint8_t, std::int8_t>;

// The shifted values of shifted_int8_values, written as T into `out` (values.size() of them).
template <typename T>
void shift_int8_values(const KernelContext& ctx, const Tensor& values, const Tensor* zero_point, std::size_t channels,
                       std::size_t block, T* out) {
  if (zero_point != nullptr && zero_point->dtype() != values.dtype()) {
    ctx.fail("zero point is " + data_type_name(zero_point->dtype()) + ", its tensor " + data_type_name(values.dtype()));
  }
  std::vector<std::int32_t> zero(1, 0);
  if (zero_point != nullptr) {
    if (zero_point->size() != 1 && zero_point->size() != channels) {
      ctx.fail("zero point of shape " + shape_to_string(zero_point->shape()) + " for " + std::to_string(channels) +
               " channels");
    }
    zero.clear();
    dispatch<Int8Types>(zero_point->dtype(), [&]<typename S>(std::type_identity<S>) {
      for (const S v : zero_point->data<S>()) zero.push_back(v);
    });
  }
  dispatch<Int8Types>(values.dtype(), [&]<typename S>(std::type_identity<S>) {
    const auto in = values.data<S>();
    for (std::size_t i = 0; i < in.size(); ++i) {
      const std::int32_t z = zero.size() == 1 ? zero[0] : zero[(i / block) % channels];
      out[i] = static_cast<T>(static_cast<std::int32_t>(in[i]) - z);
    }
  });
}

}  // namespace

std::vector<std::int32_t> shifted_int8_values(const KernelContext& ctx, const Tensor& values, const Tensor* zero_point,
                                              std::size_t channels, std::size_t block) {
  std::vector<std::int32_t> out(values.size());
  shift_int8_values(ctx, values, zero_point, channels, block, out.data());
  return out;
}

IntegerConv integer_conv(const KernelContext& ctx, const Tensor& x, const Tensor* x_zero_point, const Tensor& w,
                         const Tensor* w_zero_point) {
  const ConvLayout layout = conv_layout(ctx, x.shape(), w.shape());
  const WindowGeometry& g = layout.geometry;
  if (x_zero_point != nullptr && x_zero_point->size() != 1) ctx.fail("x_zero_point must be a scalar");
  // The shifted values as floats, in pooled buffers (no fresh pages per run). They are
  // integers of magnitude at most 255: exact in float32.
  const buffers::Scratch<float> xf(x.size());
  shift_int8_values(ctx, x, x_zero_point, 1, 1, xf.get());
  const std::size_t w_block = layout.out_channels == 0 ? 1 : w.size() / layout.out_channels;
  const buffers::Scratch<float> wf(w.size());
  shift_int8_values(ctx, w, w_zero_point, layout.out_channels, w_block, wf.get());

  IntegerConv result;
  result.out_channels = layout.out_channels;
  result.plane = g.output_size();
  result.sums = Tensor::uninitialized(onnx::TensorProto::INT32, layout.output_shape);
  const std::size_t cg = layout.in_channels / layout.group;
  const std::size_t mg = layout.out_channels / layout.group;
  const std::size_t in_size = g.input_size();
  const std::size_t out_size = g.output_size();
  const std::size_t depth = cg * g.kernel_size();
  // The sums as float32 matrix products over slices of the inner dimension, added up in int64.
  // Exact: within a slice, whatever order BLAS adds the products in, every partial sum is an
  // integer no larger than the slice's sum of |products|, which the slice length keeps below
  // 2^24, where float32 holds every integer. The int64 total is kept as int32 as the hardware
  // wraps it. (A naive loop took a quantized segmentation model 160 s against ONNX Runtime's
  // 6.8 s; double-precision products were exact in one piece but twice as slow.)
  auto largest = [](const float* values, std::size_t count) {
    float m = 0;
    for (std::size_t i = 0; i < count; ++i) m = std::max(m, std::abs(values[i]));
    return static_cast<double>(m);
  };
  const double bound = largest(xf.get(), x.size()) * largest(wf.get(), w.size());
  constexpr double kExactBelow = 16777216.0;  // 2^24
  const std::size_t slice =
      bound == 0 ? depth : std::max<std::size_t>(1, static_cast<std::size_t>((kExactBelow - 1) / bound));
  const buffers::Scratch<float> cols(depth * out_size);
  const buffers::Scratch<float> part(mg * out_size);
  const buffers::Scratch<std::int64_t> total(mg * out_size);
  std::int32_t* const out = result.sums.mutable_data<std::int32_t>().data();
  for (std::size_t n = 0; n < layout.batch; ++n) {
    for (std::size_t grp = 0; grp < layout.group; ++grp) {
      im2col(xf.get() + (n * layout.in_channels + grp * cg) * in_size, cg, g, 0.0f, cols.get(), ctx.threads());
      std::fill(total.get(), total.get() + mg * out_size, std::int64_t{0});
      for (std::size_t k0 = 0; k0 < depth; k0 += slice) {
        const std::size_t k = std::min(slice, depth - k0);
        math::blas_gemm<float>(ctx.threads(), false, false, mg, out_size, k, 1.0f, wf.get() + grp * mg * depth + k0, depth,
                               cols.get() + k0 * out_size, out_size, 0.0f, part.get(), out_size);
        for (std::size_t i = 0; i < mg * out_size; ++i) total.get()[i] += static_cast<std::int64_t>(part.get()[i]);
      }
      std::int32_t* y = out + (n * layout.out_channels + grp * mg) * out_size;
      for (std::size_t i = 0; i < mg * out_size; ++i) y[i] = static_cast<std::int32_t>(total.get()[i]);
    }
  }
  return result;
}

}  // namespace onnx_fp16::runtime::nn
