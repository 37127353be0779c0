#include "runtime/kernels/resize_taps.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace onnx_fp16::runtime::nn {

namespace {

template <typename Enum, std::size_t N>
bool parse_name(const std::pair<const char*, Enum> (&names)[N], const std::string& name, Enum& value) {
  for (const auto& [text, candidate] : names) {
    if (name == text) {
      value = candidate;
      return true;
    }
  }
  return false;
}

}  // namespace

bool parse_interpolation(const std::string& name, Interpolation& mode) {
  // "bilinear" / "trilinear" are what some Upsample-7 exporters wrote for "linear".
  static const std::pair<const char*, Interpolation> names[] = {
      {"nearest", Interpolation::nearest},  {"linear", Interpolation::linear}, {"bilinear", Interpolation::linear},
      {"trilinear", Interpolation::linear}, {"cubic", Interpolation::cubic},
  };
  return parse_name(names, name, mode);
}

bool parse_coordinate_mode(const std::string& name, CoordinateMode& mode) {
  static const std::pair<const char*, CoordinateMode> names[] = {
      {"half_pixel", CoordinateMode::half_pixel},
      {"half_pixel_symmetric", CoordinateMode::half_pixel_symmetric},
      {"pytorch_half_pixel", CoordinateMode::pytorch_half_pixel},
      {"align_corners", CoordinateMode::align_corners},
      {"asymmetric", CoordinateMode::asymmetric},
      {"tf_half_pixel_for_nn", CoordinateMode::tf_half_pixel_for_nn},
      {"tf_crop_and_resize", CoordinateMode::tf_crop_and_resize},
  };
  return parse_name(names, name, mode);
}

bool parse_nearest_mode(const std::string& name, NearestMode& mode) {
  static const std::pair<const char*, NearestMode> names[] = {
      {"round_prefer_floor", NearestMode::round_prefer_floor},
      {"round_prefer_ceil", NearestMode::round_prefer_ceil},
      {"floor", NearestMode::floor},
      {"ceil", NearestMode::ceil},
  };
  return parse_name(names, name, mode);
}

namespace {

// The input coordinate that output index x maps to.
double original_coordinate(const ResizeSettings& s, double x, std::int64_t input_length, double scale, double roi_start,
                           double roi_end) {
  const auto in = static_cast<double>(input_length);
  const double resized = scale * in;  // the reference's "output width", see resize_taps.h
  switch (s.coordinates) {
    case CoordinateMode::half_pixel:
      return (x + 0.5) / scale - 0.5;
    case CoordinateMode::half_pixel_symmetric: {
      const double adjustment = std::floor(resized) / resized;
      const double center = in / 2;
      return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    }
    case CoordinateMode::pytorch_half_pixel:
      return resized > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CoordinateMode::align_corners:
      return resized == 1 ? 0.0 : x * (in - 1) / (resized - 1);
    case CoordinateMode::asymmetric:
      return x / scale;
    case CoordinateMode::tf_half_pixel_for_nn:
      return (x + 0.5) / scale;
    case CoordinateMode::tf_crop_and_resize:
      if (resized > 1) return roi_start * (in - 1) + x * (roi_end - roi_start) * (in - 1) / (resized - 1);
      return 0.5 * (roi_start + roi_end) * (in - 1);
  }
  return x;
}

std::int64_t nearest_index(NearestMode mode, double x, double scale) {
  const double below = std::floor(x);
  switch (mode) {
    case NearestMode::round_prefer_floor:
      return static_cast<std::int64_t>(x - below == 0.5 ? below : std::round(x));
    case NearestMode::round_prefer_ceil:
      return static_cast<std::int64_t>(x - below == 0.5 ? below + 1 : std::round(x));
    case NearestMode::floor:
      return static_cast<std::int64_t>(below);
    case NearestMode::ceil:
      return static_cast<std::int64_t>(std::ceil(x));
    case NearestMode::legacy:
      return static_cast<std::int64_t>(scale < 1 ? std::ceil(x) : std::trunc(x));
  }
  return static_cast<std::int64_t>(below);
}

// Keys' cubic convolution kernel at distance d (>= 0) with coefficient a.
double cubic_weight(double d, double a) {
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

}  // namespace

AxisSampling sample_axis(const ResizeSettings& s, std::int64_t input_length, std::int64_t output_length, double scale,
                         double roi_start, double roi_end) {
  AxisSampling out;
  out.begin.reserve(static_cast<std::size_t>(output_length) + 1);
  out.begin.push_back(0);
  const std::int64_t last = input_length - 1;
  const auto clamp = [last](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, std::max<std::int64_t>(last, 0)); };
  std::vector<std::int64_t> taps;
  std::vector<double> weights;
  for (std::int64_t o = 0; o < output_length; ++o) {
    const double x = original_coordinate(s, static_cast<double>(o), input_length, scale, roi_start, roi_end);
    const bool outside =
        s.coordinates == CoordinateMode::tf_crop_and_resize && (x < 0 || x > static_cast<double>(last));
    out.outside.push_back(outside ? 1 : 0);
    taps.clear();
    weights.clear();
    if (!outside) {
      if (s.mode == Interpolation::nearest) {
        taps.push_back(nearest_index(s.nearest, x, scale));
        weights.push_back(1.0);
      } else {
        const double below = std::floor(x);
        const double t = x - below;
        const auto x0 = static_cast<std::int64_t>(below);
        if (s.mode == Interpolation::linear) {
          taps = {x0, x0 + 1};
          weights = {1 - t, t};
        } else {
          taps = {x0 - 1, x0, x0 + 1, x0 + 2};
          weights = {cubic_weight(1 + t, s.cubic_a), cubic_weight(t, s.cubic_a), cubic_weight(1 - t, s.cubic_a),
                     cubic_weight(2 - t, s.cubic_a)};
        }
        if (s.exclude_outside) {
          double total = 0;
          for (std::size_t j = 0; j < taps.size(); ++j) {
            if (taps[j] < 0 || taps[j] > last) weights[j] = 0;
            total += weights[j];
          }
          if (total != 0) {
            for (auto& w : weights) w /= total;
          }
        }
      }
      for (std::size_t j = 0; j < taps.size(); ++j) {
        if (weights[j] == 0) continue;  // a zero weight adds nothing: skip the read
        out.index.push_back(clamp(taps[j]));
        out.weight.push_back(weights[j]);
      }
    }
    out.begin.push_back(out.index.size());
  }
  return out;
}

}  // namespace onnx_fp16::runtime::nn
