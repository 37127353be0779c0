#include "runtime/kernels/math_gemm.h"

#include <cblas.h>
#include <onnx_fp16/error.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <string>

#include "runtime/broadcast.h"
#include "runtime/float_compute.h"
#include "runtime/kernels/avx512.h"
#include "runtime/kernels/fused_kernels.h"
#include "runtime/parallel.h"
#include "tensor/buffer_pool.h"

namespace onnx_fp16::runtime::math {

namespace {

// OpenBLAS takes int sizes; a product beyond them would be truncated silently.
blasint blas_size(std::size_t value) {
  if (value > static_cast<std::size_t>(INT_MAX)) {
    throw Error("matrix dimension " + std::to_string(value) + " is too large for BLAS");
  }
  return static_cast<blasint>(value);
}

// Tile sizes of a product: fixed, so that every element of C is computed by the same BLAS call
// shape whatever the thread count. Large enough that packing the operands per tile costs little:
// every row tile packs its columns of b again, and a transformer's b is a weight matrix read from
// memory (ViT-B/16's 197 tokens in two tiles of 128 rows packed its 768 x 3072 MLP weights twice:
// 153 -> 135 ms warm with one tile of 256 rows; ResNet-50, ConvNeXt, BERT, the OCR models the same).
constexpr std::size_t kTileRows = 256;
constexpr std::size_t kTileCols = 512;
// A product of at least kSplitFromMacs multiply-adds is cut into at least kMinTiles tiles of
// equal size (down to kMinTileRows x kMinTileCols): with whole 128 x 512 tiles, a product of
// one tile ran on one thread and one of three split 2:1, so PP-OCRv4 det's convolutions over
// 20x20 and 10x10 maps and BERT's 128 x 768 x 768 products left the second thread idle part of
// the time. Measured, 2 threads, warm: det 13.3 -> 11.4-11.9 ms, BERT-base 93 -> 81 ms,
// ResNet-50 31.2-31.9 -> 29.7-31.1 ms; one thread 1-2% slower (more tiles pack more). 8 tiles
// gained no more.
constexpr std::size_t kSplitFromMacs = std::size_t{1} << 21;
constexpr std::size_t kMinTiles = 4;
constexpr std::size_t kMinTileRows = 32;
constexpr std::size_t kMinTileCols = 64;

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// How a product is cut: from its shape alone, never from the thread count.
struct Tiling {
  std::size_t rows = 0, cols = 0;            // a tile's size (the last row or column of tiles may be smaller)
  std::size_t row_tiles = 0, col_tiles = 0;  // tiles down and across
};

Tiling tiling_of(std::size_t m, std::size_t n, std::size_t k) {
  std::size_t row_tiles = ceil_div(m, kTileRows);
  std::size_t col_tiles = ceil_div(n, kTileCols);
  if (row_tiles * col_tiles < kMinTiles && m * n * k >= kSplitFromMacs) {
    col_tiles = std::max(col_tiles, std::min(ceil_div(n, kMinTileCols), ceil_div(kMinTiles, row_tiles)));
    row_tiles = std::max(row_tiles, std::min(ceil_div(m, kMinTileRows), ceil_div(kMinTiles, col_tiles)));
  }
  Tiling t;
  // Equal tiles (a multiple of 16 columns, 8 rows: whole vectors of OpenBLAS's kernels), not
  // whole tiles and a remainder, so that the threads' shares come out even.
  t.cols = std::min(n, ceil_div(ceil_div(n, col_tiles), 16) * 16);
  t.rows = std::min(m, ceil_div(ceil_div(m, row_tiles), 8) * 8);
  t.col_tiles = ceil_div(n, t.cols);
  t.row_tiles = ceil_div(m, t.rows);
  return t;
}

// OpenBLAS runs single-threaded while the evaluator's products run: the tiles carry the
// parallelism. Its thread count is process-wide, and a Python process shares OpenBLAS with
// numpy, so it is set to 1 only while at least one product runs and given back after the last:
// setting it once for good made numpy's matrix products single-threaded for the rest of the
// process (1500x1500 float32: 42 -> 70 ms on 2 cores). Concurrent products (several evaluator
// runs at once) share the one scope. A caller of OpenBLAS elsewhere in the process gets one
// thread while a product of ours runs; its results stay right.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    std::lock_guard lock(state().mutex);
    if (state().active++ == 0) {
      state().saved = openblas_get_num_threads();
      if (state().saved != 1) openblas_set_num_threads(1);
    }
  }
  ~SingleThreadedBlas() {
    std::lock_guard lock(state().mutex);
    if (--state().active == 0 && state().saved != 1) openblas_set_num_threads(state().saved);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  struct State {
    std::mutex mutex;
    int active = 0;  // products running now
    int saved = 1;   // OpenBLAS's thread count before the first of them
  };
  static State& state() {
    static State s;
    return s;
  }
};

// y[len] = alpha * op(matrix) * x + beta * y through cblas_sgemv / cblas_dgemv (matrix row-major,
// `rows` x `cols` as stored). beta == 0 ignores y's previous values, as for the product.
template <typename T>
void gemv(bool trans, std::size_t rows, std::size_t cols, T alpha, const T* matrix, std::size_t ld, const T* x,
          std::size_t incx, T beta, T* y, std::size_t incy) {
  if (beta == T{0}) {
    const std::size_t len = trans ? cols : rows;
    for (std::size_t i = 0; i < len; ++i) y[i * incy] = T{0};
  }
  const auto t = trans ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemv(CblasRowMajor, t, blas_size(rows), blas_size(cols), alpha, matrix, blas_size(ld), x, blas_size(incx),
                beta, y, blas_size(incy));
  } else {
    cblas_dgemv(CblasRowMajor, t, blas_size(rows), blas_size(cols), alpha, matrix, blas_size(ld), x, blas_size(incx),
                beta, y, blas_size(incy));
  }
}

