#include "runtime/kernels/nn_integer_conv.h"

#include <emmintrin.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/kernels/avx512.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/kernels/nn_depthwise.h"
#include "runtime/kernels/nn_im2col.h"
#include "runtime/kernels/nn_window.h"
#include "runtime/parallel.h"
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

namespace {

// The direct path, for CPUs with AVX-512 VNNI (avx512.h: u8s8_conv_row_avx512vnni): 2-D, one
// group, uint8 input (what DynamicQuantizeLinear gives), uint8 or int8 weights. With
// b = w - o (o = 128 for uint8 weights, 0 for int8: b fits int8),
//   sum (x - zx)(w - zw) = sum x b  +  (o - zw) sum x  -  zx sum (w - zw)
// summed over the window, where the input is padded with zx (a padded position then adds
// zx b + (o - zw) zx - zx (w - zw) = 0, as it must). The first sum runs in the kernel over the
// input in NHWC (a position's channels adjacent, 4 per int32 lane), the second is a box sum of
// per-pixel channel sums, the third one number per output channel; all in int32 arithmetic that
// wraps, so the result is the exact sum modulo 2^32, as int32 holds it.
// Against the float32 products of the general path: no im2col (a 128-channel 3x3 layer over
// 320x320 wrote 470 MB of columns per run) and 64 multiply-accumulates per instruction.
// The part of direct_path_applies that the weights and the group decide: what a preparer can
// tell while the model loads (packed_conv_weights' layout).
bool direct_path_packs(std::int64_t group, const Tensor& w) {
  return cpu_has_avx512_vnni() && group == 1 && w.rank() == 4 &&
         (w.dtype() == onnx::TensorProto::UINT8 || w.dtype() == onnx::TensorProto::INT8) && w.shape()[0] > 0 &&
         w.shape()[1] > 0;
}

// (conv_layout has checked w against x: with group 1, w's channels are x's, its rank x's.)
bool direct_path_applies(const ConvLayout& layout, const Tensor& x, const Tensor& w) {
  return direct_path_packs(static_cast<std::int64_t>(layout.group), w) && x.dtype() == onnx::TensorProto::UINT8 && layout.geometry.output_size() > 0;
}

// Weights for u8s8_conv_row_avx512vnni: [tap][channel quad][output][4] signed bytes w - offset
// (offset 128 for uint8 weights, 0 for int8; zero where padded), and per output the sum of
// (w - zero point) over its channels and taps. `value(output, channel, tap)` reads a weight.
struct PackedWeights {
  buffers::Scratch<std::int8_t> bytes;
  std::vector<std::int64_t> sums;  // per output: sum of (w - zw)
  std::size_t quads = 0;
  std::size_t m16 = 0;  // outputs rounded up to 16
  std::int32_t offset = 0;
};

template <typename Value>
PackedWeights pack_weights(int threads, std::size_t taps, std::size_t channels, std::size_t outputs,
                           bool unsigned_weights, const std::vector<std::int32_t>& zero, Value&& value) {
  PackedWeights packed;
  packed.quads = (channels + 3) / 4;
  packed.m16 = (outputs + 15) / 16 * 16;
  packed.offset = unsigned_weights ? 128 : 0;
  const std::size_t size = taps * packed.quads * packed.m16 * 4;
  packed.bytes = buffers::Scratch<std::int8_t>(size);
  std::fill(packed.bytes.get(), packed.bytes.get() + size, std::int8_t{0});
  // Local pointers: the byte stores may alias anything, and through the vector the compiler
  // reloaded its data pointer at every element (half of a product's time).
  packed.sums.assign(outputs, 0);
  std::int64_t* const sums = packed.sums.data();
  std::int8_t* const bytes = packed.bytes.get();
  const std::int32_t offset = packed.offset;
  // Split by ranges of outputs: each thread writes its own bytes and sums.
  constexpr std::size_t kOutputsPerShare = 64;
  const std::size_t shares = (outputs + kOutputsPerShare - 1) / kOutputsPerShare;
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 16) / std::max<std::size_t>(1, taps * channels * kOutputsPerShare));
  parallel_for(threads, shares, grain, [&](std::size_t begin, std::size_t end) {
    const std::size_t first = begin * kOutputsPerShare;
    const std::size_t last = std::min(outputs, end * kOutputsPerShare);
    for (std::size_t t = 0; t < taps; ++t) {
      for (std::size_t c = 0; c < channels; ++c) {
        std::int8_t* const row = bytes + ((t * packed.quads + c / 4) * packed.m16) * 4 + c % 4;
        for (std::size_t m = first; m < last; ++m) {
          const std::int32_t v = value(m, c, t);
          row[m * 4] = static_cast<std::int8_t>(v - offset);
          sums[m] += v;
        }
      }
    }
  });
  const auto count = static_cast<std::int64_t>(taps * channels);
  for (std::size_t m = 0; m < outputs; ++m) sums[m] -= count * zero[zero.size() == 1 ? 0 : m];
  return packed;
}

