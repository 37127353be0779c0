// Bulk float32 <-> float16 with the F16C instructions, 8 values at a time. This file alone is
// compiled with -mf16c -mavx (src/CMakeLists.txt); half_bulk.cc calls it only after
// cpu_has_f16c() said yes, so no AVX instruction runs on a CPU without it.
#include "half/half_detail.h"

#if defined(ONNX_FP16_HAVE_F16C_PATH)

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace onnx_fp16::half::detail {
namespace {

constexpr std::size_t kLanes = 8;

// imm8 = 0 selects round to nearest even regardless of MXCSR (bit 2 clear). F16C quiets NaNs
// and keeps their sign and top payload bits, which the scalar float_to_half mirrors.
constexpr int kRoundNearestEven = _MM_FROUND_TO_NEAREST_INT;

__m128i to_halves(__m256 values) { return _mm256_cvtps_ph(values, kRoundNearestEven); }

struct ClampVectors {
  __m256 min_positive;
  __m256 max_finite;
  __m256 min_magnitude;
  __m256 max_magnitude;
  __m256 infinity;
  __m256 sign_mask;
  __m256 zero;
};

ClampVectors make_clamp_vectors(ClampRule rule) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 min_positive = _mm256_set1_ps(rule.min_positive);
  const __m256 max_finite = _mm256_set1_ps(rule.max_finite);
  return {min_positive,
          max_finite,
          _mm256_andnot_ps(sign_mask, min_positive),
          _mm256_andnot_ps(sign_mask, max_finite),
          _mm256_set1_ps(__builtin_inff()),
          sign_mask,
          _mm256_setzero_ps()};
}

// mask ? if_set : if_clear, lane by lane. Plain bit operations rather than _mm256_blendv_ps:
// with -mavx (no AVX2) GCC 12 turned blendv on these and-ed compare masks into a branch per
// lane, which made the clamped conversion 5x slower.
__m256 select(__m256 mask, __m256 if_set, __m256 if_clear) {
  return _mm256_or_ps(_mm256_and_ps(mask, if_set), _mm256_andnot_ps(mask, if_clear));
}

// The clamp_constant rule on 8 lanes. Ordered, non-signalling compares are false for NaN, so
// NaN lanes pass through unchanged, as in the scalar rule. Bit i of `changed_lanes` is set
// when lane i changed.
__m256 clamp(__m256 values, const ClampVectors& c, int& changed_lanes) {
  const __m256 sign = _mm256_and_ps(values, c.sign_mask);
  const __m256 magnitude = _mm256_andnot_ps(c.sign_mask, values);
  const __m256 too_small = _mm256_and_ps(_mm256_cmp_ps(magnitude, c.zero, _CMP_GT_OQ),
                                         _mm256_cmp_ps(magnitude, c.min_positive, _CMP_LT_OQ));
  const __m256 too_large = _mm256_and_ps(_mm256_cmp_ps(magnitude, c.max_finite, _CMP_GT_OQ),
                                         _mm256_cmp_ps(magnitude, c.infinity, _CMP_LT_OQ));
  // Small wins over large when both apply (a nonsensical rule), as in clamp_constant.
  __m256 result = select(too_large, c.max_magnitude, magnitude);
  result = select(too_small, c.min_magnitude, result);
  changed_lanes = _mm256_movemask_ps(_mm256_or_ps(too_small, too_large));
  return _mm256_or_ps(result, sign);
}

// Number of set bits in an 8-lane mask. A table, because this file is built without -mpopcnt
// and __builtin_popcount would become a library call per 8 values.
constexpr auto kLaneCounts = [] {
  std::array<std::uint8_t, 256> counts{};
  for (int mask = 0; mask < 256; ++mask) {
    for (int bit = 0; bit < 8; ++bit) counts[mask] += (mask >> bit) & 1;
  }
  return counts;
}();

// The last < 8 values go through a padded copy so they get exactly the same treatment.
template <typename Convert8>
void convert_tail(const float* in, std::uint16_t* out, std::size_t count, Convert8 convert8) {
  alignas(32) float padded_in[kLanes] = {};
  alignas(16) std::uint16_t padded_out[kLanes];
  std::memcpy(padded_in, in, count * sizeof(float));
  _mm_store_si128(reinterpret_cast<__m128i*>(padded_out), convert8(_mm256_load_ps(padded_in)));
  std::memcpy(out, padded_out, count * sizeof(std::uint16_t));
}

}  // namespace

