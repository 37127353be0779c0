// im2col and its adjoint col2im over any number of spatial axes: they turn a convolution into
// one matrix product (Conv: W x cols; ConvTranspose: W^T x X, then col2im).
//
// The column matrix has one row per (channel, kernel tap) and one column per output position:
//   cols[(c * kernel_size + tap) * output_size + o] = x[c][input coordinate of (o, tap)]
// where the coordinate along each axis is o * stride - pad_begin + k * dilation, and positions
// in the padding read `pad_value` (0, or the zero point's shifted value for integer convs).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/kernels/nn_window.h"
#include "runtime/parallel.h"

namespace onnx_fp16::runtime::nn {

namespace detail {

// The outputs j of a row, [lo, hi), whose input column first + j * stride lies inside
// [0, in_last); `count` outputs in all.
struct RowInterval {
  std::int64_t lo = 0;
  std::int64_t hi = 0;
};
inline RowInterval inside_interval(std::int64_t first, std::int64_t stride, std::int64_t in_last, std::int64_t count) {
  const std::int64_t lo = std::clamp<std::int64_t>(first >= 0 ? 0 : (-first + stride - 1) / stride, 0, count);
  const std::int64_t hi =
      std::clamp<std::int64_t>(in_last - first <= 0 ? 0 : (in_last - first + stride - 1) / stride, lo, count);
  return {lo, hi};
}

// One row of columns: src[first + j * stride] for j in `inside`, the pad value elsewhere.
template <typename T>
void copy_row(const T* src, std::int64_t first, std::int64_t stride, RowInterval inside, std::int64_t count,
              T pad_value, T* dst) {
  std::fill(dst, dst + inside.lo, pad_value);
  if (stride == 1) {
    std::copy(src + first + inside.lo, src + first + inside.hi, dst + inside.lo);
  } else {
    for (std::int64_t j = inside.lo; j < inside.hi; ++j) dst[j] = src[first + j * stride];
  }
  std::fill(dst + inside.hi, dst + count, pad_value);
}

// Calls visit(tap, out_base, in_base, valid, k_last) for every kernel tap and every row of the
// output (all output axes but the innermost, which the caller walks): out_base is the row's
// first output position, in_base the flattened input offset of the row's outer coordinates
// (the innermost axis' contribution left to the caller), valid false when an outer coordinate
// falls in the padding, k_last the tap's index along the innermost axis.
template <typename Visit>
void for_each_tap_and_row(const WindowGeometry& g, Visit&& visit) {
  const std::size_t rank = g.rank();
  std::vector<std::int64_t> in_strides(rank, 1);
  for (std::size_t a = rank - 1; a-- > 0;) in_strides[a] = in_strides[a + 1] * g.input[a + 1];
  const std::size_t kernel_size = g.kernel_size();
  const std::int64_t inner = g.output[rank - 1];
  const std::size_t rows = inner == 0 ? 0 : g.output_size() / static_cast<std::size_t>(inner);
  std::vector<std::int64_t> k(rank, 0);
  std::vector<std::int64_t> o(rank, 0);
  for (std::size_t tap = 0; tap < kernel_size; ++tap) {
    std::fill(o.begin(), o.end(), 0);
    for (std::size_t row = 0; row < rows; ++row) {
      std::int64_t in_base = 0;
      bool valid = true;
      for (std::size_t a = 0; a + 1 < rank; ++a) {
        const std::int64_t coord = o[a] * g.strides[a] - g.pads_begin[a] + k[a] * g.dilations[a];
        if (coord < 0 || coord >= g.input[a]) valid = false;
        in_base += coord * in_strides[a];
      }
      visit(tap, row * static_cast<std::size_t>(inner), in_base, valid, k[rank - 1]);
      for (std::size_t a = rank - 1; a-- > 0;) {  // next outer output position
        if (++o[a] < g.output[a]) break;
        o[a] = 0;
      }
    }
    for (std::size_t a = rank; a-- > 0;) {  // next kernel tap
      if (++k[a] < g.kernel[a]) break;
      k[a] = 0;
    }
  }
}

}  // namespace detail

// im2col over two spatial axes (what nearly every Conv is), the same values as the general path.
// Each (channel, tap) block of cols is one unit of work: the innermost axis' interval inside the
// input depends only on the tap, so it is computed once per block instead of once per output row
// (ResNet-50's last stage has rows of 7 values), and a Conv of few channels (an RGB stem: 3
// channels of 49 taps) still splits evenly over the threads.
template <typename T>
void im2col_2d(const T* x, std::size_t channels, const WindowGeometry& g, T pad_value, T* cols, int threads) {
  const std::int64_t height = g.input[0];
  const std::int64_t width = g.input[1];
  const std::int64_t out_height = g.output[0];
  const std::int64_t out_width = g.output[1];
  const std::int64_t kernel_width = g.kernel[1];
  const std::int64_t stride_h = g.strides[0];
  const std::int64_t stride_w = g.strides[1];
  const std::size_t taps = g.kernel_size();
  const std::size_t out_size = g.output_size();
  const std::size_t plane = g.input_size();
  auto block = [&](std::size_t unit) {  // unit = channel * taps + tap
    const std::size_t c = unit / taps;
    const auto tap = static_cast<std::int64_t>(unit % taps);
    const std::int64_t first_row = (tap / kernel_width) * g.dilations[0] - g.pads_begin[0];
    const std::int64_t first = (tap % kernel_width) * g.dilations[1] - g.pads_begin[1];
    const detail::RowInterval inside = detail::inside_interval(first, stride_w, width, out_width);
    const T* src_plane = x + c * plane;
    T* dst = cols + unit * out_size;
    for (std::int64_t oh = 0; oh < out_height; ++oh, dst += out_width) {
      const std::int64_t ih = oh * stride_h + first_row;
      if (ih < 0 || ih >= height) {
        std::fill(dst, dst + out_width, pad_value);
        continue;
      }
      detail::copy_row(src_plane + ih * width, first, stride_w, inside, out_width, pad_value, dst);
    }
  };
  // Below about 64K values per share, splitting costs more than it saves.
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 16) / std::max<std::size_t>(1, out_size));
  parallel_for(threads, channels * taps, grain, [&](std::size_t begin, std::size_t end) {
    for (std::size_t unit = begin; unit < end; ++unit) block(unit);
  });
}

