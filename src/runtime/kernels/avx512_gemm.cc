// The float32 matrix product in AVX-512 vectors (avx512.h says when it is used and why).
//
// A blocked scheme: op(b) is copied ("packed") kKc rows by up to kNc columns at a time into
// panels kNr columns wide, and a register-blocked kernel multiplies kMr rows of op(a) by one b
// panel: kMr x kNr sums held in 16 vector registers, each b row loaded once per kMr rows, each a
// element broadcast once per kNr columns. Sizes for a 48 KB L1 and a 1 MB L2: a b panel of
// kKc x kNr floats is 32 KB and stays in L1 while every kMr rows of the block's kMc pass by
// (kMc x kKc of a, 128 KB, stay in L2). op(a) is read where it lies, kMr rows (or columns, when
// transposed) at once, not packed: on a convolution over a 7x7 map (ResNet-50's last stage:
// 49 columns, 4608 deep) packing a cost as much as the product itself (100 -> 135 GF/s on one
// core without it), and elsewhere it gained nothing.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

#include <onnx_fp16/tensor.h>

#include "runtime/kernels/avx512.h"
#include "runtime/read_rounding.h"

namespace onnx_fp16::runtime::nn {

namespace {

constexpr std::size_t kMr = 8;    // rows of a kernel's block of c
constexpr std::size_t kNr = 32;   // columns of a kernel's block of c: two vectors
constexpr std::size_t kKc = 256;  // depth of a packed block
constexpr std::size_t kMc = 128;  // rows of a block of a
constexpr std::size_t kNc = 512;  // columns of a packed b block

// Each thread's packing buffer, allocated at its first product and kept: the pages are touched
// once per thread, not once per product.
struct AlignedFloats {
  float* data = nullptr;
  explicit AlignedFloats(std::size_t count)
      : data(static_cast<float*>(::operator new[](count * sizeof(float), std::align_val_t{64}))) {}
  ~AlignedFloats() { ::operator delete[](data, std::align_val_t{64}); }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
};

float* packed_b_buffer() {
  thread_local AlignedFloats buffer(kKc * kNc);
  return buffer.data;
}

// 16 floats read as a ReadRounding says, in vector registers: the bits of read_rounding.h's
// round_for_reading (half::clamp_constant's comparisons, then F16C's round to nearest even, or
// float_to_bfloat16's rounding with its quiet NaN), checked against the scalar conversions by
// RuntimeGemm.RoundedBIsTheProductOfBRoundedBeforehand. Calling the bulk conversions per packed
// row instead cost 5% of BERT-base's search (0.6 CPU-s), more than the products' packing itself.
class VectorRounding {
 public:
  explicit VectorRounding(const ReadRounding& rounding)
      : bfloat16_(rounding.target == ReadRounding::Target::BFloat16),
        clamp_(rounding.clamp && !bfloat16_),
        min_positive_(_mm512_set1_ps(rounding.rule.min_positive)),
        max_finite_(_mm512_set1_ps(rounding.rule.max_finite)) {}

