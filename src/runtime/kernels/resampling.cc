// Resize (opset 10, and 11 on: every mode, coordinate_transformation_mode and nearest_mode,
// scales or sizes, tf_crop_and_resize's roi) and Upsample (7: scales attribute, 9: input).
// resize_taps.h computes each axis' taps; here they are combined over all axes. Linear and
// cubic accumulate in the compute type (float32 for float16) and round once; nearest copies
// values unchanged.
#include <algorithm>
#include <cmath>
#include <string>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/resize_taps.h"
#include "runtime/parallel.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

namespace {

using nn::AxisSampling;
using nn::Interpolation;
using nn::ResizeSettings;

struct ResizePlan {
  ResizeSettings settings;
  Shape output_shape;
  std::vector<double> scales;  // per axis
  std::vector<double> roi;     // starts then ends, per axis; empty unless tf_crop_and_resize
  double extrapolation_value = 0;
  bool scales_from_sizes = false;  // the scales are output / input (Resize's sizes input)
};

// The settings of Upsample and Resize-10: asymmetric coordinates and the legacy nearest rule.
ResizeSettings legacy_settings(const KernelContext& ctx) {
  ResizeSettings s;
  const std::string mode = ctx.attr_string("mode", "nearest");
  if (!nn::parse_interpolation(mode, s.mode) || s.mode == Interpolation::cubic) ctx.fail("unknown mode '" + mode + "'");
  s.coordinates = nn::CoordinateMode::asymmetric;
  s.nearest = nn::NearestMode::legacy;
  return s;
}

ResizeSettings resize11_settings(const KernelContext& ctx) {
  ResizeSettings s;
  const std::string mode = ctx.attr_string("mode", "nearest");
  if (!nn::parse_interpolation(mode, s.mode) || mode == "bilinear" || mode == "trilinear") {
    ctx.fail("unknown mode '" + mode + "'");
  }
  const std::string coordinates = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  if (!nn::parse_coordinate_mode(coordinates, s.coordinates)) {
    ctx.fail("unknown coordinate_transformation_mode '" + coordinates + "'");
  }
  const std::string nearest = ctx.attr_string("nearest_mode", "round_prefer_floor");
  if (!nn::parse_nearest_mode(nearest, s.nearest)) ctx.fail("unknown nearest_mode '" + nearest + "'");
  s.cubic_a = ctx.attr_float("cubic_coeff_a", -0.75f);
  s.exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
  // Opset 18's additions, which this kernel does not implement: refuse rather than ignore.
  if (ctx.attr_int("antialias", 0) != 0) ctx.fail("antialias is not supported");
  if (ctx.has_attribute("axes")) ctx.fail("the axes attribute is not supported");
  if (ctx.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") {
    ctx.fail("keep_aspect_ratio_policy other than 'stretch' is not supported");
  }
  return s;
}

// Output sizes floor(input * scale), the way the reference computes them (in double).
void set_shape_from_scales(const KernelContext& ctx, const Shape& in, std::vector<float> scales, ResizePlan& plan) {
  if (scales.size() != in.size()) {
    ctx.fail(std::to_string(scales.size()) + " scales for an input of rank " + std::to_string(in.size()));
  }
  for (std::size_t a = 0; a < in.size(); ++a) {
    if (!(scales[a] > 0)) ctx.fail("scales must be positive");
    plan.scales.push_back(scales[a]);
    plan.output_shape.push_back(
        static_cast<std::int64_t>(std::floor(static_cast<double>(scales[a]) * static_cast<double>(in[a]))));
  }
}

ResizePlan legacy_plan(const KernelContext& ctx, const Shape& in, std::vector<float> scales) {
  ResizePlan plan;
  plan.settings = legacy_settings(ctx);
  set_shape_from_scales(ctx, in, std::move(scales), plan);
  return plan;
}

ResizePlan resize11_plan(const KernelContext& ctx, const Shape& in) {
  ResizePlan plan;
  plan.settings = resize11_settings(ctx);
  plan.extrapolation_value = ctx.attr_float("extrapolation_value", 0.0f);
  const Tensor* roi = ctx.optional_input(1);
  const Tensor* scales = ctx.optional_input(2);
  const Tensor* sizes = ctx.optional_input(3);
  if (sizes != nullptr && sizes->size() > 0) {
    if (scales != nullptr && scales->size() > 0) ctx.fail("only one of scales and sizes may be given");
    plan.output_shape = to_int64_vector(*sizes);
    plan.scales_from_sizes = true;
    if (plan.output_shape.size() != in.size()) {
      ctx.fail(std::to_string(sizes->size()) + " sizes for an input of rank " + std::to_string(in.size()));
    }
    for (std::size_t a = 0; a < in.size(); ++a) {
      if (plan.output_shape[a] < 0) ctx.fail("negative size in " + shape_to_string(plan.output_shape));
      plan.scales.push_back(in[a] == 0 ? 1.0 : static_cast<double>(plan.output_shape[a]) / static_cast<double>(in[a]));
    }
  } else if (scales != nullptr && scales->size() > 0) {
    set_shape_from_scales(ctx, in, to_float_vector(*scales), plan);
  } else {
    ctx.fail("needs scales or sizes");
  }
  if (plan.settings.coordinates == nn::CoordinateMode::tf_crop_and_resize) {
    if (roi == nullptr || roi->size() != 2 * in.size()) {
      ctx.fail("tf_crop_and_resize needs an roi of " + std::to_string(2 * in.size()) + " values");
    }
    plan.roi = to_double_vector(*roi);
  }
  return plan;
}

// Each axis' sampling, and whether any axis maps outside the input (tf_crop_and_resize).
struct Sampling {
  std::vector<AxisSampling> axes;
  bool may_extrapolate = false;
};

Sampling sample_axes(const KernelContext& ctx, const Shape& in, const ResizePlan& plan) {
  Sampling sampling;
  const std::size_t rank = in.size();
  for (std::size_t a = 0; a < rank; ++a) {
    if (in[a] == 0 && plan.output_shape[a] > 0) ctx.fail("cannot resize an empty axis to a non-empty one");
    const double start = plan.roi.empty() ? 0.0 : plan.roi[a];
    const double end = plan.roi.empty() ? 1.0 : plan.roi[rank + a];
    sampling.axes.push_back(nn::sample_axis(plan.settings, in[a], plan.output_shape[a], plan.scales[a], start, end));
    for (const char outside : sampling.axes.back().outside) sampling.may_extrapolate |= outside != 0;
  }
  return sampling;
}

// Calls row(out_offset, outer_outside, outer_position) for every row of the output (all axes
// but the innermost), outer_position[a] being the row's index along outer axis a.
template <typename Row>
void for_each_output_row(const Shape& out, const Sampling& sampling, Row&& row) {
  const std::size_t rank = out.size();
  const auto inner = static_cast<std::size_t>(out[rank - 1]);
  const std::size_t total = element_count(out);
  std::vector<std::size_t> o(rank - 1, 0);
  for (std::size_t offset = 0; inner > 0 && offset < total; offset += inner) {
    bool outside = false;
    for (std::size_t a = 0; a + 1 < rank; ++a) outside = outside || sampling.axes[a].outside[o[a]] != 0;
    row(offset, outside, o);
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++o[a] < static_cast<std::size_t>(out[a])) break;
      o[a] = 0;
    }
  }
}

