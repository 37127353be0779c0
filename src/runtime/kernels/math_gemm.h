// Matrix products for the math kernels (MatMul, Gemm, FusedMatMul, Einsum): row-major GEMM in
// float32 through the own AVX-512 kernel where the CPU has it (avx512.h) or cblas_sgemm, in
// float64 through cblas_dgemm, a plain loop for integers, and numpy.matmul's batching
// (broadcast batch dimensions, 1-D operands).
//
// Callers widen float16/bfloat16 operands to float32 first (InputValues; a 16-bit b may be
// passed as stored to blas_gemm_16bit_b instead) and round the result once (OutputValues), so
// products of float16 tensors accumulate in float32, as GPU runtimes do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "runtime/elementwise.h"
#include "runtime/read_rounding.h"
#include "runtime/tensor.h"

namespace onnx_fp16::runtime::math {

// c[m x n] = alpha * op(a) * op(b) + beta * c, row-major: op(a) is a as stored [m x k], or with
// trans_a the transpose of a stored [k x m]; likewise b ([k x n] or [n x k]); lda, ldb and ldc
// are the stored rows' lengths. beta == 0 ignores c's previous values (NaN included). T is float
// or double: the only place the evaluator calls BLAS.
//
// The product is cut into tiles whose sizes follow from its shape alone, whatever `threads` is
// (math_gemm.cc says how), each computed by one single-threaded call (float32 tiles of two or
// more rows and columns by nn::sgemm_avx512 on AVX-512 CPUs, the rest by OpenBLAS), and the tiles are
// spread over `threads` threads. So the bits do not depend on the thread count (a threaded
// OpenBLAS blocks its sums by the thread count), and no process-wide BLAS setting changes while
// other runs are in flight. A tile of one row or one
// column is a matrix-vector product (cblas_sgemv): a batch-1 Gemm or MatMul, a convolution
// over a 1x1 image.
//
// Pays the products' first-call costs at load instead of in a model's first run: once per
// process, one product per thread of the pool, concurrently, of a tile's full size (OpenBLAS
// allocates a packing buffer per concurrent caller on first use, the own AVX-512 kernel one per
// thread, and their pages are touched as they are packed into). Without it, PP-OCR cls's first run was 2.4x its warm run (5 vs 2.1 ms), its
// first two convolutions alone 2.6 ms.
void prepare_blas(int threads);

// With `row_bias`, c[r][j] += row_bias[r] afterwards (a convolution's bias, one per output
// channel), and with `relu`, c[r][j] = c[r][j] > 0 ? c[r][j] : 0 after that (a Relu fused into
// its convolution, plan_fusion.h): the same bits as separate passes, done per tile while the
// tile is in cache and on the tile's thread instead of in serial passes over c.
//
// With `b_rounding` (float only), b's values are read as it says (read_rounding.h): the own
// AVX-512 kernel rounds them as it packs them, and where some tile goes elsewhere, b is rounded
// into a copy first. The same bits as a product of b rounded beforehand, either way.
template <typename T>
void blas_gemm(int threads, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
               const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc,
               const T* row_bias = nullptr, bool relu = false, const ReadRounding* b_rounding = nullptr);

// The same for contiguous matrices.
template <typename T>
void blas_gemm(int threads, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
               const T* a, const T* b, T beta, T* c, const ReadRounding* b_rounding = nullptr) {
  blas_gemm<T>(threads, trans_a, trans_b, m, n, k, alpha, a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n, nullptr,
               false, b_rounding);
}

// The float32 product with b stored as float16 or bfloat16 (Half): the own AVX-512 kernel widens
// b's values as it packs them, instead of the caller widening all of b into a float32 copy
// first (BERT-base converted to float16: the copy was 16.6% of a run, its memory traffic more);
// where some tile goes to OpenBLAS, b is widened into a copy here. The bits of blas_gemm<float>
// with b widened beforehand (row_bias and relu as there).
template <typename Half>
void blas_gemm_16bit_b(int threads, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                       float alpha, const float* a, std::size_t lda, const Half* b, std::size_t ldb, float beta,
                       float* c, std::size_t ldc, const float* row_bias = nullptr, bool relu = false);

// Whether blas_gemm_16bit_b's products of two or more rows and columns widen b as they pack it
// (the own AVX-512 kernel runs here) rather than into a float32 copy of b first. Where it does
// not, a caller with a smaller source of b (a Conv's X, before im2col repeats each value once
// per kernel tap) widens that source itself instead: one copy of X, not one of every band's
// columns.
bool packs_16bit_b();

// c[m x n] = a[m x k] * b[k x n] (row-major, leading dimensions as above) for integer-valued
// float operands (8-bit quantized values less their zero points), exactly: float32 products over
// slices of k, each short enough that its sum of |products| stays below 2^24, where float32 holds
// every integer (so BLAS's order of additions cannot round), the slices added in int64.
// `largest_product` bounds every |a[i][p] * b[p][j]|. c gets the sums as int32 wraps them.
void exact_integer_gemm(int threads, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                        const float* b, std::size_t ldb, double largest_product, std::int32_t* c, std::size_t ldc);

// c[m x n] = op(a) * op(b) for integers, wrapping modulo 2^bits as ONNX runtimes do.
template <typename T>
void integer_gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b,
                  T* c) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      T sum{0};
      for (std::size_t p = 0; p < k; ++p) {
        const T x = trans_a ? a[p * m + i] : a[i * k + p];
        const T y = trans_b ? b[j * k + p] : b[p * n + j];
        sum = wrapping_add(sum, wrapping_mul(x, y));
      }
      c[i * n + j] = sum;
    }
  }
}