// One tile. A tile of one row or one column (a batch-1 Gemm or MatMul, a convolution over a
// 1x1 image such as a squeeze-excitation block's) is a matrix-vector product: gemm would pack
// the whole matrix (the layer's weights) into a buffer first, which doubled the bytes read and
// so the time (MobileNetV3's 960x1280 and 1280x1000 classifier).
template <typename T>
void blas_tile(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
               std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (m == 1) {  // c's row = op(b)^T op(a)'s row: b as stored [n x k] (trans_b) or [k x n]
    gemv(!trans_b, trans_b ? n : k, trans_b ? k : n, alpha, b, ldb, a, trans_a ? lda : 1, beta, c, 1);
    return;
  }
  if (n == 1) {  // c's column = op(a) op(b)'s column: a as stored [m x k] or [k x m] (trans_a)
    gemv(trans_a, trans_a ? k : m, trans_a ? m : k, alpha, a, lda, b, trans_b ? 1 : ldb, beta, c, ldc);
    return;
  }
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, blas_size(m), blas_size(n), blas_size(k), alpha, a, blas_size(lda), b,
                blas_size(ldb), beta, c, blas_size(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, blas_size(m), blas_size(n), blas_size(k), alpha, a, blas_size(lda), b,
                blas_size(ldb), beta, c, blas_size(ldc));
  }
}

// Whether the own AVX-512 kernel takes a tile of this size.
template <typename T>
bool own_kernel_takes(std::size_t rows, std::size_t cols) {
#if defined(ONNX_FP16_HAVE_AVX512)
  return std::is_same_v<T, float> && rows > 1 && cols > 1 && nn::cpu_has_avx512f();
#else
  return false;
#endif
}

// A tile with its epilogue (blas_gemm's row_bias and relu): float32 tiles of two or more rows
// and columns on AVX-512 CPUs by the own kernel, which applies the epilogue as it stores,
// everything else by OpenBLAS and then one pass over the tile while it is in cache.
// `b_rounding`: only for a tile the own kernel takes (blas_gemm rounds b beforehand otherwise).
template <typename T>
void gemm_tile(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
               std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc, const T* row_bias,
               bool relu, const ReadRounding* b_rounding) {
#if defined(ONNX_FP16_HAVE_AVX512)
  if constexpr (std::is_same_v<T, float>) {
    if (own_kernel_takes<T>(m, n)) {
      nn::sgemm_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, row_bias, relu, b_rounding);
      return;
    }
  }