// Nearest: a gather, values copied unchanged (any numeric or bool type).
void resample_nearest(KernelContext& ctx, const Tensor& x, const ResizePlan& plan, const Sampling& sampling) {
  const Shape& in = x.shape();
  const std::size_t rank = in.size();
  std::vector<std::int64_t> strides(rank, 1);
  for (std::size_t a = rank; a-- > 1;) strides[a - 1] = strides[a] * in[a];
  // The input offset each output index reads along each axis.
  std::vector<std::vector<std::int64_t>> offsets(rank);
  for (std::size_t a = 0; a < rank; ++a) {
    const AxisSampling& axis = sampling.axes[a];
    for (std::size_t o = 0; o + 1 < axis.begin.size(); ++o) {
      offsets[a].push_back(axis.begin[o] == axis.begin[o + 1] ? 0 : axis.index[axis.begin[o]] * strides[a]);
    }
  }
  const AxisSampling& last = sampling.axes[rank - 1];
  dispatch<NumericAndBoolTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    Tensor y = Tensor::uninitialized(x.dtype(), plan.output_shape);
    auto yv = y.mutable_data<S>();
    const auto xv = x.data<S>();
    const S extrapolated = convert_value<S>(plan.extrapolation_value);
    for_each_output_row(plan.output_shape, sampling, [&](std::size_t out, bool outside, const auto& o) {
      std::int64_t base = 0;
      for (std::size_t a = 0; a + 1 < rank; ++a) base += offsets[a][o[a]];
      const auto& inner = offsets[rank - 1];
      for (std::size_t j = 0; j < inner.size(); ++j) {
        yv[out + j] = (outside || last.outside[j] != 0) ? extrapolated : xv[static_cast<std::size_t>(base + inner[j])];
      }
    });
    ctx.set_output(0, std::move(y));
  });
}