// c = op(a) * op(b) in compute type C: BLAS for float and double, the loop otherwise.
template <typename C>
void matrix_product(int threads, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const C* a,
                    const C* b, C* c, const ReadRounding* b_rounding = nullptr) {
  if constexpr (std::is_floating_point_v<C>) {
    blas_gemm<C>(threads, trans_a, trans_b, m, n, k, C{1}, a, b, C{0}, c, b_rounding);
  } else {
    integer_gemm(trans_a, trans_b, m, n, k, a, b, c);
  }
}

// numpy.matmul of shapes a and b: each is a stack of matrices whose stack (batch) dimensions
// broadcast; a 1-D a is a row vector and a 1-D b a column vector, their dimension dropped from
// the result. Throws onnx_fp16::Error for a scalar, mismatched inner sizes or batch shapes that
// do not broadcast.
struct MatMulPlan {
  Shape output;
  std::size_t m = 0, k = 0, n = 0;
  // Per output matrix, in order: where its a and b matrices start (element offsets).
  std::vector<std::size_t> a_offsets, b_offsets;
  // Every a matrix is used once, in storage order, and b is one shared matrix: the stack is
  // then one [batch*m x k] by [k x n] product.
  bool folds_into_one_product = false;
};
MatMulPlan plan_matmul(const Shape& a, const Shape& b);

// Calls product(rows, a_offset, b_offset, out_offset) for the products that make up the plan's
// output: [rows x k] at a + a_offset by [k x n] at b + b_offset into out + out_offset. One of
// batches * m rows when the stack folds, else one of m rows per output matrix.
template <typename Product>
void for_each_product(const MatMulPlan& plan, Product&& product) {
  const std::size_t batches = plan.a_offsets.size();
  if (plan.folds_into_one_product) {
    product(batches * plan.m, std::size_t{0}, std::size_t{0}, std::size_t{0});
    return;
  }
  for (std::size_t i = 0; i < batches; ++i) product(plan.m, plan.a_offsets[i], plan.b_offsets[i], i * plan.m * plan.n);
}

// out (plan.output) = a @ b in compute type C (b read as `b_rounding` says: blas_gemm), b stored
// as C, or as float16 / bfloat16 for C float (blas_gemm_16bit_b).
template <typename C, typename B = C>
void run_matmul(int threads, const MatMulPlan& plan, const C* a, const B* b, C* out,
                const ReadRounding* b_rounding = nullptr) {
  for_each_product(plan, [&](std::size_t rows, std::size_t a_offset, std::size_t b_offset, std::size_t out_offset) {
    if constexpr (std::is_same_v<B, C>) {
      matrix_product(threads, false, false, rows, plan.n, plan.k, a + a_offset, b + b_offset, out + out_offset,
                     b_rounding);
    } else {
      static_assert(std::is_same_v<C, float>, "a 16-bit b multiplies float32 values");
      blas_gemm_16bit_b<B>(threads, false, false, rows, plan.n, plan.k, 1.0f, a + a_offset, plan.k, b + b_offset,
                           plan.n, 0.0f, out + out_offset, plan.n);
    }
  });
}

}  // namespace onnx_fp16::runtime::math
