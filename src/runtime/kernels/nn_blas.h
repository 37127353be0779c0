// Row-major matrix products for the nn kernels (Conv, ConvTranspose, RNNs), in float32 through
// cblas_sgemm and in float64 through cblas_dgemm: float16 operands are widened to float32
// before they get here, so OpenBLAS accumulates them in float32 (the evaluator's contract).
#pragma once

#include <cblas.h>

#include <cstddef>
#include <type_traits>

namespace onnx_fp16::runtime::nn {

// C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, all row-major; op transposes when
// the flag is set (A stored as [k x m], B as [n x k]).
template <typename T>
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
          std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "gemm computes in float or double");
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum; BLAS would reject the leading dimensions
    for (std::size_t r = 0; r < m; ++r) {
      for (std::size_t col = 0; col < n; ++col) c[r * ldc + col] = beta == T{0} ? T{0} : beta * c[r * ldc + col];
    }
    return;
  }
  const auto ta = transpose_a ? CblasTrans : CblasNoTrans;
  const auto tb = transpose_b ? CblasTrans : CblasNoTrans;
  const auto i = [](std::size_t v) { return static_cast<blasint>(v); };
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), alpha, a, i(lda), b, i(ldb), beta, c, i(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), alpha, a, i(lda), b, i(ldb), beta, c, i(ldc));
  }
}

}  // namespace onnx_fp16::runtime::nn
