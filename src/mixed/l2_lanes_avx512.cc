// add_l2_lanes_avx512: one double per lane of a 512-bit vector, the eight lanes of the portable
// sums (acceptance.cc L2Sums). Compiled with -mavx512f -ffp-contract=off (src/CMakeLists.txt): a
// fused multiply-add would round once where the portable loop rounds twice.
#include "mixed/l2_lanes.h"

#if defined(__x86_64__)
// GCC 12's conversion intrinsics start from an undefined vector, which -Wmaybe-uninitialized
// reports as a use of an uninitialised value: a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace onnx_fp16::mixed::detail {

void add_l2_lanes_avx512(const float* x, const float* y, std::size_t count, double* difference_lanes,
                         double* norm_lanes) {
  __m512d difference = _mm512_loadu_pd(difference_lanes);
  __m512d norm = _mm512_loadu_pd(norm_lanes);
  for (std::size_t i = 0; i + 8 <= count; i += 8) {
    const __m512d xs = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
    const __m512d ys = _mm512_cvtps_pd(_mm256_loadu_ps(y + i));
    const __m512d d = _mm512_sub_pd(xs, ys);
    difference = _mm512_add_pd(difference, _mm512_mul_pd(d, d));
    norm = _mm512_add_pd(norm, _mm512_mul_pd(ys, ys));
  }
  _mm512_storeu_pd(difference_lanes, difference);
  _mm512_storeu_pd(norm_lanes, norm);
}

}  // namespace onnx_fp16::mixed::detail
#endif