  __m512 operator()(__m512 x) const {
    if (bfloat16_) {
      const __m512i bits = _mm512_castps_si512(x);
      const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
      const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF)),
                                                    _mm512_set1_epi32(0x7F800000));
      const __m512i lowest_kept = _mm512_and_si512(_mm512_maskz_srli_epi32(kAll, bits, 16), _mm512_set1_epi32(1));
      const __m512i rounded =
          _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lowest_kept), high);
      const __m512i quiet = _mm512_or_si512(_mm512_and_si512(bits, high), _mm512_set1_epi32(0x00400000));
      return _mm512_castsi512_ps(_mm512_mask_mov_epi32(rounded, nan, quiet));
    }
    if (clamp_) {
      // clamp_constant: the same float comparisons (NaN fails them all and passes unchanged), the
      // limit's magnitude with x's sign; too small is tested last, as it is tested first there.
      const __m512 magnitude = _mm512_abs_ps(x);
      const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(static_cast<int>(0x80000000u)));
      const __mmask16 large = _mm512_cmp_ps_mask(magnitude, max_finite_, _CMP_GT_OQ) &
                              _mm512_cmp_ps_mask(magnitude, _mm512_set1_ps(std::numeric_limits<float>::infinity()), _CMP_LT_OQ);
      const __mmask16 tiny =
          _mm512_cmp_ps_mask(magnitude, _mm512_setzero_ps(), _CMP_GT_OQ) & _mm512_cmp_ps_mask(magnitude, min_positive_, _CMP_LT_OQ);
      x = _mm512_mask_mov_ps(x, large, _mm512_castsi512_ps(_mm512_or_si512(sign, _mm512_castps_si512(_mm512_abs_ps(max_finite_)))));
      x = _mm512_mask_mov_ps(x, tiny, _mm512_castsi512_ps(_mm512_or_si512(sign, _mm512_castps_si512(_mm512_abs_ps(min_positive_)))));
    }
    return _mm512_maskz_cvtph_ps(kAll, _mm512_maskz_cvtps_ph(kAll, x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }

 private:
  // The masked forms on every lane: GCC 12 warns that the plain ones' undefined pass-through is
  // uninitialised.
  static constexpr __mmask16 kAll = 0xFFFF;
  bool bfloat16_;
  bool clamp_;
  __m512 min_positive_;
  __m512 max_finite_;
};

// 16 values of b from where they lie, as float32 vectors: float32 as it is, float16 and bfloat16
// widened (exactly) as they are read, so a product of a 16-bit b reads half the bytes and needs
// no float32 copy of it (BERT-base converted to float16: 16.6% of a run was that copy, and the
// copy's writes and reads came on top). `count` < 16: the first `count` values, the rest +0.
// (The masked forms on every lane: GCC 12 warns that the plain ones' undefined pass-through is
// uninitialised.)
constexpr __mmask16 kAllLanes = 0xFFFF;
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const Float16* p) {
  return _mm512_maskz_cvtph_ps(kAllLanes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 load16(const BFloat16* p) {
  const __m512i widened = _mm512_maskz_cvtepu16_epi32(kAllLanes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAllLanes, widened, 16));
}
inline __m512 load16(const float* p, std::size_t count) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p);
}
template <typename Half>
__m512 load16(const Half* p, std::size_t count) {
  // Masked 16-bit loads need AVX-512 BW, which this file does not assume: copy the few values.
  alignas(32) Half part[16] = {};
  std::copy(p, p + count, part);
  return load16(static_cast<const Half*>(part));
}

// The rows of a b that is not transposed into pack_b's panels, each vector of 16 values passed
// through `read` (the identity, or a VectorRounding). Missing lanes load +0, which every
// rounding keeps +0: the last panel's padding is zero.
template <typename Source, typename Read>
void pack_rows(const Source* b, std::size_t ldb, std::size_t depth, std::size_t cols, float* out, const Read& read) {
  for (std::size_t j0 = 0; j0 < cols; j0 += kNr) {
    float* panel = out + j0 * depth;
    const std::size_t width = std::min(kNr, cols - j0);
    if (width == kNr) {  // plain loads: masked ones made packing 7% (plain) and 30-50% (rounded) slower
      for (std::size_t p = 0; p < depth; ++p) {
        const Source* row = b + p * ldb + j0;
        _mm512_store_ps(panel + p * kNr, read(load16(row)));
        _mm512_store_ps(panel + p * kNr + 16, read(load16(row + 16)));
      }
      continue;
    }
    const std::size_t low = std::min<std::size_t>(width, 16);
    const std::size_t high = width - low;
    for (std::size_t p = 0; p < depth; ++p) {
      const Source* row = b + p * ldb + j0;
      _mm512_store_ps(panel + p * kNr, read(low == 16 ? load16(row) : load16(row, low)));
      _mm512_store_ps(panel + p * kNr + 16, read(high == 0 ? _mm512_setzero_ps() : load16(row + 16, high)));
    }
  }
}

