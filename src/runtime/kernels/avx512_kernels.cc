// Compiled with -mavx512f (src/CMakeLists.txt); the kernels call these only after
// cpu_has_avx512f() said yes, so no AVX-512 instruction runs on a CPU without it. Also with
// -ffp-contract=off: GCC otherwise fuses the separate multiply and add intrinsics below into one
// fused multiply-add (measured: the depthwise bit-for-bit test failed).
#include "runtime/kernels/avx512.h"

#if defined(ONNX_FP16_HAVE_AVX512)
// GCC 12's AVX-512 intrinsics (min, max, roundscale, scalef) start from _mm512_undefined_ps(),
// which -Wmaybe-uninitialized reports as a use of an uninitialised value: a known false
// positive of that header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

namespace onnx_fp16::runtime::nn {

namespace {

// Columns [j, j + 16 * Vectors) of `Rows` output rows (row r reads from base + r * row_step and
// writes out + r * out_step), plus the bias where there is one: every accumulator stays in a
// register across all taps, and Rows x Vectors independent sums hide the add's latency (one
// 16-wide row, as a 14x14 plane has, was a chain of dependent adds). Multiply and add are
// separate instructions on purpose: a fused multiply-add rounds once where the portable loop
// rounds twice, and the bits must not depend on the CPU's features. `last` selects the columns
// of the last vector: the others are neither read nor written.
// Loops over the accumulators unrolled, so that each one stays in a register: rolled, GCC kept
// acc[][] on the stack and every add waited on a store and a load.
#define UNROLL _Pragma("GCC unroll 16")

template <int Rows, int Vectors>
void sum_taps(const float* base, std::int64_t row_step, const std::int64_t* tap_offsets, std::size_t taps_count,
              const float* taps, std::int64_t j, __mmask16 last, const float* bias, float* out,
              std::int64_t out_step) {
  __m512 acc[Rows][Vectors];
  UNROLL for (int r = 0; r < Rows; ++r) {
    UNROLL for (int v = 0; v < Vectors; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (std::size_t t = 0; t < taps_count; ++t) {
    const __m512 tap = _mm512_set1_ps(taps[t]);
    UNROLL for (int r = 0; r < Rows; ++r) {
      const float* src = base + r * row_step + tap_offsets[t] + j;
      UNROLL for (int v = 0; v < Vectors; ++v) {
        const __mmask16 mask = v + 1 == Vectors ? last : __mmask16{0xFFFF};
        acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_mul_ps(tap, _mm512_maskz_loadu_ps(mask, src + 16 * v)));
      }
    }
  }
  UNROLL for (int r = 0; r < Rows; ++r) {
    UNROLL for (int v = 0; v < Vectors; ++v) {
      if (bias != nullptr) acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_set1_ps(*bias));
      const __mmask16 mask = v + 1 == Vectors ? last : __mmask16{0xFFFF};
      _mm512_mask_storeu_ps(out + r * out_step + j + 16 * v, mask, acc[r][v]);
    }
  }
}

// `Rows` output rows, all their columns: 64 at a time, then the rest in 1 to 4 vectors.
template <int Rows>
void sum_rows(const float* base, std::int64_t row_step, const std::int64_t* tap_offsets, std::size_t taps_count,
              const float* taps, std::int64_t width, const float* bias, float* out, std::int64_t out_step) {
  std::int64_t j = 0;
  for (; j + 64 <= width; j += 64) {
    sum_taps<Rows, 4>(base, row_step, tap_offsets, taps_count, taps, j, 0xFFFF, bias, out, out_step);
  }
  const std::int64_t rest = width - j;
  if (rest == 0) return;
  const auto last = static_cast<__mmask16>(rest % 16 == 0 ? 0xFFFF : (1u << (rest % 16)) - 1);
  switch ((rest + 15) / 16) {
    case 1: return sum_taps<Rows, 1>(base, row_step, tap_offsets, taps_count, taps, j, last, bias, out, out_step);
    case 2: return sum_taps<Rows, 2>(base, row_step, tap_offsets, taps_count, taps, j, last, bias, out, out_step);
    case 3: return sum_taps<Rows, 3>(base, row_step, tap_offsets, taps_count, taps, j, last, bias, out, out_step);
    default: return sum_taps<Rows, 4>(base, row_step, tap_offsets, taps_count, taps, j, last, bias, out, out_step);
  }
}

}  // namespace

void depthwise_rows_avx512(const float* base, std::int64_t row_step, std::int64_t rows,
                           const std::int64_t* tap_offsets, std::size_t taps_count, const float* taps,
                           std::int64_t width, const float* bias, float* out, std::int64_t out_step) {
  std::int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    sum_rows<4>(base + r * row_step, row_step, tap_offsets, taps_count, taps, width, bias, out + r * out_step, out_step);
  }
  base += r * row_step;
  out += r * out_step;
  switch (rows - r) {  // the rows left over, side by side too
    case 3: return sum_rows<3>(base, row_step, tap_offsets, taps_count, taps, width, bias, out, out_step);
    case 2: return sum_rows<2>(base, row_step, tap_offsets, taps_count, taps, width, bias, out, out_step);
    case 1: return sum_rows<1>(base, row_step, tap_offsets, taps_count, taps, width, bias, out, out_step);
    default: return;
  }
}