// Whether an axis' sampling reads input index o, whole, for every output index o.
bool is_identity(const AxisSampling& axis, std::int64_t in) {
  if (static_cast<std::int64_t>(axis.begin.size()) != in + 1) return false;
  for (std::int64_t o = 0; o < in; ++o) {
    const auto k = static_cast<std::size_t>(o);
    if (axis.begin[k + 1] - axis.begin[k] != 1 || axis.index[axis.begin[k]] != o || axis.weight[axis.begin[k]] != 1.0) {
      return false;
    }
  }
  return true;
}

// Linear / cubic: separable, so one axis at a time (the shrinking ones first, to keep the
// intermediates small), each pass a weighted sum of whole inner rows. Intermediates stay in
// the compute type (float32 for float16; double for integer tensors), and the output is
// rounded once at the end.
void resample_separable(KernelContext& ctx, const Tensor& x, const ResizePlan& plan, const Sampling& sampling) {
  const Shape& in = x.shape();
  const std::size_t rank = in.size();
  std::vector<std::size_t> order;
  for (std::size_t a = 0; a < rank; ++a) {
    if (!is_identity(sampling.axes[a], in[a])) order.push_back(a);
  }
  const auto ratio = [&](std::size_t a) {
    return static_cast<double>(plan.output_shape[a]) / static_cast<double>(std::max<std::int64_t>(in[a], 1));
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t p, std::size_t q) { return ratio(p) < ratio(q); });
  dispatch<NumericTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    using A = std::conditional_t<is_float_storage_v<S>, C, double>;  // integers interpolate in double
    std::vector<A> current;
    {
      const InputValues<S> xv(x);
      current.reserve(xv.size());
      for (const auto v : xv.span()) current.push_back(static_cast<A>(v));
    }
    Shape shape = in;
    std::vector<A> next;
    for (const std::size_t a : order) {
      const AxisSampling& axis = sampling.axes[a];
      std::size_t outer = 1;
      std::size_t inner = 1;
      for (std::size_t d = 0; d < a; ++d) outer *= static_cast<std::size_t>(shape[d]);
      for (std::size_t d = a + 1; d < rank; ++d) inner *= static_cast<std::size_t>(shape[d]);
      const auto n_in = static_cast<std::size_t>(shape[a]);
      const auto n_out = static_cast<std::size_t>(plan.output_shape[a]);
      next.assign(outer * n_out * inner, A{0});
      for (std::size_t p = 0; p < outer; ++p) {
        for (std::size_t o = 0; o < n_out; ++o) {
          A* dst = next.data() + (p * n_out + o) * inner;
          for (std::size_t t = axis.begin[o]; t < axis.begin[o + 1]; ++t) {
            const A w = static_cast<A>(axis.weight[t]);
            const A* src = current.data() + (p * n_in + static_cast<std::size_t>(axis.index[t])) * inner;
            for (std::size_t i = 0; i < inner; ++i) dst[i] += w * src[i];
          }
        }
      }
      current.swap(next);
      shape[a] = plan.output_shape[a];
    }
    OutputValues<S> y(plan.output_shape);
    for (std::size_t i = 0; i < current.size(); ++i) y[i] = convert_value<C>(current[i]);
    if (sampling.may_extrapolate) {
      const C extrapolated = convert_value<C>(plan.extrapolation_value);
      const AxisSampling& last = sampling.axes[rank - 1];
      for_each_output_row(plan.output_shape, sampling, [&](std::size_t out, bool outside, const auto&) {
        for (std::size_t j = 0; j < last.outside.size(); ++j) {
          if (outside || last.outside[j] != 0) y[out + j] = extrapolated;
        }
      });
    }
    ctx.set_output(0, std::move(y).finish());
  });
}

