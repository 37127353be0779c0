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
#include <new>
#include <utility>

#include "runtime/kernels/avx512.h"

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

// op(b)'s rows [0, depth) and columns [0, cols) into panels of kNr columns, each stored
// row-major (kNr values per depth step), columns past `cols` zero.
void pack_b(bool trans, const float* b, std::size_t ldb, std::size_t depth, std::size_t cols, float* out) {
  for (std::size_t j0 = 0; j0 < cols; j0 += kNr) {
    float* panel = out + j0 * depth;
    const std::size_t width = std::min(kNr, cols - j0);
    if (!trans) {
      if (width == kNr) {
        for (std::size_t p = 0; p < depth; ++p) {
          const float* row = b + p * ldb + j0;
          _mm512_store_ps(panel + p * kNr, _mm512_loadu_ps(row));
          _mm512_store_ps(panel + p * kNr + 16, _mm512_loadu_ps(row + 16));
        }
      } else {
        const __mmask16 low = static_cast<__mmask16>(width >= 16 ? 0xFFFF : (1u << width) - 1);
        const __mmask16 high = static_cast<__mmask16>(width <= 16 ? 0 : (1u << (width - 16)) - 1);
        for (std::size_t p = 0; p < depth; ++p) {
          const float* row = b + p * ldb + j0;
          _mm512_store_ps(panel + p * kNr, _mm512_maskz_loadu_ps(low, row));
          _mm512_store_ps(panel + p * kNr + 16, _mm512_maskz_loadu_ps(high, row + 16));
        }
      }
    } else {
      for (std::size_t j = 0; j < kNr; ++j) {
        if (j >= width) {
          for (std::size_t p = 0; p < depth; ++p) panel[p * kNr + j] = 0.0f;
          continue;
        }
        const float* column = b + (j0 + j) * ldb;
        for (std::size_t p = 0; p < depth; ++p) panel[p * kNr + j] = column[p];
      }
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

}  // namespace

void sgemm_avx512(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc, const float* row_bias, bool relu) {
  float* const packed_b = packed_b_buffer();
  for (std::size_t jc = 0; jc < n; jc += kNc) {
    const std::size_t cols = std::min(kNc, n - jc);
    for (std::size_t pc = 0; pc < k; pc += kKc) {
      const std::size_t depth = std::min(kKc, k - pc);
      pack_b(trans_b, trans_b ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, depth, cols, packed_b);
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

}  // namespace onnx_fp16::runtime::nn
