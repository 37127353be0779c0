// Resize's sampling, axis by axis: which input positions (taps) and weights make each output
// position, from the mode (nearest / linear / cubic), the coordinate_transformation_mode and
// nearest_mode. Resize is separable, so an output value is the sum over the product of its
// axes' taps; resampling.cc does that walk.
//
// The formulas follow the ONNX spec and its reference implementation (which resolves what the
// spec leaves open):
// - the "resized length" in align_corners / pytorch_half_pixel / tf_crop_and_resize is
//   scale * input_length, not the rounded output size (they differ when scales are given and
//   their product is not whole);
// - linear and cubic read positions beyond the edges as the edge value, unless
//   exclude_outside drops them and renormalises the remaining weights;
// - tf_crop_and_resize positions outside [0, length - 1] give extrapolation_value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace onnx_fp16::runtime::nn {

enum class Interpolation { nearest, linear, cubic };
enum class CoordinateMode {
  half_pixel,
  half_pixel_symmetric,
  pytorch_half_pixel,
  align_corners,
  asymmetric,
  tf_half_pixel_for_nn,
  tf_crop_and_resize,
};
enum class NearestMode {
  round_prefer_floor,
  round_prefer_ceil,
  floor,
  ceil,
  // Upsample and Resize-10, which had no nearest_mode: truncate when upsampling (scale >= 1),
  // round up when downsampling, as the runtimes of the time did.
  legacy,
};

struct ResizeSettings {
  Interpolation mode = Interpolation::nearest;
  CoordinateMode coordinates = CoordinateMode::half_pixel;
  NearestMode nearest = NearestMode::round_prefer_floor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

// Parsers of the attribute strings; they return false for an unknown name.
bool parse_interpolation(const std::string& name, Interpolation& mode);
bool parse_coordinate_mode(const std::string& name, CoordinateMode& mode);
bool parse_nearest_mode(const std::string& name, NearestMode& mode);

// The taps of every output index along one axis: output index o reads input indices
// index[begin[o] .. begin[o + 1]) with the matching weights, or nothing when outside[o]
// (tf_crop_and_resize beyond the input: the output is extrapolation_value).
struct AxisSampling {
  std::vector<std::size_t> begin;
  std::vector<std::int64_t> index;
  std::vector<double> weight;
  std::vector<char> outside;
};

// roi_start / roi_end are this axis' region (normalised coordinates), read by
// tf_crop_and_resize only.
AxisSampling sample_axis(const ResizeSettings& settings, std::int64_t input_length, std::int64_t output_length,
                         double scale, double roi_start, double roi_end);

}  // namespace onnx_fp16::runtime::nn