#endif
  if (b_rounding != nullptr && b_rounding->rounds()) throw Error("internal: a rounded b reached a BLAS tile");
  blas_tile(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (row_bias == nullptr && !relu) return;
  for (std::size_t r = 0; r < m; ++r) {
    T* row = c + r * ldc;
    if (row_bias != nullptr) {
      const T bias = row_bias[r];
      for (std::size_t col = 0; col < n; ++col) row[col] += bias;
    }
    if (relu) {
      for (std::size_t col = 0; col < n; ++col) row[col] = relu_of(row[col]);
    }
  }
}

// How many values op(b) spans where it is stored: its k rows of n (or, transposed, n rows of k)
// ldb apart, the last one without padding; 0 for an empty b.
std::size_t stored_extent_of_b(bool trans_b, std::size_t n, std::size_t k, std::size_t ldb) {
  if (n == 0 || k == 0) return 0;
  return (trans_b ? (n - 1) : (k - 1)) * ldb + (trans_b ? k : n);
}

// Runs tile(r0, c0, rows, cols) for each tile of the product (its first row and column, its
// size), the tiles spread over `threads`.
template <typename Tile>
void for_each_tile(int threads, std::size_t m, std::size_t n, const Tiling& t, const Tile& tile) {
  parallel_for(threads, t.row_tiles * t.col_tiles, 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t r0 = (i / t.col_tiles) * t.rows;
      const std::size_t c0 = (i % t.col_tiles) * t.cols;
      // op(a)'s rows r0.. start r0 rows down a, or r0 columns across a stored transposed; op(b)'s
      // columns c0.. likewise (the callers' pointers).
      tile(r0, c0, std::min(t.rows, m - r0), std::min(t.cols, n - c0));
    }
  });
}

// Row-major strides of a shape, with 0 for the dimensions of size 1 (they broadcast).
std::vector<std::size_t> broadcast_strides(const Shape& shape, std::size_t rank) {
  std::vector<std::size_t> strides(rank, 0);
  std::size_t stride = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::size_t d = shape.size() - 1 - i;
    const std::size_t out_dim = rank - 1 - i;
    strides[out_dim] = shape[d] == 1 ? 0 : stride;
    stride *= static_cast<std::size_t>(shape[d]);
  }
  return strides;
}

}  // namespace

template <typename T>
void blas_gemm(int threads, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
               const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc,
               const T* row_bias, bool relu, const ReadRounding* b_rounding) {
  if (m == 0 || n == 0) return;
  if (b_rounding != nullptr && !b_rounding->rounds()) b_rounding = nullptr;
  if (k == 0) {  // an empty sum: BLAS rejects the zero leading dimensions
    for (std::size_t r = 0; r < m; ++r) {
      for (std::size_t col = 0; col < n; ++col) {
        T& value = c[r * ldc + col];
        value = beta == T{0} ? T{0} : beta * value;
        if (row_bias != nullptr) value += row_bias[r];
        if (relu) value = relu_of(value);
      }
    }
    return;
  }
  const Tiling t = tiling_of(m, n, k);
  if (b_rounding != nullptr) {
    const std::size_t last_rows = m - (t.row_tiles - 1) * t.rows;
    const std::size_t last_cols = n - (t.col_tiles - 1) * t.cols;
    if constexpr (!std::is_same_v<T, float>) {
      throw Error("internal: a rounded b in a float64 product");
    } else if (!own_kernel_takes<T>(std::min(t.rows, last_rows), std::min(t.cols, last_cols))) {
      // Some tile goes to OpenBLAS, which reads b as it lies: b rounded into a copy first (the
      // whole stored extent, rows or columns ldb apart).
      const std::size_t extent = stored_extent_of_b(trans_b, n, k, ldb);
      buffers::Scratch<float> rounded(extent);
      round_for_reading(std::span<const float>(b, extent), std::span<float>(rounded.get(), extent), *b_rounding, threads);
      blas_gemm<T>(threads, trans_a, trans_b, m, n, k, alpha, a, lda, rounded.get(), ldb, beta, c, ldc, row_bias, relu);
      return;
    }
  }
  const SingleThreadedBlas single_threaded;
  for_each_tile(threads, m, n, t, [&](std::size_t r0, std::size_t c0, std::size_t rows, std::size_t cols) {
    gemm_tile(trans_a, trans_b, rows, cols, k, alpha, trans_a ? a + r0 : a + r0 * lda, lda,
              trans_b ? b + c0 * ldb : b + c0, ldb, beta, c + r0 * ldc + c0, ldc,
              row_bias != nullptr ? row_bias + r0 : nullptr, relu, b_rounding);
  });
}

