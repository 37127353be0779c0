// float32 <-> float16 / bfloat16 conversion, bit-exact with numpy (IEEE round to nearest even),
// with the spec's constant clamping. Bulk functions use F16C when the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace onnx_fp16::half {

// Scalar conversions. float16: round to nearest even, overflow to +-inf, NaN stays NaN (quiet).
// bfloat16: round to nearest even, NaN stays NaN.
std::uint16_t float_to_half(float value);
float half_to_float(std::uint16_t bits);
std::uint16_t float_to_bfloat16(float value);
float bfloat16_to_float(std::uint16_t bits);

// The spec's clamping rule for constants: 0 < |x| < min_positive -> +-min_positive,
// max_finite < |x| < inf -> +-max_finite; 0, NaN, +-inf unchanged.
float clamp_constant(float value, float min_positive, float max_finite);

struct ClampRule {
  float min_positive = 1e-7f;
  float max_finite = 1e4f;
};

// The largest finite |x| of `values` (0 when there is none): whether clamp_constant's upper
// bound changes any of them (above max_finite), whether float16 can hold them (above 65504).
// On the bits, which vectorise where a maximum of floats may not (NaN's rules): a scan of every
// weight of a model (BERT-base took 0.2 s on one thread as doubles).
float largest_finite_magnitude(std::span<const float> values);

// Bulk conversions; `out` must have in.size() elements. The *_clamped variants apply
// clamp_constant first and return how many values it changed.
void floats_to_halves(std::span<const float> in, std::span<std::uint16_t> out);
std::size_t floats_to_halves_clamped(std::span<const float> in, std::span<std::uint16_t> out, ClampRule rule);
void halves_to_floats(std::span<const std::uint16_t> in, std::span<float> out);
void floats_to_bfloat16s(std::span<const float> in, std::span<std::uint16_t> out);
void bfloat16s_to_floats(std::span<const std::uint16_t> in, std::span<float> out);

// Whether the running CPU supports F16C (the bulk functions use it when true).
bool cpu_has_f16c();

}  // namespace onnx_fp16::half