namespace {

// 16 exponentials e^t. e^t = 2^n * e^r, n = round(t / ln 2), r = t - n ln 2 (ln 2 split in two
// so that n ln 2 is exact for |n| < 2^12), e^r by its Taylor polynomial to degree 6 on
// |r| <= ln 2 / 2 (truncation below 2^-28 relative), within 2 float32 ulps. t is clamped to
// [-104, 89]: beyond, e^t underflows to 0 or overflows to inf in float32 anyway.
__m512 exp16(__m512 t) {
  const __m512 ln2_hi = _mm512_set1_ps(0.693145752f), ln2_lo = _mm512_set1_ps(1.42860677e-06f);
  const __m512 log2e = _mm512_set1_ps(1.44269504f), one = _mm512_set1_ps(1.0f);
  const __m512 lo = _mm512_set1_ps(-104.0f), hi = _mm512_set1_ps(89.0f);
  const __m512 c6 = _mm512_set1_ps(1.0f / 720), c5 = _mm512_set1_ps(1.0f / 120), c4 = _mm512_set1_ps(1.0f / 24);
  const __m512 c3 = _mm512_set1_ps(1.0f / 6), c2 = _mm512_set1_ps(0.5f);
  // max/min return their second operand when one is NaN: a NaN t stays NaN through both. (The
  // masked forms with every lane set: GCC 12 warns at -O1 that the plain forms' undefined
  // pass-through operand is uninitialised; the results are the same.)
  const __mmask16 all = 0xFFFF;
  t = _mm512_maskz_max_ps(all, lo, _mm512_maskz_min_ps(all, hi, t));
  const __m512 n =
      _mm512_maskz_roundscale_ps(all, _mm512_mul_ps(t, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_sub_ps(_mm512_sub_ps(t, _mm512_mul_ps(n, ln2_hi)), _mm512_mul_ps(n, ln2_lo));
  __m512 p = _mm512_add_ps(_mm512_mul_ps(c6, r), c5);
  p = _mm512_add_ps(_mm512_mul_ps(p, r), c4);
  p = _mm512_add_ps(_mm512_mul_ps(p, r), c3);
  p = _mm512_add_ps(_mm512_mul_ps(p, r), c2);
  p = _mm512_add_ps(_mm512_mul_ps(p, r), one);
  p = _mm512_add_ps(_mm512_mul_ps(p, r), one);
  return _mm512_maskz_scalef_ps(all, p, n);  // p * 2^n, to inf or 0 where it leaves float32
}

// 16 sigmoids, 1 / (1 + e^-x).
__m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

// c[0] + t (c[1] + t (c[2] + ...)), multiply and add apart.
template <std::size_t N>
__m512 polynomial(__m512 t, const float (&c)[N]) {
  __m512 p = _mm512_set1_ps(c[N - 1]);
  for (std::size_t i = N - 1; i-- > 0;) p = _mm512_add_ps(_mm512_mul_ps(p, t), _mm512_set1_ps(c[i]));
  return p;
}

// 16 error functions. Coefficients fitted for this project (weighted least squares in double,
// numpy, then rounded to float32), within 4e-8 relative of the function they approximate:
// |x| < 0.921875: erf(x) = x P(x^2);
// beyond: erf(x) = sign(x) (1 - e^(-x^2) Q(1 / (1 + |x|))), Q approximating erfc(x) e^(x^2) on
// [0.92, 3.92]; past 3.92 e^(-x^2) Q is below float32's half ulp of 1, so erf is +-1.
__m512 erf16(__m512 x) {
  static constexpr float kP[] = {1.128379225730896f,     -0.37612637877464294f,  0.11283741146326065f,
                                 -0.026861773803830147f, 0.005206620786339045f,  -0.000820339540950954f,
                                 8.617153071099892e-05f};
  static constexpr float kQ[] = {2.5279814508394338e-05f, 0.5633188486099243f,  0.5774027705192566f,
                                 0.16648302972316742f,    0.3561340570449829f,  -2.9687438011169434f,
                                 4.7541937828063965f,     -3.4575247764587402f, 1.01896071434021f};
  const __m512 one = _mm512_set1_ps(1.0f);
  // The bit operations in integers: their float forms are AVX-512DQ, not F.
  const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN));
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 x2 = _mm512_mul_ps(x, x);
  const __m512 near = _mm512_mul_ps(x, polynomial(x2, kP));
  const __m512 t = _mm512_div_ps(one, _mm512_add_ps(one, ax));
  const __m512 tail = _mm512_mul_ps(exp16(_mm512_sub_ps(_mm512_setzero_ps(), x2)), polynomial(t, kQ));
  // NaN stays NaN; +-inf: t = 0 and the tail 0.
  const __m512 far = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(_mm512_sub_ps(one, tail)), sign));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.921875f), _CMP_LT_OQ), far, near);
}