// op(b)'s rows [0, depth) and columns [0, cols) into panels of kNr columns, each stored
// row-major (kNr values per depth step), columns past `cols` zero; read as `rounding` says
// when there is one (read_rounding.h; only for a float32 b): rows of b rounded in vectors as
// they are packed, columns of a transposed b (gathered one value at a time) rounded into `line`
// first.
template <typename Source>
void pack_b(bool trans, const Source* b, std::size_t ldb, std::size_t depth, std::size_t cols, float* out,
            const ReadRounding* rounding) {
  if (!trans) {
    if constexpr (std::is_same_v<Source, float>) {
      if (rounding != nullptr) {
        pack_rows(b, ldb, depth, cols, out, VectorRounding(*rounding));
        return;
      }
    }
    pack_rows(b, ldb, depth, cols, out, [](__m512 x) { return x; });
    return;
  }
  alignas(64) float line[kKc];
  for (std::size_t j = 0; j < cols; ++j) {
    const float* column = nullptr;
    if constexpr (std::is_same_v<Source, float>) {
      column = b + j * ldb;
      if (rounding != nullptr) {
        round_for_reading(std::span<const float>(column, depth), std::span<float>(line, depth), *rounding);
        column = line;
      }
    } else {  // the 16-bit column widened into `line` first
      const Source* stored = b + j * ldb;
      for (std::size_t p = 0; p < depth; p += 16) {
        const std::size_t count = std::min<std::size_t>(16, depth - p);
        _mm512_store_ps(line + p, count == 16 ? load16(stored + p) : load16(stored + p, count));
      }
      column = line;
    }
    float* panel = out + (j / kNr) * kNr * depth;
    for (std::size_t p = 0; p < depth; ++p) panel[p * kNr + j % kNr] = column[p];
  }
  if (cols % kNr != 0) {  // the last panel's columns past `cols`
    float* panel = out + (cols / kNr) * kNr * depth;
    for (std::size_t j = cols % kNr; j < kNr; ++j) {
      for (std::size_t p = 0; p < depth; ++p) panel[p * kNr + j] = 0.0f;
    }
  }
}

// How a kernel's sums reach c: c's block of R rows and V vectors (the last one masked by
// last_mask) = alpha * sums + beta * c (beta 0: c not read) or, with `accumulate`, c + alpha *
// sums (a later depth block of the same product). On the product's last depth block, then
// + row_bias[r] where row_bias is not nullptr, then max(value, 0) with `relu`: the bits of the
// separate passes blas_gemm's epilogue makes for OpenBLAS (math_gemm.h).
struct BlockStore {
  float* c;
  std::size_t ldc;
  __mmask16 last_mask;
  float alpha, beta;
  bool accumulate;
  const float* row_bias;  // this block's first row's, or nullptr
  bool relu;
};

// The sums over depth of a's column (element r at a[p * a_depth_step + r * a_row_step]) times
// the b panel's row, stored as `store` says.
template <int R, int V>
void kernel(std::size_t depth, const float* a, std::size_t a_row_step, std::size_t a_depth_step, const float* b,
            const BlockStore& store) {
  __m512 sum[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) sum[r][v] = _mm512_setzero_ps();
  }
#pragma GCC unroll 2
  for (std::size_t p = 0; p < depth; ++p) {
    __m512 row[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) row[v] = _mm512_load_ps(b + p * kNr + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[p * a_depth_step + r * a_row_step]);
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) sum[r][v] = _mm512_fmadd_ps(x, row[v], sum[r][v]);
    }
  }
  const __m512 alphas = _mm512_set1_ps(store.alpha);
  const __m512 betas = _mm512_set1_ps(store.beta);
  const __m512 zeros = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) {
      const __mmask16 mask = v == V - 1 ? store.last_mask : static_cast<__mmask16>(0xFFFF);
      float* out = store.c + r * store.ldc + 16 * v;
      __m512 value = store.alpha == 1.0f ? sum[r][v] : _mm512_mul_ps(sum[r][v], alphas);
      if (store.accumulate) {
        value = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), value);
      } else if (store.beta != 0.0f) {
        value = _mm512_add_ps(_mm512_mul_ps(betas, _mm512_maskz_loadu_ps(mask, out)), value);
      }
      if (store.row_bias != nullptr) value = _mm512_add_ps(value, _mm512_set1_ps(store.row_bias[r]));
      // max returns its second operand for a NaN: relu_of's x > 0 ? x : 0, -0 included. (The
      // masked form: GCC 12 warns that the plain one's undefined pass-through is uninitialised.)
      if (store.relu) value = _mm512_maskz_max_ps(static_cast<__mmask16>(0xFFFF), value, zeros);
      _mm512_mask_storeu_ps(out, mask, value);
    }
  }
}

