// nudge_values 8 elements at a time: the hash in 64-bit lanes (AVX-512DQ's 64-bit products), u
// in double, the move in float32, each operation the portable loop's own, so the same bits.
// Compiled with -mavx512f -mavx512dq -ffp-contract=off (src/CMakeLists.txt: no fused
// multiply-add, which the portable loop does not have); called only where the CPU has both.
#include "mixed/nudge.h"

#if defined(__x86_64__)
// GCC 12's intrinsics (shifts, conversions) start from an undefined vector, which
// -Wmaybe-uninitialized reports as a use of an uninitialised value: a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace onnx_fp16::mixed::detail {

void nudge_values_avx512(const float* in, float* out, std::size_t count, std::uint64_t seed, std::uint64_t first,
                         float spread) {
  const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i seeds = _mm512_set1_epi64(static_cast<long long>(seed));
  const __m512i golden = _mm512_set1_epi64(static_cast<long long>(0x9E3779B97F4A7C15ull));
  const __m512i first_factor = _mm512_set1_epi64(static_cast<long long>(0xBF58476D1CE4E5B9ull));
  const __m512i second_factor = _mm512_set1_epi64(static_cast<long long>(0x94D049BB133111EBull));
  const __m512d unit = _mm512_set1_pd(0x1.0p-52);
  const __m512d one = _mm512_set1_pd(1.0);
  const __m256 spreads = _mm256_set1_ps(spread);
  const __m256 ones = _mm256_set1_ps(1.0f);
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m512i index = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(first + i)), lanes);
    __m512i x = _mm512_add_epi64(_mm512_xor_si512(seeds, index), golden);
    x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 30)), first_factor);
    x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 27)), second_factor);
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 31));
    // x >> 11 < 2^53: exact as a signed 64-bit integer and as a double.
    const __m512d u = _mm512_sub_pd(_mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_srli_epi64(x, 11)), unit), one);
    const __m256 factor = _mm256_add_ps(ones, _mm256_mul_ps(_mm512_cvtpd_ps(u), spreads));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(in + i), factor));
  }
  if (i < count) {
    nudge_values_portable(std::span<const float>(in + i, count - i), std::span<float>(out + i, count - i), seed,
                          first + i, spread);
  }
}

}  // namespace onnx_fp16::mixed::detail
#endif