template <typename Half>
void blas_gemm_16bit_b(int threads, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                       float alpha, const float* a, std::size_t lda, const Half* b, std::size_t ldb, float beta,
                       float* c, std::size_t ldc, const float* row_bias, bool relu) {
  if (m == 0 || n == 0) return;
  const Tiling t = tiling_of(m, n, k);
  const std::size_t last_rows = m - (t.row_tiles - 1) * t.rows;
  const std::size_t last_cols = n - (t.col_tiles - 1) * t.cols;
  if (k == 0 || !own_kernel_takes<float>(std::min(t.rows, last_rows), std::min(t.cols, last_cols))) {
    // Some tile goes to OpenBLAS, which reads b as it lies: b widened into a copy first (the
    // whole stored extent, rows or columns ldb apart).
    const std::size_t extent = stored_extent_of_b(trans_b, n, k, ldb);
    buffers::Scratch<float> widened(extent);
    widen_to_float(std::span<const Half>(b, extent), std::span<float>(widened.get(), extent));
    blas_gemm<float>(threads, trans_a, trans_b, m, n, k, alpha, a, lda, widened.get(), ldb, beta, c, ldc, row_bias,
                     relu);
    return;
  }
#if defined(ONNX_FP16_HAVE_AVX512)
  for_each_tile(threads, m, n, t, [&](std::size_t r0, std::size_t c0, std::size_t rows, std::size_t cols) {
    nn::sgemm_avx512(trans_a, trans_b, rows, cols, k, alpha, trans_a ? a + r0 : a + r0 * lda, lda,
                     trans_b ? b + c0 * ldb : b + c0, ldb, beta, c + r0 * ldc + c0, ldc,
                     row_bias != nullptr ? row_bias + r0 : nullptr, relu);
  });
#endif
}

bool packs_16bit_b() { return own_kernel_takes<float>(2, 2); }

template void blas_gemm_16bit_b<Float16>(int, bool, bool, std::size_t, std::size_t, std::size_t, float, const float*,
                                         std::size_t, const Float16*, std::size_t, float, float*, std::size_t,
                                         const float*, bool);
template void blas_gemm_16bit_b<BFloat16>(int, bool, bool, std::size_t, std::size_t, std::size_t, float, const float*,
                                          std::size_t, const BFloat16*, std::size_t, float, float*, std::size_t,
                                          const float*, bool);

template void blas_gemm<float>(int, bool, bool, std::size_t, std::size_t, std::size_t, float, const float*, std::size_t,
                               const float*, std::size_t, float, float*, std::size_t, const float*, bool,
                               const ReadRounding*);
template void blas_gemm<double>(int, bool, bool, std::size_t, std::size_t, std::size_t, double, const double*,
                                std::size_t, const double*, std::size_t, double, double*, std::size_t, const double*,
                                bool, const ReadRounding*);

void prepare_blas(int threads) {
  static std::once_flag once;
  std::call_once(once, [threads] {
    const SingleThreadedBlas single_threaded;
    // A whole packed block of OpenBLAS's Haswell sgemm (384 deep) and of the own AVX-512 kernel (256).
    const std::size_t k = 384;
    const std::vector<float> a(kTileRows * k, 1.0f), b(k * kTileCols, 1.0f);
    parallel_for(threads, static_cast<std::size_t>(std::max(threads, 1)), 1, [&](std::size_t begin, std::size_t end) {
      std::vector<float> c(kTileRows * kTileCols);
      for (std::size_t i = begin; i < end; ++i) {
        gemm_tile(false, false, kTileRows, kTileCols, k, 1.0f, a.data(), k, b.data(), kTileCols, 0.0f, c.data(),
                  kTileCols, static_cast<const float*>(nullptr), false, nullptr);
      }
    });
  });
}

