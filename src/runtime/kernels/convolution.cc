// Convolutions: Conv and ConvTranspose over 1, 2 or 3 (any number of) spatial axes, with groups,
// strides, dilations, pads and auto_pad; ConvInteger (nn_integer_conv.h does the work).
//
// Conv is im2col + one matrix product per (image, group): float16 values are widened to
// float32 (X's as the product packs its columns), the product accumulates in float32 (float64
// for double), and the output is rounded to float16 once, after the bias is added.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "runtime/broadcast.h"
#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/parallel.h"
#include "runtime/kernels/avx512.h"
#include "runtime/kernels/fused_kernels.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/kernels/nn_depthwise.h"
#include "runtime/kernels/nn_im2col.h"
#include "tensor/buffer_pool.h"
#include "runtime/kernels/nn_integer_conv.h"
#include "runtime/kernels/nn_window.h"

namespace onnx_fp16::runtime {

namespace {

using nn::WindowGeometry;

void require_same_float_type(const KernelContext& ctx, const Tensor& x, const Tensor* other, const char* what) {
  if (other != nullptr && other->dtype() != x.dtype()) {
    ctx.fail(std::string(what) + " is " + data_type_name(other->dtype()) + ", the input " + data_type_name(x.dtype()));
  }
}

// The bias B [M] in the compute type, or empty.
template <typename S>
std::vector<compute_t<S>> bias_values(const KernelContext& ctx, const Tensor* bias, std::size_t channels) {
  if (bias == nullptr) return {};
  if (bias->size() != channels) {
    ctx.fail("bias of shape " + shape_to_string(bias->shape()) + " for " + std::to_string(channels) + " channels");
  }
  const InputValues<S> values(*bias);
  return {values.span().begin(), values.span().end()};
}

template <typename C>
void add_bias(std::span<C> y, const std::vector<C>& bias, std::size_t channels, std::size_t plane) {
  if (bias.empty()) return;
  for (std::size_t i = 0; i < y.size(); i += plane) {
    const C b = bias[(i / plane) % channels];
    for (std::size_t j = 0; j < plane; ++j) y[i + j] += b;
  }
}

// A 1x1 kernel with unit strides and no padding reads the input as its own column matrix.
bool is_pointwise(const WindowGeometry& g) {
  for (std::size_t a = 0; a < g.rank(); ++a) {
    if (g.kernel[a] != 1 || g.strides[a] != 1 || g.pads_begin[a] != 0 || g.pads_end[a] != 0) return false;
  }
  return true;
}

// A depthwise 2-D convolution (nn::is_depthwise_2d): such layers are most of what mobile and OCR
// models run, and im2col plus a one-row matrix product per channel costs a BLAS call and a
// column matrix for a few multiply-adds per output. Here each output plane is computed directly,
// planes in parallel. Every output sums its taps in im2col's order (kernel row, then column)
// into a float32 (float64) accumulator that starts at zero; taps that fall in the padding add
// nothing.

// The fast path reads a zero-padded copy of each input plane, split into column phases so that
// a strided window reads contiguous values: phase q, row r, column j holds the padded plane's
// (r, j * s_w + q), which is input (r - p_h, j * s_w + q - p_w), or 0 outside the input.
// Output (oh, ow)'s tap (kh, kw) then reads phase (kw * d_w) % s_w, row oh * s_h + kh * d_h,
// column ow + (kw * d_w) / s_w: one offset per tap, the same for every output.
//
// Same bits as skipping the padding while a plane's taps are finite: a padding tap adds
// tap * 0 = +-0, which leaves a partial sum as it was (a sum that starts at +0 is never -0).
// A plane with an infinite or NaN tap (which would turn a padding zero into NaN) takes the
// direct path instead.
struct PhasedPlane {
  // Outputs are computed in blocks of `block` columns, the accumulators held in (vector)
  // registers across all taps; a row is computed `row_width` wide (out_w rounded up to a
  // block, the rest read padding zeros and is dropped), so narrow rows take no scalar tail.
  std::int64_t block = 0;
  std::int64_t row_width = 0;
  std::int64_t rows = 0;
  std::int64_t columns = 0;
  std::int64_t phases = 0;
  std::vector<std::int64_t> tap_offsets;  // per tap (kh, kw): its offset from the row oh * s_h

