#include "runtime/kernels/nn_window.h"

#include <algorithm>
#include <string>

namespace onnx_fp16::runtime::nn {

namespace {

std::size_t product(const std::vector<std::int64_t>& values) {
  std::size_t p = 1;
  for (const auto v : values) p *= static_cast<std::size_t>(v);
  return p;
}

std::string ints_text(const std::vector<std::int64_t>& values) { return shape_to_string(values); }

}  // namespace

std::size_t WindowGeometry::input_size() const { return product(input); }
std::size_t WindowGeometry::output_size() const { return product(output); }
std::size_t WindowGeometry::kernel_size() const { return product(kernel); }

std::vector<std::int64_t> spatial_dims(const KernelContext& ctx, const Shape& shape, bool allow_no_spatial) {
  if (shape.size() < (allow_no_spatial ? 2u : 3u)) {
    ctx.fail("expects an input of shape [N, C, D1, ...], got " + shape_to_string(shape));
  }
  return {shape.begin() + 2, shape.end()};
}

std::vector<std::int64_t> per_axis_attribute(const KernelContext& ctx, const char* name, std::size_t rank,
                                             std::int64_t fallback) {
  auto values = ctx.attr_ints(name, {});
  if (values.empty()) return std::vector<std::int64_t>(rank, fallback);
  if (values.size() != rank) {
    ctx.fail(std::string("attribute '") + name + "' has " + std::to_string(values.size()) + " values for " +
             std::to_string(rank) + " spatial axes");
  }
  return values;
}

WindowGeometry window_geometry(const KernelContext& ctx, const std::vector<std::int64_t>& input,
                               const std::vector<std::int64_t>& kernel, WindowOptions options) {
  const std::size_t rank = input.size();
  if (kernel.size() != rank) {
    ctx.fail("kernel shape " + ints_text(kernel) + " does not match the input's " + std::to_string(rank) +
             " spatial axes");
  }
  WindowGeometry g;
  g.input = input;
  g.kernel = kernel;
  g.strides = per_axis_attribute(ctx, "strides", rank, 1);
  g.dilations =
      options.allow_dilations ? per_axis_attribute(ctx, "dilations", rank, 1) : std::vector<std::int64_t>(rank, 1);
  const bool ceil_mode = options.allow_ceil_mode && ctx.attr_int("ceil_mode", 0) != 0;
  for (std::size_t i = 0; i < rank; ++i) {
    if (g.kernel[i] < 1 || g.strides[i] < 1 || g.dilations[i] < 1) {
      ctx.fail("kernel " + ints_text(g.kernel) + ", strides " + ints_text(g.strides) + " and dilations " +
               ints_text(g.dilations) + " must be positive");
    }
  }

  std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  if (auto_pad.empty()) auto_pad = "NOTSET";  // some exporters write an empty string
  g.pads_begin.assign(rank, 0);
  g.pads_end.assign(rank, 0);
  g.output.assign(rank, 0);

  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (std::size_t i = 0; i < rank; ++i) {
      g.output[i] = (input[i] + g.strides[i] - 1) / g.strides[i];
      const std::int64_t total = std::max<std::int64_t>(0, (g.output[i] - 1) * g.strides[i] + g.extent(i) - input[i]);
      const std::int64_t small = total / 2;
      g.pads_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pads_end[i] = total - g.pads_begin[i];
    }
    return g;
  }
  if (auto_pad == "NOTSET") {
    const auto pads = ctx.attr_ints("pads", {});
    if (!pads.empty()) {
      if (pads.size() != 2 * rank) {
        ctx.fail("attribute 'pads' has " + std::to_string(pads.size()) + " values, expected " +
                 std::to_string(2 * rank));
      }
      for (std::size_t i = 0; i < rank; ++i) {
        g.pads_begin[i] = pads[i];
        g.pads_end[i] = pads[rank + i];
        if (pads[i] < 0 || pads[rank + i] < 0) ctx.fail("negative pads " + ints_text(pads));
      }
    }
  } else if (auto_pad != "VALID") {
    ctx.fail("unknown auto_pad '" + auto_pad + "'");
  }
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t span = input[i] + g.pads_begin[i] + g.pads_end[i] - g.extent(i);
    if (span < 0) {
      ctx.fail("the window (extent " + std::to_string(g.extent(i)) + ") is larger than the padded input along axis " +
               std::to_string(i + 2));
    }
    std::int64_t out = (ceil_mode ? span + g.strides[i] - 1 : span) / g.strides[i] + 1;
    // A last window that would start in the end padding reads no input: ceil_mode drops it.
    if (ceil_mode && (out - 1) * g.strides[i] >= input[i] + g.pads_begin[i]) --out;
    g.output[i] = out;
  }
  return g;
}

ConvLayout conv_layout(const KernelContext& ctx, const Shape& x, const Shape& w) {
  const auto spatial = spatial_dims(ctx, x);
  if (w.size() != x.size()) {
    ctx.fail("weights of shape " + shape_to_string(w) + " do not match an input of shape " + shape_to_string(x));
  }
  ConvLayout layout;
  const std::int64_t group = ctx.attr_int("group", 1);
  if (group < 1) ctx.fail("group must be positive, got " + std::to_string(group));
  layout.group = static_cast<std::size_t>(group);
  layout.batch = static_cast<std::size_t>(x[0]);
  layout.in_channels = static_cast<std::size_t>(x[1]);
  layout.out_channels = static_cast<std::size_t>(w[0]);
  if (layout.in_channels % layout.group != 0 || layout.out_channels % layout.group != 0 || w[1] * group != x[1]) {
    ctx.fail("input " + shape_to_string(x) + " and weights " + shape_to_string(w) + " do not fit group " +
             std::to_string(group));
  }
  const std::vector<std::int64_t> kernel(w.begin() + 2, w.end());
  const auto declared = ctx.attr_ints("kernel_shape", {});
  if (!declared.empty() && declared != kernel) {
    ctx.fail("kernel_shape " + ints_text(declared) + " does not match weights of shape " + shape_to_string(w));
  }
  layout.geometry = window_geometry(ctx, spatial, kernel, {.allow_ceil_mode = false, .allow_dilations = true});
  layout.output_shape = {x[0], w[0]};
  layout.output_shape.insert(layout.output_shape.end(), layout.geometry.output.begin(), layout.geometry.output.end());
  return layout;
}

AxisTaps axis_taps(const WindowGeometry& g, std::size_t axis, std::int64_t o) {
  AxisTaps taps;
  const std::int64_t d = g.dilations[axis];
  const std::int64_t k = g.kernel[axis];
  const std::int64_t in = g.input[axis];
  taps.first = o * g.strides[axis] - g.pads_begin[axis];
  // Tap j reads first + j * d; the valid ones satisfy 0 <= first + j * d < in.
  const auto first_at_least = [&](std::int64_t bound) {  // smallest j with first + j*d >= bound
    const std::int64_t need = bound - taps.first;
    return need <= 0 ? std::int64_t{0} : (need + d - 1) / d;
  };
  taps.k_begin = std::min(k, first_at_least(0));
  taps.k_end = std::max(taps.k_begin, std::min(k, first_at_least(in)));
  const std::int64_t padded_begin = std::min(k, first_at_least(-g.pads_begin[axis]));
  const std::int64_t padded_end = std::max(padded_begin, std::min(k, first_at_least(in + g.pads_end[axis])));
  taps.padded_count = padded_end - padded_begin;
  return taps;
}

}  // namespace onnx_fp16::runtime::nn
