// Bulk conversions: the portable loops, and the dispatch to the F16C path when the CPU has it.
#include <bit>
#include <cmath>
#include <string>

#include "half/half.h"
#include "half/half_detail.h"
#include "onnx_fp16/error.h"

#if defined(ONNX_FP16_HAVE_F16C_PATH)
#include <cpuid.h>
#endif

namespace onnx_fp16::half {
namespace {

void require_same_size(std::size_t in, std::size_t out, const char* function) {
  if (in != out) {
    throw Error(std::string(function) + ": output has " + std::to_string(out) + " elements, input has " +
                std::to_string(in));
  }
}

// Blocks of a fixed length: GCC's -O2 vectoriser only takes loops that need no remainder loop,
// so the bulk loops below run on whole blocks and leave the tail to the scalar functions.
constexpr std::size_t kBlock = 1024;

// Branch-free selection, which the vectoriser turns into vector and/or operations (a ?: on
// integers tends to stay a branch and stop it).
std::uint32_t pick(bool condition, std::uint32_t if_true, std::uint32_t if_false) {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(condition);
  return (if_true & mask) | (if_false & ~mask);
}

// float_to_half (half.cc) without branches: every case is computed and the right one picked.
// Subnormals use the FPU instead of a variable shift: adding 0.5f to |x| < 2^-14 leaves a sum
// whose last mantissa bit is worth 2^-24, one float16 subnormal step, so the float addition
// rounds (to nearest even, the default mode) exactly as float16 needs.
std::uint16_t float_to_half_branch_free(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign16 = (bits >> 16) & 0x8000u;
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  const auto ordered = static_cast<std::int32_t>(magnitude);  // < 2^31: signed compares are exact

  const std::uint32_t normal = (magnitude - (112u << 23) + 0xfffu + ((magnitude >> 13) & 1u)) >> 13;
  const std::uint32_t subnormal = std::bit_cast<std::uint32_t>(std::bit_cast<float>(magnitude) + 0.5f) - 0x3f000000u;
  const std::uint32_t nan = 0x7e00u | ((magnitude >> 13) & 0x3ffu);

  std::uint32_t result = pick(ordered < 0x38800000, subnormal, normal);  // below 2^-14
  result = pick(ordered >= 0x477ff000, 0x7c00u, result);                 // rounds to infinity
  result = pick(ordered > 0x7f800000, nan, result);
  return static_cast<std::uint16_t>(result | sign16);
}

void floats_to_halves_block(const float* __restrict in, std::uint16_t* __restrict out) {
  for (std::size_t i = 0; i < kBlock; ++i) out[i] = float_to_half_branch_free(in[i]);
}

// ClampRule as integer tests on magnitude bit patterns (which order like the magnitudes), so the
// clamp vectorises. The thresholds reproduce clamp_constant's float comparisons for every rule,
// nonsensical ones included (negative, zero or NaN limits).
struct IntegerClampRule {
  std::int32_t below;            // magnitudes in (0, below) are too small
  std::int32_t above;            // magnitudes in (above, infinity) are too large
  std::uint32_t min_magnitude;   // what they become, before the sign is put back
  std::uint32_t max_magnitude;
};

IntegerClampRule to_integer_rule(ClampRule rule) {
  constexpr std::int32_t kInfinity = 0x7f800000;
  auto magnitude_bits = [](float x) { return std::bit_cast<std::uint32_t>(x) & 0x7fffffffu; };
  IntegerClampRule result{};
  // "0 < m < min_positive" can only hold for a positive min_positive.
  result.below = rule.min_positive > 0.0f ? static_cast<std::int32_t>(magnitude_bits(rule.min_positive)) : 0;
  // "m > max_finite" holds for every magnitude when max_finite < 0, and for none when it is NaN.
  if (std::isnan(rule.max_finite)) {
    result.above = kInfinity;
  } else if (rule.max_finite < 0.0f) {
    result.above = -1;
  } else {
    result.above = static_cast<std::int32_t>(magnitude_bits(rule.max_finite));
  }
  result.min_magnitude = magnitude_bits(rule.min_positive);
  result.max_magnitude = magnitude_bits(rule.max_finite);
  return result;
}

std::size_t clamp_block(const float* __restrict in, float* __restrict clamped, const IntegerClampRule& rule) {
  std::uint32_t changed = 0;  // 32-bit like the lanes, or the vectoriser gives up
  for (std::size_t i = 0; i < kBlock; ++i) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(in[i]);
    const auto magnitude = static_cast<std::int32_t>(bits & 0x7fffffffu);
    const bool too_small = (magnitude != 0) & (magnitude < rule.below);
    const bool too_large = (magnitude > rule.above) & (magnitude < 0x7f800000);
    const std::uint32_t result =
        pick(too_small, rule.min_magnitude, pick(too_large, rule.max_magnitude, static_cast<std::uint32_t>(magnitude)));
    clamped[i] = std::bit_cast<float>(result | (bits & 0x80000000u));
    changed += static_cast<std::uint32_t>(too_small | too_large);
  }
  return changed;
}

}  // namespace