  explicit PhasedPlane(const WindowGeometry& g)
      : block(g.output[1] <= 8 ? 8 : 16),
        row_width((g.output[1] + block - 1) / block * block),
        rows((g.output[0] - 1) * g.strides[0] + (g.kernel[0] - 1) * g.dilations[0] + 1),
        columns(row_width + (g.kernel[1] - 1) * g.dilations[1] / g.strides[1]),
        phases(g.strides[1]) {
    for (std::int64_t kh = 0; kh < g.kernel[0]; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel[1]; ++kw) {
        const std::int64_t shift = kw * g.dilations[1];
        tap_offsets.push_back(((shift % phases) * rows + kh * g.dilations[0]) * columns + shift / phases);
      }
    }
  }
  std::size_t size() const { return static_cast<std::size_t>(rows * columns * phases); }

  template <typename C>
  void fill(const C* in, const WindowGeometry& g, C* out) const {
    const std::int64_t in_h = g.input[0], in_w = g.input[1], p_h = g.pads_begin[0], p_w = g.pads_begin[1];
    for (std::int64_t q = 0; q < phases; ++q) {
      // Columns [first, last) read the input (iw = j * phases + q - p_w in [0, in_w)); the rest
      // are padding. The same for every row of the phase: worked out once (two integer
      // divisions per row were most of a 7x7 plane's fill).
      const std::int64_t lead = p_w - q;  // j * phases >= lead
      const std::int64_t first = std::clamp<std::int64_t>(lead <= 0 ? 0 : (lead + phases - 1) / phases, 0, columns);
      const std::int64_t end = in_w + lead;  // j * phases < end
      const std::int64_t last = std::clamp<std::int64_t>(end <= 0 ? 0 : (end + phases - 1) / phases, first, columns);
      for (std::int64_t r = 0; r < rows; ++r) {
        C* dst = out + (q * rows + r) * columns;
        const std::int64_t ih = r - p_h;
        if (ih < 0 || ih >= in_h) {
          std::fill(dst, dst + columns, C{0});
          continue;
        }
        const C* src = in + ih * in_w + (first * phases + q - p_w);
        std::fill(dst, dst + first, C{0});
        if (phases == 1) {
          std::copy(src, src + (last - first), dst + first);
        } else if (phases == 2) {  // a constant stride the compiler vectorises (stride-2 layers)
          C* out_row = dst + first;
          for (std::int64_t j = 0; j < last - first; ++j) out_row[j] = src[2 * j];
        } else {
          for (std::int64_t j = first; j < last; ++j) dst[j] = src[(j - first) * phases];
        }
        std::fill(dst + last, dst + columns, C{0});
      }
    }
  }
};

// Outputs [ow, ow + Width) of one output row: the accumulators stay in (vector) registers
// across all taps instead of the row being read and written once per tap.
template <typename C, std::int64_t Width>
void sum_taps(const C* row_base, const std::vector<std::int64_t>& tap_offsets, const C* taps, std::int64_t ow,
              C* out) {
  C acc[Width] = {};
  for (std::size_t t = 0; t < tap_offsets.size(); ++t) {
    const C tap = taps[t];
    const C* src = row_base + tap_offsets[t] + ow;
    for (std::int64_t i = 0; i < Width; ++i) acc[i] += tap * src[i];
  }
  for (std::int64_t i = 0; i < Width; ++i) out[ow + i] = acc[i];
}

// A plane's output rows from its padded copy; `bias` is added to each sum (no bias: nullptr).
// With AVX-512 (float32, cpu_has_avx512f()) the sums of four rows at a time go straight to the
// output, the bias added in registers; the portable loop computes p.row_width sums into `row` and copies
// out_w of them. The same bits either way. (Through `row`, the copy's loads after the vector
// stores were a fifth of the depthwise time on EfficientNet-B0.)
template <typename C, std::int64_t Width>
void depthwise_plane_padded(const C* padded, const PhasedPlane& p, const C* taps, const C* bias,
                            const WindowGeometry& g, C* row, C* out) {
  const std::int64_t out_h = g.output[0], out_w = g.output[1];
#if defined(ONNX_FP16_HAVE_AVX512)
  if constexpr (std::is_same_v<C, float>) {
    if (nn::cpu_has_avx512f()) {
      nn::depthwise_rows_avx512(padded, g.strides[0] * p.columns, out_h, p.tap_offsets.data(), p.tap_offsets.size(),
                                taps, out_w, bias, out, out_w);
      return;
    }
  }
#endif
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    const C* row_base = padded + oh * g.strides[0] * p.columns;
    for (std::int64_t ow = 0; ow < p.row_width; ow += Width) sum_taps<C, Width>(row_base, p.tap_offsets, taps, ow, row);
    C* out_row = out + oh * out_w;
    if (bias == nullptr) {
      std::copy(row, row + out_w, out_row);
    } else {
      for (std::int64_t ow = 0; ow < out_w; ++ow) out_row[ow] = row[ow] + *bias;
    }
  }
}