// What turns the kernel's sum of x b (b = w - offset) over a window into the sum of
// (x - zx)(w - zw), per output m: (offset - zw[m]) times the window's sum of x, plus
// -zx x sum(w - zw). In uint32, whose arithmetic is int32's wrap-around without overflow.
struct Corrections {
  std::vector<std::uint32_t> per_input;
  std::vector<std::uint32_t> constant;
  std::uint32_t apply(std::size_t m, std::int32_t product, std::uint32_t input_sum) const {
    return static_cast<std::uint32_t>(product) + per_input[m] * input_sum + constant[m];
  }
};

Corrections corrections(const PackedWeights& packed, const std::vector<std::int32_t>& zero, std::int32_t input_zero) {
  Corrections result;
  for (std::size_t m = 0; m < packed.sums.size(); ++m) {
    result.per_input.push_back(static_cast<std::uint32_t>(packed.offset - zero[zero.size() == 1 ? 0 : m]));
    result.constant.push_back(static_cast<std::uint32_t>(-static_cast<std::int64_t>(input_zero) * packed.sums[m]));
  }
  return result;
}

// A 2-D convolution's weights w [outputs, channels, kh, kw] (group 1) packed for the direct
// path: once per node when w and its zero point are constants (from the first run, or from
// prepare_integer_conv while the model loads), else on every call.
std::shared_ptr<const PackedWeights> packed_conv_weights(const KernelContext& ctx, const Tensor& w,
                                                         const std::vector<std::int32_t>& w_zero,
                                                         std::array<std::size_t, 2> weight_inputs) {
  const auto outputs = static_cast<std::size_t>(w.shape()[0]);
  const auto channels = static_cast<std::size_t>(w.shape()[1]);
  const auto taps = static_cast<std::size_t>(w.shape()[2] * w.shape()[3]);
  const bool unsigned_weights = w.dtype() == onnx::TensorProto::UINT8;
  const std::uint8_t* const w_unsigned = unsigned_weights ? w.data<std::uint8_t>().data() : nullptr;
  const std::int8_t* const w_signed = unsigned_weights ? nullptr : w.data<std::int8_t>().data();
  return ctx.from_constants<PackedWeights>(weight_inputs, [&] {
    return pack_weights(ctx.threads(), taps, channels, outputs, unsigned_weights, w_zero, [&](std::size_t m, std::size_t c, std::size_t t) {
      const std::size_t i = (m * channels + c) * taps + t;
      return w_unsigned != nullptr ? std::int32_t{w_unsigned[i]} : std::int32_t{w_signed[i]};
    });
  });
}