// out[i] = f(in[i]) for 16 values at a time, a masked last vector for the rest.
template <typename F>
void map16(const float* in, float* out, std::size_t count, F f) {
  std::size_t i = 0;
  for (; i + 16 <= count; i += 16) _mm512_storeu_ps(out + i, f(_mm512_loadu_ps(in + i)));
  if (i < count) {
    const auto mask = static_cast<__mmask16>((1u << (count - i)) - 1);
    _mm512_mask_storeu_ps(out + i, mask, f(_mm512_maskz_loadu_ps(mask, in + i)));
  }
}

}  // namespace

void max_pool_row_avx512(const float* in, std::int64_t width, std::int64_t row_begin, std::int64_t row_end,
                         std::int64_t column, std::int64_t stride, std::int64_t kernel_width, std::int64_t vectors,
                         float* out) {
  // Every second value of p[0, 31) in one vector: lanes j <- p[2j]; p[31] is never read (it may
  // lie past the plane).
  const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const auto load = [&](const float* p) {
    if (stride == 1) return _mm512_loadu_ps(p);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), evens, _mm512_maskz_loadu_ps(0x7FFF, p + 16));
  };
  for (std::int64_t v = 0; v < vectors; ++v) {
    const float* start = in + column + v * 16 * stride;
    __m512 best = load(start + row_begin * width);
    for (std::int64_t ih = row_begin; ih < row_end; ++ih) {
      for (std::int64_t kw = ih == row_begin ? 1 : 0; kw < kernel_width; ++kw) {
        const __m512 value = load(start + ih * width + kw);
        // A later tap replaces the maximum only when larger: false for NaN on either side.
        best = _mm512_mask_mov_ps(best, _mm512_cmp_ps_mask(value, best, _CMP_GT_OQ), value);
      }
    }
    _mm512_storeu_ps(out + v * 16, best);
  }
}

void sigmoid_avx512(const float* in, float* out, std::size_t count) { map16(in, out, count, sigmoid16); }

void erf_avx512(const float* in, float* out, std::size_t count) { map16(in, out, count, erf16); }

void silu_avx512(const float* in, float* out, std::size_t count) {
  map16(in, out, count, [](__m512 x) { return _mm512_mul_ps(x, sigmoid16(x)); });
}

void range_avx512(const float* in, std::size_t count, float& low, float& high) {
  // min/max with the running value second: x86 returns the second operand when either is NaN,
  // so a NaN input leaves the range as it was (std::min/std::max with the running value first).
  __m512 lo = _mm512_set1_ps(low);
  __m512 hi = _mm512_set1_ps(high);
  std::size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512 v = _mm512_loadu_ps(in + i);
    lo = _mm512_min_ps(v, lo);
    hi = _mm512_max_ps(v, hi);
  }
  if (i < count) {
    const auto mask = static_cast<__mmask16>((1u << (count - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(mask, in + i);
    lo = _mm512_mask_min_ps(lo, mask, v, lo);
    hi = _mm512_mask_max_ps(hi, mask, v, hi);
  }
  // The lanes one by one (GCC 12's _mm512_reduce_min_ps trips -Wuninitialized in its header).
  alignas(64) float lows[16];
  alignas(64) float highs[16];
  _mm512_store_ps(lows, lo);
  _mm512_store_ps(highs, hi);
  for (int lane = 0; lane < 16; ++lane) {
    low = std::min(low, lows[lane]);
    high = std::max(high, highs[lane]);
  }
}

void quantize_u8_avx512(const float* in, std::size_t count, float scale, std::uint8_t zero, std::uint8_t* out) {
  const __m512 divisor = _mm512_set1_ps(scale);
  const __m512 below = _mm512_set1_ps(-static_cast<float>(zero));
  const __m512 above = _mm512_set1_ps(255.0f - static_cast<float>(zero));
  const __m512i zeros = _mm512_set1_epi32(zero);
  auto quantize16 = [&](__m512 v) {
    __m512 q = _mm512_div_ps(v, divisor);
    const __mmask16 nan = _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q);
    // The masked forms on every lane: at -Og (the sanitizer build) GCC 12 warns that the plain
    // ones' undefined pass-through is used uninitialised.
    constexpr __mmask16 all = 0xFFFF;
    q = _mm512_maskz_min_ps(all, _mm512_maskz_max_ps(all, q, below), above);
    q = _mm512_mask_mov_ps(q, nan, _mm512_setzero_ps());
    const __m512i rounded = _mm512_maskz_cvt_roundps_epi32(all, q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_add_epi32(rounded, zeros);  // in [0, 255]
  };
  std::size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtusepi32_epi8(quantize16(_mm512_loadu_ps(in + i))));
  }
  if (i < count) {
    const auto mask = static_cast<__mmask16>((1u << (count - i)) - 1);
    _mm512_mask_cvtusepi32_storeu_epi8(out + i, mask, quantize16(_mm512_maskz_loadu_ps(mask, in + i)));
  }
}

}  // namespace onnx_fp16::runtime::nn
#endif