void f16c_floats_to_halves(const float* in, std::uint16_t* out, std::size_t count) {
  std::size_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), to_halves(_mm256_loadu_ps(in + i)));
  }
  if (i < count) convert_tail(in + i, out + i, count - i, to_halves);
}

std::size_t f16c_floats_to_halves_clamped(const float* in, std::uint16_t* out, std::size_t count, ClampRule rule) {
  const ClampVectors c = make_clamp_vectors(rule);
  std::size_t changed = 0;
  std::size_t i = 0;
  int changed_lanes = 0;
  for (; i + kLanes <= count; i += kLanes) {
    const __m256 clamped = clamp(_mm256_loadu_ps(in + i), c, changed_lanes);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), to_halves(clamped));
    changed += kLaneCounts[changed_lanes];
  }
  if (i < count) {
    const std::size_t tail = count - i;
    convert_tail(in + i, out + i, tail, [&](__m256 values) { return to_halves(clamp(values, c, changed_lanes)); });
    // Only the real lanes count, not the zero padding.
    changed += kLaneCounts[changed_lanes & ((1 << tail) - 1)];
  }
  return changed;
}

void f16c_halves_to_floats(const std::uint16_t* in, float* out, std::size_t count) {
  std::size_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  if (i < count) {
    alignas(16) std::uint16_t padded_in[kLanes] = {};
    alignas(32) float padded_out[kLanes];
    std::memcpy(padded_in, in + i, (count - i) * sizeof(std::uint16_t));
    _mm256_store_ps(padded_out, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(padded_in))));
    std::memcpy(out + i, padded_out, (count - i) * sizeof(float));
  }
}

float avx_largest_finite_magnitude(const float* in, std::size_t count) {
  // The portable loop's rule on the bits (portable_largest_finite_magnitude): |x| as a signed
  // 32-bit integer, left out (0) from infinity's bits up, the largest kept. Integer operations,
  // unlike a float maximum, do not depend on MXCSR (a host that sets denormals-are-zero would
  // make a float compare see a subnormal as 0). Eight running maxima, so the loads are not
  // waiting on one chain: BERT-base's 436 MB of weights in 21-25 ms on one thread, against 53 ms
  // for the compiler's vectors of the portable loop (baseline x86-64 has no 32-bit maximum).
  constexpr std::size_t kSums = 8;
  constexpr std::size_t kStep = kSums * 4;
  const __m128i abs_mask = _mm_set1_epi32(0x7fffffff);
  const __m128i infinity = _mm_set1_epi32(0x7f800000);
  __m128i largest[kSums];
  for (__m128i& sum : largest) sum = _mm_setzero_si128();
  std::size_t i = 0;
  for (; i + kStep <= count; i += kStep) {
    for (std::size_t s = 0; s < kSums; ++s) {
      const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + 4 * s));
      const __m128i magnitude = _mm_and_si128(bits, abs_mask);
      largest[s] = _mm_max_epi32(largest[s], _mm_and_si128(magnitude, _mm_cmplt_epi32(magnitude, infinity)));
    }
  }
  for (std::size_t s = 1; s < kSums; ++s) largest[0] = _mm_max_epi32(largest[0], largest[s]);
  alignas(16) std::int32_t lanes[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), largest[0]);
  std::int32_t best = std::max(std::max(lanes[0], lanes[1]), std::max(lanes[2], lanes[3]));
  float result = 0;
  std::memcpy(&result, &best, sizeof result);
  return std::max(result, portable_largest_finite_magnitude(in + i, count - i));
}

}  // namespace onnx_fp16::half::detail

#endif  // ONNX_FP16_HAVE_F16C_PATH