IntegerConv direct_integer_conv(const KernelContext& ctx, const ConvLayout& layout, const Tensor& x,
                                std::int32_t x_zero, const Tensor& w, const std::vector<std::int32_t>& w_zero,
                                std::array<std::size_t, 2> weight_inputs) {
  const WindowGeometry& g = layout.geometry;
  const std::size_t channels = layout.in_channels;
  const std::size_t outputs = layout.out_channels;
  const std::int64_t kh = g.kernel[0], kw = g.kernel[1];
  const auto taps = static_cast<std::size_t>(kh * kw);
  // direct_path_applies: group 1, so w's shape gives the same channels, outputs and taps.
  const std::shared_ptr<const PackedWeights> packed_once = packed_conv_weights(ctx, w, w_zero, weight_inputs);
  const PackedWeights& packed = *packed_once;
  const std::size_t quads = packed.quads;
  const std::size_t padded_channels = quads * 4;
  const std::size_t m16 = packed.m16;
  const Corrections correction = corrections(packed, w_zero, x_zero);

  // The padded input grid: output (oy, ox) reads grid row oy * stride + ky * dilation.
  const std::int64_t pad_top = g.pads_begin[0], pad_left = g.pads_begin[1];
  const std::int64_t in_h = g.input[0], in_w = g.input[1];
  const std::int64_t out_h = g.output[0], out_w = g.output[1];
  const std::int64_t grid_h = std::max(pad_top + in_h, (out_h - 1) * g.strides[0] + g.extent(0));
  const std::int64_t grid_w = std::max(pad_left + in_w, (out_w - 1) * g.strides[1] + g.extent(1));
  const auto pixels = static_cast<std::size_t>(grid_h * grid_w);
  buffers::Scratch<std::uint8_t> grid(pixels * padded_channels);
  buffers::Scratch<std::int32_t> pixel_sums(pixels);  // sum over the channels of each grid pixel
  std::vector<std::int64_t> tap_offsets;
  for (std::int64_t ky = 0; ky < kh; ++ky) {
    for (std::int64_t kx = 0; kx < kw; ++kx) {
      tap_offsets.push_back((ky * g.dilations[0] * grid_w + kx * g.dilations[1]) * static_cast<std::int64_t>(padded_channels));
    }
  }
  const std::int64_t position_step = g.strides[1] * static_cast<std::int64_t>(padded_channels);
  const auto plane = static_cast<std::size_t>(in_h * in_w);
  const auto out_plane = static_cast<std::size_t>(out_h * out_w);

  IntegerConv result;
  result.out_channels = outputs;
  result.plane = out_plane;
  result.sums = Tensor::uninitialized(onnx::TensorProto::INT32, layout.output_shape);
  std::int32_t* const sums = result.sums.mutable_data<std::int32_t>().data();
  const std::uint8_t* const input = x.data<std::uint8_t>().data();
  for (std::size_t n = 0; n < layout.batch; ++n) {
    const std::uint8_t* image = input + n * channels * plane;
    // Grid rows: the zero point around the image, the image's channels adjacent per pixel, the
    // padded channels 0 (they add nothing to either sum).
    parallel_for(ctx.threads(), static_cast<std::size_t>(grid_h), 8, [&](std::size_t begin, std::size_t end) {
      for (std::size_t row = begin; row < end; ++row) {
        std::uint8_t* dst = grid.get() + row * static_cast<std::size_t>(grid_w) * padded_channels;
        for (std::int64_t col = 0; col < grid_w; ++col) {
          std::uint8_t* pixel = dst + static_cast<std::size_t>(col) * padded_channels;
          std::fill(pixel, pixel + channels, static_cast<std::uint8_t>(x_zero));
          std::fill(pixel + channels, pixel + padded_channels, std::uint8_t{0});
        }
        const std::int64_t r = static_cast<std::int64_t>(row) - pad_top;
        if (r >= 0 && r < in_h) {
          for (std::size_t c = 0; c < channels; ++c) {
            const std::uint8_t* src = image + c * plane + static_cast<std::size_t>(r * in_w);
            std::uint8_t* first = dst + static_cast<std::size_t>(pad_left) * padded_channels + c;
            for (std::int64_t col = 0; col < in_w; ++col) first[static_cast<std::size_t>(col) * padded_channels] = src[col];
          }
        }
        for (std::int64_t col = 0; col < grid_w; ++col) {
          const std::uint8_t* pixel = dst + static_cast<std::size_t>(col) * padded_channels;
          std::int32_t total = 0;
          for (std::size_t c = 0; c < padded_channels; ++c) total += pixel[c];
          pixel_sums.get()[row * static_cast<std::size_t>(grid_w) + static_cast<std::size_t>(col)] = total;
        }
      }
    });
    std::int32_t* const image_sums = sums + n * outputs * out_plane;
    parallel_for(ctx.threads(), static_cast<std::size_t>(out_h), 1, [&](std::size_t begin, std::size_t end) {
      const auto width = static_cast<std::size_t>(out_w);
      buffers::Scratch<std::int32_t> row_sums(width * m16);
      std::vector<std::uint32_t> windows(width);  // each window's sum of inputs
      for (std::size_t oy = begin; oy < end; ++oy) {
        const std::int64_t grid_row = static_cast<std::int64_t>(oy) * g.strides[0];
        u8s8_conv_row_avx512vnni(grid.get() + static_cast<std::size_t>(grid_row * grid_w) * padded_channels, position_step,
                                 tap_offsets.data(), taps, quads, packed.bytes.get(), m16, out_w, row_sums.get());
        for (std::size_t ox = 0; ox < width; ++ox) {
          std::int64_t window = 0;
          for (std::int64_t ky = 0; ky < kh; ++ky) {
            const std::int32_t* line = pixel_sums.get() + (grid_row + ky * g.dilations[0]) * grid_w +
                                       static_cast<std::int64_t>(ox) * g.strides[1];
            for (std::int64_t kx = 0; kx < kw; ++kx) window += line[kx * g.dilations[1]];
          }
          windows[ox] = static_cast<std::uint32_t>(window);
        }
        // Channel by channel, so that the output (NCHW) is written in runs.
        for (std::size_t m = 0; m < outputs; ++m) {
          const std::int32_t* products = row_sums.get() + m;
          std::int32_t* dst = image_sums + m * out_plane + oy * width;
          for (std::size_t ox = 0; ox < width; ++ox) {
            dst[ox] = static_cast<std::int32_t>(correction.apply(m, products[ox * m16], windows[ox]));
          }
        }
      }
    });
  }
  return result;
}