// Linear resampling of the last two axes in ONNX Runtime's arithmetic. The spec fixes where an
// output samples and with which weights, not the float arithmetic: the general path (double
// coordinates, one axis at a time) puts a bilinear upsampling an ulp away from ORT's on a fifth of
// its values, and a DynamicQuantizeLinear after it (dynamically quantized segmentation models
// upsample before every decoder Conv) turns an ulp in its input's range into another scale for
// the whole tensor: a quantized U2-Net's mask then differed from ORT's by up to 0.6 (a generated
// one, bench/evaluator_bench's quantized-unet). So the common case computes as ORT's CPU kernel
// does: each source coordinate in float from a float scale (output / input in float when sizes
// are given), clamped into the input, weights |coordinate - neighbour| in float (one half each
// where both neighbours are the last index), and per output the four products summed in one
// fixed order. (Built without FMA contraction: this target's baseline has no FMA.)
using BilinearTypes = TypeList<float, Float16, BFloat16>;  // computed in float32

struct BilinearTaps {
  std::vector<std::int64_t> low, high;  // the neighbours below and above
  std::vector<float> low_weight, high_weight;
};

// Whether `plan` is a linear resize of at most the last two axes that bilinear_taps covers.
bool is_bilinear_of_last_two_axes(const Shape& in, const ResizePlan& plan) {
  const ResizeSettings& s = plan.settings;
  if (s.mode != Interpolation::linear || s.exclude_outside || in.size() < 2) return false;
  if (s.coordinates != nn::CoordinateMode::half_pixel && s.coordinates != nn::CoordinateMode::pytorch_half_pixel &&
      s.coordinates != nn::CoordinateMode::asymmetric && s.coordinates != nn::CoordinateMode::align_corners) {
    return false;
  }
  const std::size_t rank = in.size();
  for (std::size_t a = 0; a < rank; ++a) {
    if (a + 2 < rank ? plan.output_shape[a] != in[a] : in[a] <= 0) return false;
    // align_corners and pytorch_half_pixel read the resized length: ORT takes the output's,
    // the spec scale x input, which differ when given scales do not multiply to a whole length.
    // There the spec's positions, on the general path.
    const bool reads_length = s.coordinates == nn::CoordinateMode::align_corners ||
                              s.coordinates == nn::CoordinateMode::pytorch_half_pixel;
    if (a + 2 >= rank && reads_length && !plan.scales_from_sizes &&
        plan.scales[a] * static_cast<double>(in[a]) != static_cast<double>(plan.output_shape[a])) {
      return false;
    }
  }
  return true;
}

BilinearTaps bilinear_taps(const ResizePlan& plan, std::int64_t in, std::int64_t out, double plan_scale) {
  const float scale = plan.scales_from_sizes ? static_cast<float>(out) / static_cast<float>(in)
                                             : static_cast<float>(plan_scale);
  BilinearTaps taps;
  for (std::int64_t o = 0; o < out; ++o) {
    const auto resized = static_cast<float>(o);
    float x = resized;
    if (scale != 1.0f) {
      switch (plan.settings.coordinates) {
        case nn::CoordinateMode::half_pixel:
          x = (resized + 0.5f) / scale - 0.5f;
          break;
        case nn::CoordinateMode::pytorch_half_pixel:
          x = out > 1 ? (resized + 0.5f) / scale - 0.5f : 0.0f;
          break;
        case nn::CoordinateMode::asymmetric:
          x = resized / scale;
          break;
        default:  // align_corners (is_bilinear_of_last_two_axes admits no other)
          x = out == 1 ? 0.0f : resized * static_cast<float>(in - 1) / static_cast<float>(out - 1);
          break;
      }
    }
    x = std::max(0.0f, std::min(x, static_cast<float>(in - 1)));
    const std::int64_t low = std::min(static_cast<std::int64_t>(x), in - 1);
    const std::int64_t high = std::min(low + 1, in - 1);
    taps.low.push_back(low);
    taps.high.push_back(high);
    taps.low_weight.push_back(low == high ? 0.5f : std::fabs(x - static_cast<float>(high)));
    taps.high_weight.push_back(low == high ? 0.5f : std::fabs(x - static_cast<float>(low)));
  }
  return taps;
}

