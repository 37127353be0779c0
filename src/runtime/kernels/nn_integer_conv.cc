#include "runtime/kernels/nn_integer_conv.h"

#include <string>

#include "runtime/element_types.h"
#include "runtime/kernels/nn_im2col.h"
#include "runtime/kernels/nn_window.h"

namespace onnx_fp16::runtime::nn {

namespace {
using Int8Types = TypeList<std::uint8_t, std::int8_t>;
}  // namespace

std::vector<std::int32_t> shifted_int8_values(const KernelContext& ctx, const Tensor& values, const Tensor* zero_point,
                                              std::size_t channels, std::size_t block) {
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
  std::vector<std::int32_t> out(values.size());
  dispatch<Int8Types>(values.dtype(), [&]<typename S>(std::type_identity<S>) {
    const auto in = values.data<S>();
    for (std::size_t i = 0; i < in.size(); ++i) {
      const std::int32_t z = zero.size() == 1 ? zero[0] : zero[(i / block) % channels];
      out[i] = static_cast<std::int32_t>(in[i]) - z;
    }
  });
  return out;
}

IntegerConv integer_conv(const KernelContext& ctx, const Tensor& x, const Tensor* x_zero_point, const Tensor& w,
                         const Tensor* w_zero_point) {
  const ConvLayout layout = conv_layout(ctx, x.shape(), w.shape());
  const WindowGeometry& g = layout.geometry;
  if (x_zero_point != nullptr && x_zero_point->size() != 1) ctx.fail("x_zero_point must be a scalar");
  const std::vector<std::int32_t> xs = shifted_int8_values(ctx, x, x_zero_point, 1, 1);
  const std::size_t w_block = layout.out_channels == 0 ? 1 : w.size() / layout.out_channels;
  const std::vector<std::int32_t> ws = shifted_int8_values(ctx, w, w_zero_point, layout.out_channels, w_block);

  IntegerConv result;
  result.shape = layout.output_shape;
  result.out_channels = layout.out_channels;
  result.plane = g.output_size();
  result.values.assign(element_count(result.shape), 0);
  const std::size_t cg = layout.in_channels / layout.group;
  const std::size_t mg = layout.out_channels / layout.group;
  const std::size_t in_size = g.input_size();
  const std::size_t out_size = g.output_size();
  const std::size_t depth = cg * g.kernel_size();
  std::vector<std::int32_t> cols(depth * out_size);
  // int64 sums, kept as int32 at the end: int32 wraps like the hardware's without C++'s
  // undefined signed overflow.
  std::vector<std::int64_t> sums(out_size);
  for (std::size_t n = 0; n < layout.batch; ++n) {
    for (std::size_t grp = 0; grp < layout.group; ++grp) {
      im2col(xs.data() + (n * layout.in_channels + grp * cg) * in_size, cg, g, std::int32_t{0}, cols.data());
      for (std::size_t m = 0; m < mg; ++m) {
        std::fill(sums.begin(), sums.end(), 0);
        const std::int32_t* wrow = ws.data() + (grp * mg + m) * depth;
        for (std::size_t k = 0; k < depth; ++k) {
          const std::int64_t a = wrow[k];
          if (a == 0) continue;
          const std::int32_t* col = cols.data() + k * out_size;
          for (std::size_t o = 0; o < out_size; ++o) sums[o] += a * col[o];
        }
        std::int32_t* y = result.values.data() + (n * layout.out_channels + grp * mg + m) * out_size;
        for (std::size_t o = 0; o < out_size; ++o) y[o] = static_cast<std::int32_t>(sums[o]);
      }
    }
  }
  return result;
}

}  // namespace onnx_fp16::runtime::nn