// A zero point's values as int32: absent (0), one value, or (for weights) one per output channel.
// Depthwise 2-D (nn_depthwise.h; MobileNet-style exports quantize such layers): Conv's own
// depthwise kernel over the shifted values, then each sum as an int32. Group by group, the
// column matrix made a product per channel, too small to split: PaddleOCR det's quantized
// depthwise layers took 1.1-1.4 ms each on one thread and 2.5-3.0 ms on two. Exact: every
// product is an integer below `largest_product` in magnitude and a window holds kernel_size of
// them, so while that bound stays under 2^24 every partial float32 sum is the integer itself,
// in any order. False (nothing written) where the path does not apply.
bool depthwise_sums(const KernelContext& ctx, const ConvLayout& layout, const float* xf, const float* wf,
                    double largest_product, std::int32_t* out) {
  const WindowGeometry& g = layout.geometry;
  if (!is_depthwise_2d(layout) || largest_product * static_cast<double>(g.kernel_size()) >= 0x1.0p24) return false;
  const std::size_t planes = layout.batch * layout.out_channels;
  const buffers::Scratch<float> sums(planes * g.output_size());
  depthwise_conv_2d_float(xf, wf, sums.get(), planes, layout.out_channels, g, ctx.threads());
  std::transform(sums.get(), sums.get() + planes * g.output_size(), out,
                 [](float sum) { return static_cast<std::int32_t>(sum); });
  return true;
}