// The direct path: each tap adds its products to the output row, skipping the padding.
template <typename C>
void depthwise_plane_direct(const C* in, const C* taps, const C* bias, const WindowGeometry& g, C* out) {
  const std::int64_t in_h = g.input[0], in_w = g.input[1], out_h = g.output[0], out_w = g.output[1];
  const std::int64_t k_h = g.kernel[0], k_w = g.kernel[1];
  const std::int64_t s_h = g.strides[0], s_w = g.strides[1], d_h = g.dilations[0], d_w = g.dilations[1];
  const std::int64_t p_h = g.pads_begin[0], p_w = g.pads_begin[1];
  std::fill(out, out + out_h * out_w, C{0});
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    C* row = out + oh * out_w;
    for (std::int64_t kh = 0; kh < k_h; ++kh) {
      const std::int64_t ih = oh * s_h - p_h + kh * d_h;
      if (ih < 0 || ih >= in_h) continue;
      const C* in_row = in + ih * in_w;
      for (std::int64_t kw = 0; kw < k_w; ++kw) {
        const C tap = taps[kh * k_w + kw];
        const std::int64_t shift = kw * d_w - p_w;  // iw = ow * s_w + shift
        // The outputs whose input column lies inside the row: 0 <= ow * s_w + shift < in_w.
        const std::int64_t first = shift >= 0 ? 0 : (-shift + s_w - 1) / s_w;
        const std::int64_t last = std::min(out_w, in_w - shift <= 0 ? 0 : (in_w - shift + s_w - 1) / s_w);
        for (std::int64_t ow = first; ow < last; ++ow) row[ow] += tap * in_row[ow * s_w + shift];
      }
    }
  }
  if (bias != nullptr) {
    for (std::int64_t i = 0; i < out_h * out_w; ++i) out[i] += *bias;
  }
}

// y = the convolution of x [planes = batch x channels planes] with w [channels kernels] plus
// bias [channels] (empty: none).
// With `relu`, each plane's outputs go through relu_of while the plane is in cache.
template <typename C>
void depthwise_conv_2d(const C* x, const C* w, const std::vector<C>& bias, C* y, std::size_t planes,
                       std::size_t channels, const WindowGeometry& g, int threads, bool relu) {
  const PhasedPlane layout(g);
  const std::size_t taps_per_plane = g.kernel_size();
  const std::size_t in_plane = g.input_size(), out_plane = g.output_size();
  if (out_plane == 0) return;
  parallel_for(threads, planes, 1, [&](std::size_t begin, std::size_t end) {
    const buffers::Scratch<C> padded(layout.size());
    std::vector<C> row(static_cast<std::size_t>(layout.row_width));
    for (std::size_t plane = begin; plane < end; ++plane) {
      const C* in = x + plane * in_plane;
      const C* taps = w + (plane % channels) * taps_per_plane;
      const C* plane_bias = bias.empty() ? nullptr : &bias[plane % channels];
      C* out = y + plane * out_plane;
      const bool finite = std::all_of(taps, taps + taps_per_plane, [](C t) { return std::isfinite(t); });
      if (finite) {
        layout.fill(in, g, padded.get());
        if (layout.block == 8) {
          depthwise_plane_padded<C, 8>(padded.get(), layout, taps, plane_bias, g, row.data(), out);
        } else {
          depthwise_plane_padded<C, 16>(padded.get(), layout, taps, plane_bias, g, row.data(), out);
        }
      } else {
        depthwise_plane_direct(in, taps, plane_bias, g, out);
      }
      if (relu) {
        for (std::size_t i = 0; i < out_plane; ++i) out[i] = relu_of(out[i]);
      }
    }
  });
}

