// Compiled with -mavx512f (src/CMakeLists.txt); convolution.cc calls it only after
// cpu_has_avx512f() said yes, so no AVX-512 instruction runs on a CPU without it. Also with
// -ffp-contract=off: GCC otherwise fuses the separate multiply and add intrinsics below into one
// fused multiply-add (measured: the depthwise bit-for-bit test failed).
#include "runtime/kernels/depthwise_rows.h"

#if defined(ONNX_FP16_HAVE_AVX512_DEPTHWISE)
#include <immintrin.h>

namespace onnx_fp16::runtime::nn {

namespace {

// Outputs [j, j + 16 * Vectors): the accumulators stay in registers across all taps. Multiply
// and add are separate instructions on purpose: a fused multiply-add rounds once where the
// portable loop rounds twice, and the bits must not depend on the CPU's features.
template <int Vectors>
void sum_taps(const float* row_base, const std::int64_t* tap_offsets, std::size_t taps_count, const float* taps,
              std::int64_t j, float* out) {
  __m512 acc[Vectors];
  for (int v = 0; v < Vectors; ++v) acc[v] = _mm512_setzero_ps();
  for (std::size_t t = 0; t < taps_count; ++t) {
    const __m512 tap = _mm512_set1_ps(taps[t]);
    const float* src = row_base + tap_offsets[t] + j;
    for (int v = 0; v < Vectors; ++v) acc[v] = _mm512_add_ps(acc[v], _mm512_mul_ps(tap, _mm512_loadu_ps(src + 16 * v)));
  }
  for (int v = 0; v < Vectors; ++v) _mm512_storeu_ps(out + j + 16 * v, acc[v]);
}

// The last 8 outputs of a row whose width is not a multiple of 16.
void sum_taps_8(const float* row_base, const std::int64_t* tap_offsets, std::size_t taps_count, const float* taps,
                std::int64_t j, float* out) {
  __m256 acc = _mm256_setzero_ps();
  for (std::size_t t = 0; t < taps_count; ++t) {
    acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(taps[t]), _mm256_loadu_ps(row_base + tap_offsets[t] + j)));
  }
  _mm256_storeu_ps(out + j, acc);
}

}  // namespace

void depthwise_row_avx512(const float* row_base, const std::int64_t* tap_offsets, std::size_t taps_count,
                          const float* taps, std::int64_t width, float* out) {
  std::int64_t j = 0;
  for (; j + 64 <= width; j += 64) sum_taps<4>(row_base, tap_offsets, taps_count, taps, j, out);
  for (; j + 16 <= width; j += 16) sum_taps<1>(row_base, tap_offsets, taps_count, taps, j, out);
  if (j < width) sum_taps_8(row_base, tap_offsets, taps_count, taps, j, out);
}

}  // namespace onnx_fp16::runtime::nn
#endif