// cols has channels * g.kernel_size() rows of g.output_size() values; x has channels planes of
// g.input_size() values. Channels are split over `threads` (each channel's rows are one
// contiguous block of cols, so threads write apart); the values do not depend on the split.
template <typename T>
void im2col(const T* x, std::size_t channels, const WindowGeometry& g, T pad_value, T* cols, int threads = 1) {
  const std::size_t rank = g.rank();
  if (rank == 2) {
    im2col_2d(x, channels, g, pad_value, cols, threads);
    return;
  }
  const std::int64_t inner = g.output[rank - 1];
  const std::int64_t stride = g.strides[rank - 1];
  const std::int64_t in_last = g.input[rank - 1];
  const std::size_t plane = g.input_size();
  const std::size_t out_size = g.output_size();
  const std::size_t kernel_size = g.kernel_size();
  // One channel's rows of cols: every tap, every output row. Along the innermost axis the
  // output positions j whose input coordinate first + j * stride falls inside [0, in_last) are
  // one interval [lo, hi): padding before and after it, a plain (strided) copy within.
  auto one_channel = [&](std::size_t c) {
    detail::for_each_tap_and_row(
        g, [&](std::size_t tap, std::size_t out_base, std::int64_t in_base, bool valid, std::int64_t k_last) {
          T* dst = cols + (c * kernel_size + tap) * out_size + out_base;
          if (!valid) {
            std::fill(dst, dst + inner, pad_value);
            return;
          }
          const std::int64_t first = k_last * g.dilations[rank - 1] - g.pads_begin[rank - 1];
          detail::copy_row(x + c * plane + in_base, first, stride, detail::inside_interval(first, stride, in_last, inner),
                           inner, pad_value, dst);
        });
  };
  // Below about 64K values per channel, splitting costs more than it saves.
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 16) / std::max<std::size_t>(1, kernel_size * out_size));
  parallel_for(threads, channels, grain, [&](std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) one_channel(c);
  });
}