// y[m x n] = w[m x k] x cols[k x n] (+ row_bias, relu), cols' rows ldb apart: cols in C, or
// float16 / bfloat16 for C float (widened as the product packs them).
template <typename C, typename X>
void column_product(int threads, std::size_t m, std::size_t n, std::size_t k, const C* w, const X* cols,
                    std::size_t ldb, C* y, std::size_t ldc, const C* row_bias, bool relu) {
  if constexpr (std::is_same_v<X, C>) {
    math::blas_gemm<C>(threads, false, false, m, n, k, C{1}, w, k, cols, ldb, C{0}, y, ldc, row_bias, relu);
  } else {
    math::blas_gemm_16bit_b(threads, false, false, m, n, k, 1.0f, w, k, cols, ldb, 0.0f, y, ldc, row_bias, relu);
  }
}

// A Conv that is not depthwise, as im2col + one matrix product per (image, group): x in the
// compute type C, or as stored in 16 bits for C float (im2col copies the values as they are).
template <typename C, typename X>
void convolve_products(const nn::ConvLayout& layout, const X* x, const C* w, const std::vector<C>& bias, C* y,
                       bool relu, int threads) {
  const WindowGeometry& g = layout.geometry;
  const std::size_t cg = layout.in_channels / layout.group;
  const std::size_t mg = layout.out_channels / layout.group;
  const std::size_t in_size = g.input_size();
  const std::size_t out_size = g.output_size();
  const std::size_t depth = cg * g.kernel_size();  // the product's inner dimension
  const bool pointwise = is_pointwise(g);
  // Bands sized by float32 columns whatever X is: the same bands, and so the same bits, as
  // before 16-bit columns.
  const nn::ColumnBands bands = nn::column_bands(g, depth * sizeof(C));
  // Not value-initialised: im2col writes every element (padding included), and zeroing a
  // buffer this size on every call was a fifth of a detector's first run. From the buffer
  // pool: the next Conv of the same size reuses it instead of faulting fresh pages in.
  const buffers::Scratch<X> cols(pointwise ? 0 : depth * bands.rows * bands.row_size);
  for (std::size_t n = 0; n < layout.batch; ++n) {
    for (std::size_t grp = 0; grp < layout.group; ++grp) {
      const X* xg = x + (n * layout.in_channels + grp * cg) * in_size;
      const C* wg = w + grp * mg * depth;
      const C* bg = bias.empty() ? nullptr : bias.data() + grp * mg;
      C* yg = y + (n * layout.out_channels + grp * mg) * out_size;
      if (pointwise) {  // the input is the column matrix
        column_product(threads, mg, out_size, depth, wg, xg, out_size, yg, out_size, bg, relu);
        continue;
      }
      for (std::int64_t first = 0; first < g.output[0]; first += static_cast<std::int64_t>(bands.rows)) {
        const WindowGeometry band = nn::output_band(g, first, static_cast<std::int64_t>(bands.rows));
        const std::size_t band_size = band.output_size();
        nn::im2col(xg, cg, band, X{}, cols.get(), threads);
        column_product(threads, mg, band_size, depth, wg, cols.get(), band_size,
                       yg + static_cast<std::size_t>(first) * bands.row_size, out_size, bg, relu);
      }
    }
  }
}

