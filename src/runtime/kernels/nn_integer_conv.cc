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

}  // namespace

std::int32_t shift_int8_values(const KernelContext& ctx, const Tensor& values, const Tensor* zero_point,
                               std::size_t channels, std::size_t block, float* out) {
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
  std::int32_t largest = 0;
  dispatch<Int8Types>(values.dtype(), [&]<typename S>(std::type_identity<S>) {
    const auto in = values.data<S>();
    for (std::size_t i = 0; i < in.size(); ++i) {
      const std::int32_t z = zero.size() == 1 ? zero[0] : zero[(i / block) % channels];
      const std::int32_t shifted = static_cast<std::int32_t>(in[i]) - z;
      out[i] = static_cast<float>(shifted);
      largest = std::max(largest, std::abs(shifted));
    }
  });
  return largest;
}

IntegerConv integer_conv(const KernelContext& ctx, const Tensor& x, const Tensor* x_zero_point, const Tensor& w,
                         const Tensor* w_zero_point) {
  const ConvLayout layout = conv_layout(ctx, x.shape(), w.shape());
  const WindowGeometry& g = layout.geometry;
  if (x_zero_point != nullptr && x_zero_point->size() != 1) ctx.fail("x_zero_point must be a scalar");
  // The shifted values as floats, in pooled buffers (no fresh pages per run). They are
  // integers of magnitude at most 255: exact in float32.
  const buffers::Scratch<float> xf(x.size());
  const std::int32_t largest_x = shift_int8_values(ctx, x, x_zero_point, 1, 1, xf.get());
  const std::size_t w_block = layout.out_channels == 0 ? 1 : w.size() / layout.out_channels;
  const buffers::Scratch<float> wf(w.size());
  const std::int32_t largest_w = shift_int8_values(ctx, w, w_zero_point, layout.out_channels, w_block, wf.get());

  IntegerConv result;
  result.out_channels = layout.out_channels;
  result.plane = g.output_size();
  result.sums = Tensor::uninitialized(onnx::TensorProto::INT32, layout.output_shape);
  const std::size_t cg = layout.in_channels / layout.group;
  const std::size_t mg = layout.out_channels / layout.group;
  const std::size_t in_size = g.input_size();
  const std::size_t out_size = g.output_size();
  const std::size_t depth = cg * g.kernel_size();
  // The sums as exact integer products (math::exact_integer_gemm: float32 slices added in
  // int64), one per (image, group). A naive loop took a quantized segmentation model 160 s
  // against ONNX Runtime's 6.8 s.
  // The column matrix in bands of output rows, as Conv builds it (nn_im2col.h: whole, a
  // 64-channel 3x3 layer over 128x128 faulted 38 MB in on a first run).
  const double largest_product = static_cast<double>(largest_x) * static_cast<double>(largest_w);
  const ColumnBands bands = column_bands(g, depth * sizeof(float));
  const buffers::Scratch<float> cols(depth * bands.rows * bands.row_size);
  std::int32_t* const out = result.sums.mutable_data<std::int32_t>().data();
  for (std::size_t n = 0; n < layout.batch; ++n) {
    for (std::size_t grp = 0; grp < layout.group; ++grp) {
      const float* xg = xf.get() + (n * layout.in_channels + grp * cg) * in_size;
      std::int32_t* const sums = out + (n * layout.out_channels + grp * mg) * out_size;
      for (std::int64_t first = 0; first < g.output[0]; first += static_cast<std::int64_t>(bands.rows)) {
        const WindowGeometry band = output_band(g, first, static_cast<std::int64_t>(bands.rows));
        const std::size_t band_size = band.output_size();
        im2col(xg, cg, band, 0.0f, cols.get(), ctx.threads());
        math::exact_integer_gemm(ctx.threads(), mg, band_size, depth, wf.get() + grp * mg * depth, depth, cols.get(),
                                 band_size, largest_product, sums + static_cast<std::size_t>(first) * bands.row_size,
                                 out_size);
      }
    }
  }
  return result;
}

}  // namespace onnx_fp16::runtime::nn