void exact_integer_gemm(int threads, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                        const float* b, std::size_t ldb, double largest_product, std::int32_t* c, std::size_t ldc) {
  constexpr double kExactBelow = 16777216.0;  // 2^24
  const std::size_t slice =
      largest_product <= 0 ? std::max<std::size_t>(k, 1)
                           : std::max<std::size_t>(1, static_cast<std::size_t>((kExactBelow - 1) / largest_product));
  const buffers::Scratch<float> part(m * n);
  const buffers::Scratch<std::int64_t> total(m * n);
  std::fill(total.get(), total.get() + m * n, std::int64_t{0});
  for (std::size_t k0 = 0; k0 < k; k0 += slice) {
    const std::size_t width = std::min(slice, k - k0);
    blas_gemm<float>(threads, false, false, m, n, width, 1.0f, a + k0, lda, b + k0 * ldb, ldb, 0.0f, part.get(), n);
    for (std::size_t i = 0; i < m * n; ++i) total.get()[i] += static_cast<std::int64_t>(part.get()[i]);
  }
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = static_cast<std::int32_t>(total.get()[i * n + j]);
  }
}

MatMulPlan plan_matmul(const Shape& a_shape, const Shape& b_shape) {
  if (a_shape.empty() || b_shape.empty()) {
    throw Error("MatMul operands must have rank 1 or more, got " + shape_to_string(a_shape) + " and " +
                shape_to_string(b_shape));
  }
  // Promote 1-D operands to matrices: a [k] -> [1, k], b [k] -> [k, 1].
  Shape a = a_shape.size() == 1 ? Shape{1, a_shape[0]} : a_shape;
  Shape b = b_shape.size() == 1 ? Shape{b_shape[0], 1} : b_shape;
  MatMulPlan plan;
  plan.m = static_cast<std::size_t>(a[a.size() - 2]);
  plan.k = static_cast<std::size_t>(a[a.size() - 1]);
  plan.n = static_cast<std::size_t>(b[b.size() - 1]);
  if (static_cast<std::size_t>(b[b.size() - 2]) != plan.k) {
    throw Error("MatMul inner dimensions differ: " + shape_to_string(a_shape) + " and " + shape_to_string(b_shape));
  }
  const Shape a_batch(a.begin(), a.end() - 2);
  const Shape b_batch(b.begin(), b.end() - 2);
  const Shape batch = broadcast_shapes(a_batch, b_batch);

  plan.output = batch;
  if (a_shape.size() != 1) plan.output.push_back(a[a.size() - 2]);
  if (b_shape.size() != 1) plan.output.push_back(b[b.size() - 1]);

  // Walk the batch index in order; offsets in matrices of each operand (0 stride: broadcast).
  const std::size_t rank = batch.size();
  const auto a_strides = broadcast_strides(a_batch, rank);
  const auto b_strides = broadcast_strides(b_batch, rank);
  const std::size_t batches = element_count(batch);
  const std::size_t a_matrix = plan.m * plan.k;
  const std::size_t b_matrix = plan.k * plan.n;
  plan.a_offsets.reserve(batches);
  plan.b_offsets.reserve(batches);
  std::vector<std::int64_t> index(rank, 0);
  std::size_t a_at = 0;
  std::size_t b_at = 0;
  bool a_in_order = true;
  bool b_shared = true;
  for (std::size_t i = 0; i < batches; ++i) {
    plan.a_offsets.push_back(a_at * a_matrix);
    plan.b_offsets.push_back(b_at * b_matrix);
    a_in_order = a_in_order && a_at == i;
    b_shared = b_shared && b_at == 0;
    for (std::size_t d = rank; d-- > 0;) {
      a_at += a_strides[d];
      b_at += b_strides[d];
      if (++index[d] < batch[d]) break;
      a_at -= a_strides[d] * static_cast<std::size_t>(batch[d]);
      b_at -= b_strides[d] * static_cast<std::size_t>(batch[d]);
      index[d] = 0;
    }
  }
  plan.folds_into_one_product = a_in_order && b_shared;
  return plan;
}

}  // namespace onnx_fp16::runtime::math