// Conv, and with `relu` a Relu of its output (conv_relu_kernel): every product tile, band or
// depthwise plane put through relu_of as it is finished.
void convolve(KernelContext& ctx, bool relu) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.optional_input(2);
  require_same_float_type(ctx, x, &w, "W");
  require_same_float_type(ctx, x, b, "B");
  const nn::ConvLayout layout = nn::conv_layout(ctx, x.shape(), w.shape());
  const WindowGeometry& g = layout.geometry;
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> wv(w);
    const auto bias = bias_values<S>(ctx, b, layout.out_channels);
    OutputValues<S> y(layout.output_shape);
    if (nn::is_depthwise_2d(layout)) {
      const InputValues<S> xv(x);
      depthwise_conv_2d<C>(xv.span().data(), wv.span().data(), bias, y.span().data(),
                           layout.batch * layout.out_channels, layout.out_channels, g, ctx.threads(), relu);
      ctx.set_output(0, std::move(y).finish());
      return;
    }
    if constexpr (is_half_storage_v<S>) {
      // X as stored: im2col copies its 16-bit values and the product widens them as it packs
      // them, instead of a float32 copy of X first (PP-OCRv4 det converted to float16: the
      // copies were 12% of a run, and im2col and the product then moved twice the bytes).
      // Only where the product packs them so (packs_16bit_b: otherwise it would widen every
      // band's columns, kernel-size times X's values) and has two or more rows.
      if (math::packs_16bit_b() && layout.out_channels / layout.group > 1) {
        convolve_products<C>(layout, x.data<S>().data(), wv.span().data(), bias, y.span().data(), relu, ctx.threads());
        ctx.set_output(0, std::move(y).finish());
        return;
      }
    }
    const InputValues<S> xv(x);
    convolve_products<C>(layout, xv.span().data(), wv.span().data(), bias, y.span().data(), relu, ctx.threads());
    ctx.set_output(0, std::move(y).finish());
  });
}

void conv_kernel(KernelContext& ctx) { convolve(ctx, false); }

// floor(a / 2) for any sign: the spec's pads formulas are written with Python's division, and a
// negative total padding (output_shape larger than the natural output) must extend the end.
std::int64_t floor_half(std::int64_t a) { return a >= 0 ? a / 2 : -((-a + 1) / 2); }

// ConvTranspose's output geometry, written as the geometry of the Conv whose adjoint it is:
// `input` is ConvTranspose's output, `output` its input.
WindowGeometry conv_transpose_geometry(const KernelContext& ctx, const std::vector<std::int64_t>& in,
                                       const std::vector<std::int64_t>& kernel) {
  const std::size_t rank = in.size();
  WindowGeometry g;
  g.output = in;
  g.kernel = kernel;
  g.strides = nn::per_axis_attribute(ctx, "strides", rank, 1);
  g.dilations = nn::per_axis_attribute(ctx, "dilations", rank, 1);
  const auto output_padding = nn::per_axis_attribute(ctx, "output_padding", rank, 0);
  std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  if (auto_pad.empty()) auto_pad = "NOTSET";
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
    ctx.fail("unknown auto_pad '" + auto_pad + "'");
  }
  auto output_shape = ctx.attr_ints("output_shape", {});
  if (output_shape.size() == rank + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  if (!output_shape.empty() && output_shape.size() != rank) {
    ctx.fail("output_shape has " + std::to_string(output_shape.size()) + " values for " + std::to_string(rank) +
             " spatial axes");
  }
  const auto pads = ctx.attr_ints("pads", {});
  if (!pads.empty() && pads.size() != 2 * rank)
    ctx.fail("attribute 'pads' needs " + std::to_string(2 * rank) + " values");
  g.input.assign(rank, 0);
  g.pads_begin.assign(rank, 0);
  g.pads_end.assign(rank, 0);
  for (std::size_t a = 0; a < rank; ++a) {
    if (g.kernel[a] < 1 || g.strides[a] < 1 || g.dilations[a] < 1)
      ctx.fail("kernel, strides and dilations must be positive");
    const std::int64_t natural = g.strides[a] * (in[a] - 1) + output_padding[a] + g.extent(a);
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (!output_shape.empty() || same) {
      // The spec: total_padding = natural - output_shape; SAME_UPPER puts the larger half at
      // the end, anything else at the beginning.
      const std::int64_t out = output_shape.empty() ? in[a] * g.strides[a] : output_shape[a];
      const std::int64_t total = natural - out;
      if (auto_pad == "SAME_UPPER") {
        g.pads_begin[a] = floor_half(total);
        g.pads_end[a] = total - g.pads_begin[a];
      } else {
        g.pads_end[a] = floor_half(total);
        g.pads_begin[a] = total - g.pads_end[a];
      }
    } else if (auto_pad == "NOTSET" && !pads.empty()) {
      g.pads_begin[a] = pads[a];
      g.pads_end[a] = pads[rank + a];
    }
    g.input[a] = natural - g.pads_begin[a] - g.pads_end[a];
    if (g.input[a] < 0) ctx.fail("the pads leave a negative output size along axis " + std::to_string(a + 2));
  }
  return g;
}