using Kernel = void (*)(std::size_t, const float*, std::size_t, std::size_t, const float*, const BlockStore&);

// kKernels[rows - 1][vectors - 1].
template <int... R>
constexpr auto kernel_table(std::integer_sequence<int, R...>) {
  return std::array<std::array<Kernel, 2>, sizeof...(R)>{{{&kernel<R + 1, 1>, &kernel<R + 1, 2>}...}};
}
constexpr auto kKernels = kernel_table(std::make_integer_sequence<int, static_cast<int>(kMr)>{});

template <typename Source>
void sgemm_of(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
              std::size_t lda, const Source* b, std::size_t ldb, float beta, float* c, std::size_t ldc,
              const float* row_bias, bool relu, const ReadRounding* b_rounding) {
  float* const packed_b = packed_b_buffer();
  const bool round_b = b_rounding != nullptr && b_rounding->rounds();
  for (std::size_t jc = 0; jc < n; jc += kNc) {
    const std::size_t cols = std::min(kNc, n - jc);
    for (std::size_t pc = 0; pc < k; pc += kKc) {
      const std::size_t depth = std::min(kKc, k - pc);
      const Source* b_block = trans_b ? b + jc * ldb + pc : b + pc * ldb + jc;
      pack_b(trans_b, b_block, ldb, depth, cols, packed_b, round_b ? b_rounding : nullptr);
      for (std::size_t ic = 0; ic < m; ic += kMc) {
        const std::size_t rows = std::min(kMc, m - ic);
        const float* a_block = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
        for (std::size_t jr = 0; jr < cols; jr += kNr) {
          const std::size_t width = std::min(kNr, cols - jr);
          const std::size_t vectors = width > 16 ? 2 : 1;
          const std::size_t last = width - 16 * (vectors - 1);
          const auto last_mask = static_cast<__mmask16>(last == 16 ? 0xFFFF : (1u << last) - 1);
          for (std::size_t ir = 0; ir < rows; ir += kMr) {
            const std::size_t height = std::min(kMr, rows - ir);
            const float* a_panel = trans_a ? a_block + ir : a_block + ir * lda;
            const bool last_block = pc + depth == k;
            const BlockStore store{c + (ic + ir) * ldc + jc + jr, ldc, last_mask, alpha, beta, pc > 0,
                                   last_block && row_bias != nullptr ? row_bias + ic + ir : nullptr, last_block && relu};
            kKernels[height - 1][vectors - 1](depth, a_panel, trans_a ? 1 : lda, trans_a ? lda : 1,
                                              packed_b + jr * depth, store);
          }
        }
      }
    }
  }
}

}  // namespace

void sgemm_avx512(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc, const float* row_bias, bool relu, const ReadRounding* b_rounding) {
  sgemm_of(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, row_bias, relu, b_rounding);
}

void sgemm_avx512(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const float* a, std::size_t lda, const Float16* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc, const float* row_bias, bool relu) {
  sgemm_of(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, row_bias, relu, nullptr);
}

void sgemm_avx512(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const float* a, std::size_t lda, const BFloat16* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc, const float* row_bias, bool relu) {
  sgemm_of(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, row_bias, relu, nullptr);
}

}  // namespace onnx_fp16::runtime::nn
