// Sliding-window geometry shared by the convolution and pooling kernels: how kernel_shape,
// strides, dilations, pads, auto_pad and ceil_mode turn an input's spatial size into an
// output's, and where each window starts. One place, so that Conv, MaxPool, AveragePool and
// LpPool agree on every corner of the ONNX spec (SAME_LOWER's odd padding, ceil_mode's last
// window).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/kernel.h"

namespace onnx_fp16::runtime::nn {

// Per spatial axis (the axes after N and C), everything a window walk needs.
struct WindowGeometry {
  std::vector<std::int64_t> input;   // input spatial sizes
  std::vector<std::int64_t> kernel;  // kernel sizes (taps per axis)
  std::vector<std::int64_t> strides;
  std::vector<std::int64_t> dilations;
  std::vector<std::int64_t> pads_begin;  // may exceed what auto_pad would give (explicit pads)
  std::vector<std::int64_t> pads_end;
  std::vector<std::int64_t> output;  // output spatial sizes

  std::size_t rank() const { return input.size(); }
  // Extent of one window: (kernel - 1) * dilation + 1.
  std::int64_t extent(std::size_t axis) const { return (kernel[axis] - 1) * dilations[axis] + 1; }
  // Product of input / output / kernel sizes.
  std::size_t input_size() const;
  std::size_t output_size() const;
  std::size_t kernel_size() const;
};

struct WindowOptions {
  bool allow_ceil_mode = false;  // pooling ops from the opset that added ceil_mode
  bool allow_dilations = true;   // MaxPool < 10, AveragePool < 19 and LpPool < 18 have none
};

// The geometry of a Conv/pool node over input spatial sizes `input` and kernel sizes `kernel`,
// from its strides, dilations, pads, auto_pad and (when allowed) ceil_mode attributes.
//   NOTSET: out = floor_or_ceil((in + pads - extent) / stride) + 1; with ceil_mode a window
//           that would start in the end padding is dropped (the spec's "sliding windows that
//           would start in the right padded region are ignored").
//   VALID:  no padding, out = floor((in - extent) / stride) + 1 (ceil with ceil_mode).
//   SAME_UPPER / SAME_LOWER: out = ceil(in / stride), total padding max(0, (out - 1) * stride
//           + extent - in), the odd unit at the end (UPPER) or at the beginning (LOWER).
// Throws (through ctx.fail) for inconsistent attribute lengths or an empty output.
WindowGeometry window_geometry(const KernelContext& ctx, const std::vector<std::int64_t>& input,
                               const std::vector<std::int64_t>& kernel, WindowOptions options);

// The spatial dims of a [N, C, D1, ...] shape; fails unless rank >= 3 (rank 2 is allowed with
// `allow_no_spatial` for global pools over [N, C]).
std::vector<std::int64_t> spatial_dims(const KernelContext& ctx, const Shape& shape, bool allow_no_spatial = false);

// An INTS attribute of one value per spatial axis, or `fallback` repeated; fails on a wrong length.
std::vector<std::int64_t> per_axis_attribute(const KernelContext& ctx, const char* name, std::size_t rank,
                                             std::int64_t fallback);

// A Conv node's shapes (ConvInteger and QLinearConv too): X [N, C, D...], W [M, C/group, k...].
struct ConvLayout {
  std::size_t batch = 0;
  std::size_t in_channels = 0;
  std::size_t out_channels = 0;
  std::size_t group = 1;
  WindowGeometry geometry;
  Shape output_shape;  // [N, M, out...]
};
// Checks the shapes against the group attribute and kernel_shape (when given) and computes the
// window geometry (no ceil_mode for convolutions).
ConvLayout conv_layout(const KernelContext& ctx, const Shape& x, const Shape& w);

// The taps of one output position along one axis: the input coordinates first + k * dilation
// for k in [0, kernel), of which those in [0, input) are `valid`.
struct AxisTaps {
  std::int64_t first = 0;         // input coordinate of tap 0 (may be negative: padding)
  std::int64_t k_begin = 0;       // first tap inside the input
  std::int64_t k_end = 0;         // one past the last tap inside the input
  std::int64_t padded_count = 0;  // taps inside [-pad_begin, input + pad_end): count_include_pad's divisor
};

// The taps of output index `o` along `axis`.
AxisTaps axis_taps(const WindowGeometry& g, std::size_t axis, std::int64_t o);

}  // namespace onnx_fp16::runtime::nn
