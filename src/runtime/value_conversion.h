// One value from one element storage type to another, as ONNX's Cast defines it: the single
// place where the evaluator decides how numbers change type (Cast, CastLike, and any kernel
// that needs a value in another type use it).
//
// - to float16/bfloat16: round to nearest even, overflow to +-inf, NaN stays NaN; from float64
//   and from integers rounded once (not through float32, which would round twice);
// - to float32/float64 from wider or integer types: round to nearest even (the hardware's);
// - float to integer: truncation toward zero. Out-of-range values and NaN are undefined in C++
//   and unspecified in ONNX; we give what x86-64 numpy gives (ONNX's reference), which is the
//   "integer indefinite" value (the minimum) of a 32- or 64-bit conversion, then wrapped;
// - integer to narrower integer: wraps modulo 2^bits (two's complement);
// - to bool: value != 0 (NaN is true); from bool: 0 or 1.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "half/half.h"
#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

// double -> float rounded "to odd": truncate, then set the last bit when inexact. Rounding that
// result once more to a format with at least 2 fewer significand bits (float16: 11, bfloat16: 8;
// float32 has 24) gives the same as rounding the double directly.
inline float round_to_odd_float(double value) {
  if (std::isnan(value)) return static_cast<float>(value);
  float rounded = static_cast<float>(value);
  if (static_cast<double>(rounded) == value) return rounded;
  if (std::fabs(static_cast<double>(rounded)) > std::fabs(value)) rounded = std::nextafter(rounded, 0.0f);
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(rounded) | 1u);
}

inline std::int64_t double_to_int64_x86(double value) {
  // The range where truncation fits int64; outside (and NaN) cvttsd2si gives INT64_MIN.
  if (value >= -9223372036854775808.0 && value < 9223372036854775808.0) return static_cast<std::int64_t>(value);
  return INT64_MIN;
}

inline std::int32_t double_to_int32_x86(double value) {
  if (value > -2147483649.0 && value < 2147483648.0) return static_cast<std::int32_t>(value);
  return INT32_MIN;
}

template <typename I>
I float_to_integer(double value) {
  if constexpr (std::is_same_v<I, std::uint64_t>) {
    if (value >= 9223372036854775808.0 && value < 18446744073709551616.0) {
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(value - 9223372036854775808.0)) ^ (1ull << 63);
    }
    return static_cast<std::uint64_t>(double_to_int64_x86(value));
  } else if constexpr (sizeof(I) == 8 || std::is_same_v<I, std::uint32_t>) {
    return static_cast<I>(double_to_int64_x86(value));
  } else {
    return static_cast<I>(double_to_int32_x86(value));  // narrower types keep the low bits
  }
}

// The value as the type it computes in: float for float16/bfloat16, itself otherwise.
inline float widen(Float16 value) { return half::half_to_float(value.bits); }
inline float widen(BFloat16 value) { return half::bfloat16_to_float(value.bits); }

template <typename To, typename From>
To convert_value(From value) {
  if constexpr (std::is_same_v<To, From>) {
    return value;
  } else if constexpr (std::is_same_v<From, Float16> || std::is_same_v<From, BFloat16>) {
    return convert_value<To>(widen(value));  // exact
  } else if constexpr (std::is_same_v<To, bool>) {
    return value != From{0};
  } else if constexpr (std::is_same_v<To, Float16>) {
    if constexpr (std::is_same_v<From, float>) {
      return Float16{half::float_to_half(value)};
    } else {
      return Float16{half::float_to_half(round_to_odd_float(static_cast<double>(value)))};
    }
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    if constexpr (std::is_same_v<From, float>) {
      return BFloat16{half::float_to_bfloat16(value)};
    } else {
      return BFloat16{half::float_to_bfloat16(round_to_odd_float(static_cast<double>(value)))};
    }
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(value);
  } else if constexpr (std::is_floating_point_v<From>) {
    return float_to_integer<To>(static_cast<double>(value));
  } else {
    return static_cast<To>(value);  // integer or bool to integer: modular
  }
}

}  // namespace onnx_fp16::runtime