std::vector<std::int32_t> zero_point_values(const KernelContext& ctx, const Tensor* zero_point, const Tensor& values,
                                            std::size_t channels) {
  if (zero_point == nullptr) return {0};
  if (zero_point->dtype() != values.dtype()) {
    ctx.fail("zero point is " + data_type_name(zero_point->dtype()) + ", its tensor " + data_type_name(values.dtype()));
  }
  if (zero_point->size() != 1 && zero_point->size() != channels) {
    ctx.fail("zero point of shape " + shape_to_string(zero_point->shape()) + " for " + std::to_string(channels) +
             " channels");
  }
  std::vector<std::int32_t> zero;
  dispatch<Int8Types>(zero_point->dtype(), [&]<typename S>(std::type_identity<S>) {
    for (const S v : zero_point->data<S>()) zero.push_back(v);
  });
  return zero;
}

}  // namespace

// pack_weights for a [k x n] matrix (k channels, n outputs, one tap), 16 columns at a time: four
// rows' 16 bytes interleaved into 16 quads by two rounds of unpacking (SSE2, which every x86-64
// has), uint8 weights shifted to int8 by flipping the top bit (v - 128). Done a value at a time on
// every call, this was most of a quantized transformer's products; now 16 columns at a time,
// once per node (packed_gemm_weights).
PackedWeights pack_matrix(int threads, const Tensor& b, const std::vector<std::int32_t>& zero) {
  const auto k = static_cast<std::size_t>(b.shape()[0]);
  const auto n = static_cast<std::size_t>(b.shape()[1]);
  const bool unsigned_weights = b.dtype() == onnx::TensorProto::UINT8;
  const auto* const rows = reinterpret_cast<const std::uint8_t*>(b.bytes().data());
  PackedWeights packed;
  packed.quads = (k + 3) / 4;
  packed.m16 = (n + 15) / 16 * 16;
  packed.offset = unsigned_weights ? 128 : 0;
  const std::size_t size = packed.quads * packed.m16 * 4;
  packed.bytes = buffers::Scratch<std::int8_t>(size);
  auto* const bytes = reinterpret_cast<std::uint8_t*>(packed.bytes.get());
  const std::uint8_t flip = unsigned_weights ? 0x80 : 0x00;
  const std::vector<std::uint8_t> zeros(n, unsigned_weights ? 0x80 : 0x00);  // rows past k: weight 0 once shifted
  parallel_for(threads, packed.quads, 16, [&](std::size_t begin, std::size_t end) {
    for (std::size_t q = begin; q < end; ++q) {
      const std::uint8_t* r[4];
      for (std::size_t i = 0; i < 4; ++i) r[i] = 4 * q + i < k ? rows + (4 * q + i) * n : zeros.data();
      std::uint8_t* dst = bytes + q * packed.m16 * 4;
      const __m128i flips = _mm_set1_epi8(static_cast<char>(flip));
      std::size_t j = 0;
      for (; j + 16 <= n; j += 16) {
        const __m128i r0 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r[0] + j)), flips);
        const __m128i r1 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r[1] + j)), flips);
        const __m128i r2 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r[2] + j)), flips);
        const __m128i r3 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r[3] + j)), flips);
        const __m128i low01 = _mm_unpacklo_epi8(r0, r1), high01 = _mm_unpackhi_epi8(r0, r1);
        const __m128i low23 = _mm_unpacklo_epi8(r2, r3), high23 = _mm_unpackhi_epi8(r2, r3);
        auto* out = reinterpret_cast<__m128i*>(dst + j * 4);
        _mm_storeu_si128(out, _mm_unpacklo_epi16(low01, low23));
        _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(low01, low23));
        _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(high01, high23));
        _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(high01, high23));
      }
      for (; j < packed.m16; ++j) {
        for (std::size_t i = 0; i < 4; ++i) dst[j * 4 + i] = j < n ? static_cast<std::uint8_t>(r[i][j] ^ flip) : 0;
      }
    }
  });
  // Per column: the sum of (w - zero point) over its k values.
  packed.sums.assign(n, 0);
  std::vector<std::int64_t>& sums = packed.sums;
  parallel_for(threads, (n + 255) / 256, 1, [&](std::size_t begin, std::size_t end) {
    const std::size_t first = begin * 256, last = std::min(n, end * 256);
    std::vector<std::int32_t> totals(last - first, 0);
    for (std::size_t p = 0; p < k; ++p) {
      const std::uint8_t* row = rows + p * n;
      if (unsigned_weights) {
        for (std::size_t j = first; j < last; ++j) totals[j - first] += row[j];
      } else {
        for (std::size_t j = first; j < last; ++j) totals[j - first] += static_cast<std::int8_t>(row[j]);
      }
    }
    for (std::size_t j = first; j < last; ++j) {
      sums[j] = totals[j - first] - static_cast<std::int64_t>(k) * zero[zero.size() == 1 ? 0 : j];
    }
  });
  return packed;
}

