// Scalar float32 <-> float16 / bfloat16 conversions and the constant clamping rule. These are
// the reference the bulk paths (half_bulk.cc, half_f16c.cc) must agree with bit for bit.
#include "half/half.h"
#include "half/half_detail.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace onnx_fp16::half {
namespace {

constexpr std::uint32_t kFloatAbsMask = 0x7fffffffu;
constexpr std::uint32_t kFloatInfBits = 0x7f800000u;
// Smallest float that rounds to float16 infinity: 65520 = (65504 + 65536) / 2, a tie that
// rounds to the even neighbour 65536, which does not exist in float16.
constexpr std::uint32_t kFloatHalfOverflowBits = 0x477ff000u;
// 2^-14, the smallest normal float16.
constexpr std::uint32_t kFloatHalfMinNormalBits = 0x38800000u;
// 2^-25, half of the smallest float16 subnormal: anything below rounds to zero.
constexpr std::uint32_t kFloatHalfUnderflowBits = 0x33000000u;

// float16 NaN from a float32 NaN the way F16C does it: sign and the top 10 payload bits kept,
// quiet bit set (so a signalling NaN whose kept payload would be zero still stays a NaN).
std::uint16_t nan_to_half(std::uint32_t sign16, std::uint32_t abs_bits) {
  return static_cast<std::uint16_t>(sign16 | 0x7e00u | ((abs_bits >> 13) & 0x3ffu));
}

// |value| < 2^-14: a float16 subnormal (or zero), rounded to nearest even in integer arithmetic.
std::uint16_t subnormal_to_half(std::uint32_t sign16, std::uint32_t abs_bits) {
  if (abs_bits < kFloatHalfUnderflowBits) return static_cast<std::uint16_t>(sign16);
  const std::uint32_t exponent = abs_bits >> 23;                     // 102..112 here
  const std::uint32_t mantissa = (abs_bits & 0x7fffffu) | 0x800000u;  // implicit leading 1
  // value = mantissa * 2^(exponent - 150); in units of 2^-24 that is mantissa >> (126 - exponent).
  const std::uint32_t shift = 126u - exponent;  // 14..24
  std::uint32_t quotient = mantissa >> shift;
  const std::uint32_t remainder = mantissa & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1u);
  if (remainder > halfway || (remainder == halfway && (quotient & 1u))) ++quotient;
  // A carry into 0x400 is the smallest normal, which is the right encoding.
  return static_cast<std::uint16_t>(sign16 | quotient);
}

}  // namespace

std::uint16_t float_to_half(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign16 = (bits >> 16) & 0x8000u;
  const std::uint32_t abs_bits = bits & kFloatAbsMask;

  if (abs_bits > kFloatInfBits) return nan_to_half(sign16, abs_bits);
  if (abs_bits >= kFloatHalfOverflowBits) return static_cast<std::uint16_t>(sign16 | 0x7c00u);
  if (abs_bits < kFloatHalfMinNormalBits) return subnormal_to_half(sign16, abs_bits);

  // Normal: rebias the exponent (127 -> 15, i.e. subtract 112 << 23) and round the 13 dropped
  // mantissa bits to nearest even. A mantissa carry correctly bumps the exponent.
  const std::uint32_t lowest_kept_bit = (abs_bits >> 13) & 1u;
  const std::uint32_t rounded = abs_bits - (112u << 23) + 0xfffu + lowest_kept_bit;
  return static_cast<std::uint16_t>(sign16 | (rounded >> 13));
}

float half_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;

  if (exponent == 0x1fu) {
    // Infinity, or NaN: payload kept, made quiet as F16C's vcvtph2ps does.
    const std::uint32_t quiet = mantissa != 0 ? 0x400000u : 0u;
    return std::bit_cast<float>(sign | kFloatInfBits | quiet | (mantissa << 13));
  }
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24 is exact in float32.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

std::uint16_t float_to_bfloat16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  // A NaN must not round into infinity (or a different NaN class): truncate and set quiet bit.
  if ((bits & kFloatAbsMask) > kFloatInfBits) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  const std::uint32_t lowest_kept_bit = (bits >> 16) & 1u;
  return static_cast<std::uint16_t>((bits + 0x7fffu + lowest_kept_bit) >> 16);
}

float bfloat16_to_float(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

namespace detail {

float portable_largest_finite_magnitude(const float* in, std::size_t count) {
  // |x| orders as its bit pattern without the sign, and the finite ones lie below infinity's.
  // As signed 32-bit integers (a magnitude's sign bit is clear) and a select then a max, with no
  // branch: so the compiler vectorises it on baseline x86-64 (SSE2 has no unsigned 32-bit
  // compare). The branchy form ran one element at a time, and the search scans every weight.
  std::int32_t largest = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto magnitude = static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(in[i]) & kFloatAbsMask);
    const std::int32_t finite = magnitude < static_cast<std::int32_t>(kFloatInfBits) ? magnitude : 0;
    largest = std::max(largest, finite);
  }
  return std::bit_cast<float>(largest);
}

}  // namespace detail

float clamp_constant(float value, float min_positive, float max_finite) {
  const float magnitude = std::fabs(value);
  // Written as "not outside" comparisons so NaN (all comparisons false) passes unchanged.
  if (magnitude > 0.0f && magnitude < min_positive) return std::copysign(min_positive, value);
  if (magnitude > max_finite && magnitude < std::numeric_limits<float>::infinity()) {
    return std::copysign(max_finite, value);
  }
  return value;
}

}  // namespace onnx_fp16::half