// A convolution's column matrix is built and multiplied one band of output rows (along the
// first spatial axis) at a time, each band's columns at most kColumnBandBytes, instead of
// whole (Conv and ConvInteger both): PP-OCRv4 det's 3x3 convolutions over 96 channels at 80x80 had a 22 MB column matrix,
// written by im2col and read back by the product from beyond the caches, and faulted in fresh
// on a first run. Measured (2 threads, warm): det 14.5 -> 13.8 ms; ResNet-50 the same with
// 4 MB bands, 3% slower with 2 MB ones. The band depends on the shapes alone (never on the
// thread count), so the bits do not either.
inline constexpr std::size_t kColumnBandBytes = std::size_t{4} << 20;

struct ColumnBands {
  std::size_t rows = 1;      // output rows (first spatial axis) per band
  std::size_t row_size = 0;  // output positions per row
};

inline ColumnBands column_bands(const WindowGeometry& g, std::size_t column_bytes) {
  ColumnBands bands;
  const auto first_axis = static_cast<std::size_t>(std::max<std::int64_t>(g.output[0], 1));
  bands.row_size = g.output_size() / first_axis;
  const std::size_t row_bytes = std::max<std::size_t>(1, bands.row_size * column_bytes);
  bands.rows = std::clamp<std::size_t>(kColumnBandBytes / row_bytes, 1, first_axis);
  return bands;
}

// The geometry of output rows [first, first + rows) of g's first spatial axis (fewer at the
// end): the same windows, the padding moved so that output row 0 is g's row `first`.
inline WindowGeometry output_band(const WindowGeometry& g, std::int64_t first, std::int64_t rows) {
  WindowGeometry band = g;
  band.output[0] = std::min(rows, g.output[0] - first);
  band.pads_begin[0] = g.pads_begin[0] - first * g.strides[0];
  return band;
}

// The adjoint: y[c][coordinate of (o, tap)] += cols[(c * kernel_size + tap) * output_size + o],
// dropping what falls in the padding. Here g.input is the shape written (ConvTranspose's
// output) and g.output the shape of the columns (ConvTranspose's input).
template <typename T>
void col2im(const T* cols, std::size_t channels, const WindowGeometry& g, T* y) {
  const std::size_t rank = g.rank();
  const std::int64_t inner = g.output[rank - 1];
  const std::int64_t stride = g.strides[rank - 1];
  const std::int64_t in_last = g.input[rank - 1];
  const std::size_t plane = g.input_size();
  const std::size_t out_size = g.output_size();
  const std::size_t kernel_size = g.kernel_size();
  detail::for_each_tap_and_row(
      g, [&](std::size_t tap, std::size_t out_base, std::int64_t in_base, bool valid, std::int64_t k_last) {
        if (!valid) return;
        const std::int64_t first = k_last * g.dilations[rank - 1] - g.pads_begin[rank - 1];
        for (std::size_t c = 0; c < channels; ++c) {
          const T* src = cols + (c * kernel_size + tap) * out_size + out_base;
          T* dst = y + c * plane + in_base;
          for (std::int64_t j = 0; j < inner; ++j) {
            const std::int64_t coord = first + j * stride;
            if (coord >= 0 && coord < in_last) dst[coord] += src[j];
          }
        }
      });
}

}  // namespace onnx_fp16::runtime::nn