bool direct_integer_gemm_packs(const Tensor& b) {
  return cpu_has_avx512_vnni() && b.rank() == 2 && (b.dtype() == onnx::TensorProto::UINT8 || b.dtype() == onnx::TensorProto::INT8) &&
         b.shape()[0] > 0 && b.shape()[1] > 0;
}

bool direct_integer_gemm_applies(const Tensor& a, const Tensor& b) {
  return a.dtype() == onnx::TensorProto::UINT8 && direct_integer_gemm_packs(b);
}

namespace {

std::shared_ptr<const PackedWeights> packed_gemm_weights(const KernelContext& ctx, const Tensor& b,
                                                         const std::vector<std::int32_t>& b_zero,
                                                         std::array<std::size_t, 2> weight_inputs) {
  return ctx.from_constants<PackedWeights>(weight_inputs, [&] { return pack_matrix(ctx.threads(), b, b_zero); });
}

}  // namespace

void prepare_direct_integer_gemm(const KernelContext& ctx, const Tensor& b, const std::vector<std::int32_t>& b_zero,
                                 std::array<std::size_t, 2> weight_inputs) {
  if (direct_integer_gemm_packs(b) && ctx.inputs_are_constant(weight_inputs)) packed_gemm_weights(ctx, b, b_zero, weight_inputs);
}