void resample_bilinear(KernelContext& ctx, const Tensor& x, const ResizePlan& plan) {
  const Shape& in = x.shape();
  const std::size_t rank = in.size();
  const std::int64_t in_h = in[rank - 2], in_w = in[rank - 1];
  const std::int64_t out_h = plan.output_shape[rank - 2], out_w = plan.output_shape[rank - 1];
  const BilinearTaps rows = bilinear_taps(plan, in_h, out_h, plan.scales[rank - 2]);
  const BilinearTaps cols = bilinear_taps(plan, in_w, out_w, plan.scales[rank - 1]);
  const std::size_t planes = element_count(in) / static_cast<std::size_t>(in_h * in_w);
  dispatch<BilinearTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> xv(x);
    OutputValues<S> y(plan.output_shape);
    const C* src = xv.span().data();
    C* dst = y.span().data();
    const auto in_plane = static_cast<std::size_t>(in_h * in_w);
    const auto out_plane = static_cast<std::size_t>(out_h * out_w);
    const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(out_plane, 1));
    parallel_for(ctx.threads(), planes, grain, [&](std::size_t begin, std::size_t end) {
      for (std::size_t p = begin; p < end; ++p) {
        const C* plane = src + p * in_plane;
        C* out = dst + p * out_plane;
        for (std::int64_t i = 0; i < out_h; ++i) {
          const auto r = static_cast<std::size_t>(i);
          const C* top = plane + rows.low[r] * in_w;
          const C* bottom = plane + rows.high[r] * in_w;
          const C wt = rows.low_weight[r];
          const C wb = rows.high_weight[r];
          for (std::int64_t j = 0; j < out_w; ++j) {
            const auto c = static_cast<std::size_t>(j);
            const C wl = cols.low_weight[c];
            const C wr = cols.high_weight[c];
            const std::int64_t l = cols.low[c], h = cols.high[c];
            *out++ = wl * wt * top[l] + wr * wt * top[h] + wl * wb * bottom[l] + wr * wb * bottom[h];
          }
        }
      }
    });
    ctx.set_output(0, std::move(y).finish());
  });
}

void resample(KernelContext& ctx, const Tensor& x, const ResizePlan& plan) {
  if (x.rank() == 0) ctx.fail("cannot resize a scalar");
  if (type_in(x.dtype(), BilinearTypes{}) && is_bilinear_of_last_two_axes(x.shape(), plan)) {
    resample_bilinear(ctx, x, plan);
    return;
  }
  const Sampling sampling = sample_axes(ctx, x.shape(), plan);
  if (plan.settings.mode == Interpolation::nearest) {
    resample_nearest(ctx, x, plan, sampling);
  } else {
    resample_separable(ctx, x, plan, sampling);
  }
}

void resize10_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  resample(ctx, x, legacy_plan(ctx, x.shape(), to_float_vector(ctx.input(1))));
}

void resize11_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  resample(ctx, x, resize11_plan(ctx, x.shape()));
}

void upsample7_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  resample(ctx, x, legacy_plan(ctx, x.shape(), ctx.attr_floats("scales")));
}

void upsample9_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  resample(ctx, x, legacy_plan(ctx, x.shape(), to_float_vector(ctx.input(1))));
}

}  // namespace

void register_resampling_kernels(KernelRegistry& r) {
  r.add("Resize", 10, resize10_kernel);
  r.add("Resize", 11, resize11_kernel);
  r.add("Upsample", 7, upsample7_kernel);
  r.add("Upsample", 9, upsample9_kernel, 9);  // deprecated from opset 10
}

}  // namespace onnx_fp16::runtime