void conv_transpose_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.optional_input(2);
  require_same_float_type(ctx, x, &w, "W");
  require_same_float_type(ctx, x, b, "B");
  const auto spatial = nn::spatial_dims(ctx, x.shape());
  const Shape& ws = w.shape();
  const std::int64_t group = ctx.attr_int("group", 1);
  if (ws.size() != x.rank() || group < 1 || x.shape()[1] % group != 0 || ws[0] != x.shape()[1]) {
    ctx.fail("input " + shape_to_string(x.shape()) + " and weights " + shape_to_string(ws) + " do not fit group " +
             std::to_string(group));
  }
  const std::vector<std::int64_t> kernel(ws.begin() + 2, ws.end());
  const auto declared = ctx.attr_ints("kernel_shape", {});
  if (!declared.empty() && declared != kernel) ctx.fail("kernel_shape does not match the weights");
  const WindowGeometry g = conv_transpose_geometry(ctx, spatial, kernel);

  const auto batch = static_cast<std::size_t>(x.shape()[0]);
  const auto groups = static_cast<std::size_t>(group);
  const auto in_channels = static_cast<std::size_t>(x.shape()[1]);
  const std::size_t cg = in_channels / groups;
  const auto mg = static_cast<std::size_t>(ws[1]);
  const std::size_t out_channels = mg * groups;
  Shape output_shape{x.shape()[0], static_cast<std::int64_t>(out_channels)};
  output_shape.insert(output_shape.end(), g.input.begin(), g.input.end());

  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> xv(x);
    const InputValues<S> wv(w);
    const auto bias = bias_values<S>(ctx, b, out_channels);
    OutputValues<S> y(output_shape);
    std::fill(y.span().begin(), y.span().end(), C{0});
    const std::size_t in_size = g.output_size();  // ConvTranspose's input positions
    const std::size_t out_size = g.input_size();  // its output positions
    const std::size_t rows = mg * g.kernel_size();
    const buffers::Scratch<C> cols(rows * in_size);  // the product writes every element
    for (std::size_t n = 0; n < batch; ++n) {
      for (std::size_t grp = 0; grp < groups; ++grp) {
        // cols [mg*K, in] = W_g^T, W_g stored [cg, mg*K], times X_g [cg, in].
        const C* xg = xv.span().data() + (n * in_channels + grp * cg) * in_size;
        const C* wg = wv.span().data() + grp * cg * rows;
        math::blas_gemm<C>(ctx.threads(), true, false, rows, in_size, cg, C{1}, wg, rows, xg, in_size, C{0}, cols.get(), in_size);
        nn::col2im(cols.get(), mg, g, y.span().data() + (n * out_channels + grp * mg) * out_size);
      }
    }
    add_bias(y.span(), bias, out_channels, out_size);
    ctx.set_output(0, std::move(y).finish());
  });
}

// ConvInteger: int32 sums of (x - x_zero_point) * (w - w_zero_point).
void conv_integer_kernel(KernelContext& ctx) {
  nn::IntegerConv result =
      nn::integer_conv(ctx, ctx.input(0), ctx.optional_input(2), ctx.input(1), ctx.optional_input(3), {1, 3});
  ctx.set_output(0, std::move(result.sums));
}