// The product is the direct convolution's 1x1 case: a's rows are positions, its k values their
// channels (already adjacent), b's columns the outputs.
void direct_integer_gemm(const KernelContext& ctx, const std::uint8_t* a, std::size_t rows, std::size_t k,
                         std::int32_t a_zero, const Tensor& b, const std::vector<std::int32_t>& b_zero,
                         std::array<std::size_t, 2> weight_inputs, std::int32_t* c) {
  const auto n = static_cast<std::size_t>(b.shape()[1]);
  const std::shared_ptr<const PackedWeights> packed_once = packed_gemm_weights(ctx, b, b_zero, weight_inputs);
  const PackedWeights& packed = *packed_once;
  const Corrections correction = corrections(packed, b_zero, a_zero);
  const std::size_t padded_k = packed.quads * 4;
  // a's rows padded to whole quads with zeros (they add nothing to either sum) when k needs it.
  buffers::Scratch<std::uint8_t> padded(padded_k == k ? 0 : rows * padded_k);
  if (padded_k != k) {
    for (std::size_t r = 0; r < rows; ++r) {
      std::copy(a + r * k, a + (r + 1) * k, padded.get() + r * padded_k);
      std::fill(padded.get() + r * padded_k + k, padded.get() + (r + 1) * padded_k, std::uint8_t{0});
    }
  }
  const std::uint8_t* const rows_in = padded_k == k ? a : padded.get();
  std::vector<std::uint32_t> row_sums(rows, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* row = a + r * k;
    for (std::size_t p = 0; p < k; ++p) row_sums[r] += row[p];
  }
  // Tiles of up to 256 rows by 64 columns, each on one thread: each tile's packed weights are
  // read once, the rows (a transformer's 128 x 768 bytes) stay in cache across tiles, and a
  // 768- or 3072-wide product splits into 12 or 48 tiles. (Tiles of 48 rows by every column,
  // three for 128 rows, left a thread idle a third of the time; 48 x 64 tiles read the weights
  // three times and took 71 ms where these take 45 on the quantized BERT.)
  const std::int64_t tap = 0;
  constexpr std::size_t kRowsPerTile = 256;
  constexpr std::size_t kColumnsPerTile = 64;
  const std::size_t row_tiles = (rows + kRowsPerTile - 1) / kRowsPerTile;
  const std::size_t column_tiles = (packed.m16 + kColumnsPerTile - 1) / kColumnsPerTile;
  parallel_for(ctx.threads(), row_tiles * column_tiles, 1, [&](std::size_t begin, std::size_t end) {
    buffers::Scratch<std::int32_t> products(kRowsPerTile * packed.m16);
    for (std::size_t tile = begin; tile < end; ++tile) {
      const std::size_t first = (tile / column_tiles) * kRowsPerTile;
      const std::size_t count = std::min(kRowsPerTile, rows - first);
      const std::size_t column_begin = (tile % column_tiles) * kColumnsPerTile;
      const std::size_t column_end = std::min(packed.m16, column_begin + kColumnsPerTile);
      u8s8_conv_row_avx512vnni(rows_in + first * padded_k, static_cast<std::int64_t>(padded_k), &tap, 1, packed.quads,
                               packed.bytes.get(), packed.m16, static_cast<std::int64_t>(count), products.get(),
                               column_begin, column_end);
      for (std::size_t r = 0; r < count; ++r) {
        const std::uint32_t row_sum = row_sums[first + r];
        const std::int32_t* sums = products.get() + r * packed.m16;
        std::int32_t* out = c + (first + r) * n;
        for (std::size_t j = column_begin; j < std::min(n, column_end); ++j) {
          out[j] = static_cast<std::int32_t>(correction.apply(j, sums[j], row_sum));
        }
      }
    }
  });
}

void prepare_integer_conv(const KernelContext& ctx, const Tensor& w, const Tensor* w_zero_point,
                          std::array<std::size_t, 2> weight_inputs) {
  // x's type and size are known at run time only: where the run does not take the direct path,
  // the packed copy goes unused.
  if (!direct_path_packs(ctx.attr_int("group", 1), w) || !ctx.inputs_are_constant(weight_inputs)) return;
  packed_conv_weights(ctx, w, zero_point_values(ctx, w_zero_point, w, static_cast<std::size_t>(w.shape()[0])),
                      weight_inputs);
}

IntegerConv integer_conv(const KernelContext& ctx, const Tensor& x, const Tensor* x_zero_point, const Tensor& w,
                         const Tensor* w_zero_point, std::array<std::size_t, 2> weight_inputs) {
  const ConvLayout layout = conv_layout(ctx, x.shape(), w.shape());
  const WindowGeometry& g = layout.geometry;
  if (x_zero_point != nullptr && x_zero_point->size() != 1) ctx.fail("x_zero_point must be a scalar");
  if (direct_path_applies(layout, x, w)) {
    return direct_integer_conv(ctx, layout, x, zero_point_values(ctx, x_zero_point, x, 1)[0], w,
                               zero_point_values(ctx, w_zero_point, w, layout.out_channels), weight_inputs);
  }
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
  const double largest_product = static_cast<double>(largest_x) * static_cast<double>(largest_w);
  if (depthwise_sums(ctx, layout, xf.get(), wf.get(), largest_product, result.sums.mutable_data<std::int32_t>().data())) {
    return result;
  }
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