namespace detail {

void portable_floats_to_halves(const float* in, std::uint16_t* out, std::size_t count) {
  std::size_t i = 0;
  for (; i + kBlock <= count; i += kBlock) floats_to_halves_block(in + i, out + i);
  for (; i < count; ++i) out[i] = float_to_half(in[i]);
}

std::size_t portable_floats_to_halves_clamped(const float* in, std::uint16_t* out, std::size_t count,
                                              ClampRule rule) {
  // Clamp a cache-sized block into a buffer, then convert it: two vectorised loops.
  const IntegerClampRule integer_rule = to_integer_rule(rule);
  float clamped[kBlock];
  std::size_t changed = 0;
  std::size_t i = 0;
  for (; i + kBlock <= count; i += kBlock) {
    changed += clamp_block(in + i, clamped, integer_rule);
    floats_to_halves_block(clamped, out + i);
  }
  for (; i < count; ++i) {
    const float value = clamp_constant(in[i], rule.min_positive, rule.max_finite);
    changed += std::bit_cast<std::uint32_t>(value) != std::bit_cast<std::uint32_t>(in[i]);
    out[i] = float_to_half(value);
  }
  return changed;
}

void portable_halves_to_floats(const std::uint16_t* in, float* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = half_to_float(in[i]);
}

}  // namespace detail

#if defined(ONNX_FP16_HAVE_F16C_PATH)
namespace {

// CPUID leaf 1 directly (clang 14's __builtin_cpu_supports does not know "f16c"). The F16C file
// also uses AVX registers, so both must be there and the OS must save their state (XGETBV).
bool detect_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  constexpr unsigned kF16c = 1u << 29, kAvx = 1u << 28, kOsXsave = 1u << 27;
  if ((ecx & (kF16c | kAvx | kOsXsave)) != (kF16c | kAvx | kOsXsave)) return false;
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  constexpr unsigned kSseAndAvxState = 0x6;
  return (xcr0_low & kSseAndAvxState) == kSseAndAvxState;
}

}  // namespace
#endif

bool cpu_has_f16c() {
#if defined(ONNX_FP16_HAVE_F16C_PATH)
  static const bool has = detect_f16c();
  return has;
#else
  return false;
#endif
}

void floats_to_halves(std::span<const float> in, std::span<std::uint16_t> out) {
  require_same_size(in.size(), out.size(), "floats_to_halves");
#if defined(ONNX_FP16_HAVE_F16C_PATH)
  if (cpu_has_f16c()) return detail::f16c_floats_to_halves(in.data(), out.data(), in.size());
#endif
  detail::portable_floats_to_halves(in.data(), out.data(), in.size());
}

std::size_t floats_to_halves_clamped(std::span<const float> in, std::span<std::uint16_t> out, ClampRule rule) {
  require_same_size(in.size(), out.size(), "floats_to_halves_clamped");
#if defined(ONNX_FP16_HAVE_F16C_PATH)
  if (cpu_has_f16c()) return detail::f16c_floats_to_halves_clamped(in.data(), out.data(), in.size(), rule);
#endif
  return detail::portable_floats_to_halves_clamped(in.data(), out.data(), in.size(), rule);
}

float largest_finite_magnitude(std::span<const float> values) {
#if defined(ONNX_FP16_HAVE_F16C_PATH)
  if (cpu_has_f16c()) return detail::avx_largest_finite_magnitude(values.data(), values.size());
#endif
  return detail::portable_largest_finite_magnitude(values.data(), values.size());
}

void halves_to_floats(std::span<const std::uint16_t> in, std::span<float> out) {
  require_same_size(in.size(), out.size(), "halves_to_floats");
#if defined(ONNX_FP16_HAVE_F16C_PATH)
  if (cpu_has_f16c()) return detail::f16c_halves_to_floats(in.data(), out.data(), in.size());
#endif
  detail::portable_halves_to_floats(in.data(), out.data(), in.size());
}

// bfloat16 is the top half of a float32: plain integer loops that compilers vectorise well.
void floats_to_bfloat16s(std::span<const float> in, std::span<std::uint16_t> out) {
  require_same_size(in.size(), out.size(), "floats_to_bfloat16s");
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = float_to_bfloat16(in[i]);
}

void bfloat16s_to_floats(std::span<const std::uint16_t> in, std::span<float> out) {
  require_same_size(in.size(), out.size(), "bfloat16s_to_floats");
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = bfloat16_to_float(in[i]);
}

}  // namespace onnx_fp16::half