// The ConvInteger -> Cast -> Mul [-> Add] [-> Relu] chain (plan_fusion.h): y = float(sum) *
// scale, + bias, relu_of, each step rounded to float32 as the node apart rounds it, over the
// three operands' broadcast, the runs split over the threads.
void rescale_integer_sums(KernelContext& ctx, bool relu) {
  nn::IntegerConv conv =
      nn::integer_conv(ctx, ctx.input(0), ctx.optional_input(2), ctx.input(1), ctx.optional_input(3), {1, 3});
  const Tensor& scale = ctx.input(4);
  const Tensor* bias = ctx.optional_input(5);
  for (const Tensor* operand : {&scale, bias}) {
    if (operand != nullptr && operand->dtype() != onnx::TensorProto::FLOAT) {
      ctx.fail("the rescaling after the ConvInteger reads " + data_type_name(operand->dtype()) + ", not float");
    }
  }
  std::vector<Shape> shapes = {conv.sums.shape(), scale.shape()};
  if (bias != nullptr) shapes.push_back(bias->shape());
  const BroadcastLayout layout(shapes);
  Tensor y = Tensor::uninitialized(onnx::TensorProto::FLOAT, layout.output_shape());
  const std::int32_t* sums = conv.sums.data<std::int32_t>().data();
  const float* scales = scale.data<float>().data();
  const float* biases = bias != nullptr ? bias->data<float>().data() : nullptr;
  float* out = y.mutable_data<float>().data();
  const auto each_run = [&](std::size_t o, std::size_t n, const std::size_t* offset, const std::size_t* step) {
    if (step[0] == 1 && step[1] == 0 && (biases == nullptr || step[2] == 0)) {  // one channel's plane: the usual case
      const std::int32_t* in = sums + offset[0];
      const float scale_value = scales[offset[1]];
      const float bias_value = biases != nullptr ? biases[offset[2]] : 0.0f;
      for (std::size_t i = 0; i < n; ++i) {
        float v = static_cast<float>(in[i]) * scale_value;
        if (biases != nullptr) v = v + bias_value;
        out[o + i] = relu ? relu_of(v) : v;
      }
      return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      float v = static_cast<float>(sums[offset[0] + i * step[0]]) * scales[offset[1] + i * step[1]];
      if (biases != nullptr) v = v + biases[offset[2] + i * step[2]];
      out[o + i] = relu ? relu_of(v) : v;
    }
  };
  const std::size_t runs = layout.run_count();
  const std::size_t run_length = runs == 0 ? 1 : layout.output_size() / runs;
  parallel_for(ctx.threads(), runs, std::max<std::size_t>(1, (std::size_t{1} << 15) / run_length),
               [&](std::size_t first, std::size_t last) { layout.for_each_run(first, last, each_run); });
  ctx.set_output(0, std::move(y));
}

}  // namespace

namespace nn {

bool is_depthwise_2d(const ConvLayout& layout) {
  return layout.geometry.rank() == 2 && layout.group > 1 && layout.group == layout.in_channels &&
         layout.out_channels == layout.in_channels;
}

void depthwise_conv_2d_float(const float* x, const float* w, float* y, std::size_t planes, std::size_t channels,
                             const WindowGeometry& g, int threads) {
  depthwise_conv_2d<float>(x, w, {}, y, planes, channels, g, threads, false);
}

}  // namespace nn

void conv_relu_kernel(KernelContext& ctx) { convolve(ctx, true); }
void conv_integer_rescale_kernel(KernelContext& ctx) { rescale_integer_sums(ctx, false); }
void conv_integer_rescale_relu_kernel(KernelContext& ctx) { rescale_integer_sums(ctx, true); }

void register_convolution_kernels(KernelRegistry& r) {
  r.add("Conv", 1, conv_kernel);
  r.add("ConvTranspose", 1, conv_transpose_kernel);
  r.add("ConvInteger", 10, conv_integer_kernel);
  // Its weights packed while the model loads (the fused chain's node is the ConvInteger's).
  r.add_preparer("", "ConvInteger", [](KernelContext& ctx) {
    if (ctx.has_input(1)) nn::prepare_integer_conv(ctx, ctx.input(1), ctx.optional_input(3), {1, 3});
  });
}

}  // namespace onnx_fp16::runtime
