// The float32 matrix product every MatMul, Gemm and convolution goes through (math::blas_gemm):
// against a float64 reference over the shapes where a blocked kernel has edges (partial
// register blocks of rows and columns, depths across its 256-deep blocks, tiles of one row or
// column), with transposed operands, padded leading dimensions, alpha, beta and the fused
// bias/Relu epilogue; that a b read rounded gives the product of b rounded beforehand; and, on
// AVX-512 CPUs, that the product is the evaluator's own kernel; that a float16 or bfloat16 b
// gives the product of b widened beforehand.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "half/half.h"
#include "runtime/kernels/avx512.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/read_rounding.h"

namespace {

namespace math = onnx_fp16::runtime::math;
namespace nn = onnx_fp16::runtime::nn;
namespace half = onnx_fp16::half;
using onnx_fp16::runtime::ReadRounding;

struct Product {
  std::size_t m, n, k;
  bool trans_a, trans_b;
  float alpha, beta;
};

struct Operands {
  std::size_t lda, ldb, ldc;
  std::vector<float> a, b, c;
};

// Operands of `p` with leading dimensions 3 longer than needed (the padding must be neither read
// into the product nor written), c filled with `c_fill`.
Operands operands_of(const Product& p, std::mt19937& random, float c_fill) {
  std::normal_distribution<float> normal;
  Operands o;
  const std::size_t a_rows = p.trans_a ? p.k : p.m, a_cols = p.trans_a ? p.m : p.k;
  const std::size_t b_rows = p.trans_b ? p.n : p.k, b_cols = p.trans_b ? p.k : p.n;
  o.lda = a_cols + 3;
  o.ldb = b_cols + 3;
  o.ldc = p.n + 3;
  o.a.resize(a_rows * o.lda);
  o.b.resize(b_rows * o.ldb);
  for (float& x : o.a) x = normal(random);
  for (float& x : o.b) x = normal(random);
  o.c.assign(p.m * o.ldc, c_fill);
  return o;
}

// Each c[i][j] of the product in float64, and the sum of |terms| that bounds its float32
// rounding error.
struct Reference {
  std::vector<double> value, magnitude;
};
Reference reference_of(const Product& p, const Operands& o, const std::vector<float>& c_before) {
  Reference r;
  r.value.resize(p.m * p.n);
  r.magnitude.resize(p.m * p.n);
  for (std::size_t i = 0; i < p.m; ++i) {
    for (std::size_t j = 0; j < p.n; ++j) {
      double sum = 0, magnitude = 0;
      for (std::size_t q = 0; q < p.k; ++q) {
        const double x = p.trans_a ? o.a[q * o.lda + i] : o.a[i * o.lda + q];
        const double y = p.trans_b ? o.b[j * o.ldb + q] : o.b[q * o.ldb + j];
        sum += x * y;
        magnitude += std::fabs(x * y);
      }
      double value = p.alpha * sum;
      magnitude *= std::fabs(p.alpha);
      if (p.beta != 0) {
        value += p.beta * c_before[i * o.ldc + j];
        magnitude += std::fabs(p.beta * c_before[i * o.ldc + j]);
      }
      r.value[i * p.n + j] = value;
      r.magnitude[i * p.n + j] = magnitude;
    }
  }
  return r;
}

std::string describe(const Product& p) {
  return std::to_string(p.m) + "x" + std::to_string(p.n) + "x" + std::to_string(p.k) + (p.trans_a ? " trans_a" : "") +
         (p.trans_b ? " trans_b" : "") + " alpha " + std::to_string(p.alpha) + " beta " + std::to_string(p.beta);
}

// Float32 sums of k terms are within about k * 2^-24 of the sum of |terms| (a sequential sum's
// bound; blocked and fused sums do better).
void expect_matches_reference(const Product& p, const Operands& o, const Reference& r, const std::vector<float>& c,
                              int threads) {
  for (std::size_t i = 0; i < p.m; ++i) {
    for (std::size_t j = 0; j < p.n; ++j) {
      const double bound = (static_cast<double>(p.k) + 2) * std::ldexp(1.0, -24) * r.magnitude[i * p.n + j] + 1e-30;
      ASSERT_NEAR(c[i * o.ldc + j], r.value[i * p.n + j], bound)
          << describe(p) << ", threads " << threads << ", element " << i << "," << j;
    }
    for (std::size_t j = p.n; j < o.ldc; ++j) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(c[i * o.ldc + j]), std::bit_cast<std::uint32_t>(o.c[i * o.ldc + j]))
          << describe(p) << ": padding of row " << i << " written";
    }
  }
}

TEST(RuntimeGemm, ProductsMatchAFloat64ReferenceAcrossTheKernelsEdges) {
  std::mt19937 random(7);
  // Rows around the 8-row register block, columns around the 16-wide vector and 32-wide block,
  // depths around the 256-deep block; 130 x 520 is cut into several tiles.
  const std::vector<std::size_t> rows{1, 2, 7, 8, 9, 17, 130};
  const std::vector<std::size_t> cols{1, 2, 15, 16, 17, 33, 64, 520};
  const std::vector<std::size_t> depths{1, 3, 255, 256, 257, 600};
  std::size_t cases = 0;
  for (const std::size_t m : rows) {
    for (const std::size_t n : cols) {
      for (const std::size_t k : depths) {
        if (m * n * k > 130 * 520 * 300) continue;  // the largest shapes once, below
        const int variant = static_cast<int>(cases++ % 4);
        const Product p{m, n, k, (variant & 1) != 0, (variant & 2) != 0, variant == 3 ? 0.5f : 1.0f,
                        variant == 2 ? 2.0f : 0.0f};
        // beta == 0 must not read c: NaN there must not reach the product.
        Operands o = operands_of(p, random, p.beta == 0 ? std::numeric_limits<float>::quiet_NaN() : 0.25f);
        const Reference r = reference_of(p, o, o.c);
        for (const int threads : {1, 2}) {
          std::vector<float> c = o.c;
          math::blas_gemm<float>(threads, p.trans_a, p.trans_b, m, n, k, p.alpha, o.a.data(), o.lda, o.b.data(), o.ldb,
                                 p.beta, c.data(), o.ldc);
          expect_matches_reference(p, o, r, c, threads);
        }
      }
    }
  }
  const Product large{130, 520, 600, false, true, 1.0f, 0.0f};
  Operands o = operands_of(large, random, 0.0f);
  const Reference r = reference_of(large, o, o.c);
  std::vector<float> c = o.c;
  math::blas_gemm<float>(2, false, true, 130, 520, 600, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, c.data(),
                         o.ldc);
  expect_matches_reference(large, o, r, c, 2);
}

TEST(RuntimeGemm, BiasAndReluAreAppliedAfterTheProduct) {
  std::mt19937 random(11);
  const Product p{19, 40, 70, false, false, 1.0f, 0.0f};
  Operands o = operands_of(p, random, 0.0f);
  o.a[0] = std::numeric_limits<float>::quiet_NaN();  // row 0 of the product: NaN, which Relu makes +0
  std::vector<float> bias(p.m);
  for (std::size_t i = 0; i < p.m; ++i) bias[i] = static_cast<float>(i) - 9.0f;
  std::vector<float> plain = o.c, fused = o.c;
  math::blas_gemm<float>(2, false, false, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, plain.data(),
                         o.ldc);
  math::blas_gemm<float>(2, false, false, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, fused.data(),
                         o.ldc, bias.data(), true);
  for (std::size_t i = 0; i < p.m; ++i) {
    for (std::size_t j = 0; j < p.n; ++j) {
      const float sum = plain[i * o.ldc + j] + bias[i];
      const float expected = sum > 0 ? sum : 0.0f;  // relu_of
      ASSERT_EQ(std::bit_cast<std::uint32_t>(fused[i * o.ldc + j]), std::bit_cast<std::uint32_t>(expected))
          << i << "," << j;
    }
  }
}

std::vector<std::uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<std::uint32_t> bits;
  for (const float x : values) bits.push_back(std::bit_cast<std::uint32_t>(x));
  return bits;
}

// b as a converted model holds it, rounded element by element with the scalar conversions (an
// implementation of the rule apart from the bulk ones read_rounding.cc uses).
std::vector<float> rounded_by_hand(const std::vector<float>& b, const ReadRounding& rounding) {
  std::vector<float> out(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (rounding.target == ReadRounding::Target::BFloat16) {
      out[i] = half::bfloat16_to_float(half::float_to_bfloat16(b[i]));
    } else {
      const float x = rounding.clamp ? half::clamp_constant(b[i], rounding.rule.min_positive, rounding.rule.max_finite) : b[i];
      out[i] = half::half_to_float(half::float_to_half(x));
    }
  }
  return out;
}

// A product whose b is read rounded (the mixed-precision search's converted weights, rounded as
// they are packed) has the bits of the product of b rounded beforehand: on the own kernel's
// tiles, on OpenBLAS's (one row or one column, where b is rounded into a copy first), with b
// transposed, and with values the clamp moves (below min_positive, above max_finite) and that
// round to infinity.
TEST(RuntimeGemm, RoundedBIsTheProductOfBRoundedBeforehand) {
  std::mt19937 random(5);
  ReadRounding clamped{.target = ReadRounding::Target::Float16, .clamp = true, .rule = {1e-7f, 1e4f}};
  ReadRounding plain{.target = ReadRounding::Target::Float16};
  ReadRounding bfloat16{.target = ReadRounding::Target::BFloat16};
  const std::vector<Product> products{{130, 520, 300, false, false, 1.0f, 0.0f}, {9, 33, 257, false, true, 1.0f, 0.0f},
                                      {1, 64, 40, false, false, 1.0f, 0.0f},     {17, 1, 40, false, true, 1.0f, 0.0f},
                                      {24, 70, 600, true, false, 0.5f, 2.0f}};
  for (const Product& p : products) {
    Operands o = operands_of(p, random, 0.25f);
    for (std::size_t i = 0; i < o.b.size(); i += 7) o.b[i] *= 1e-8f;   // below min_positive: raised
    for (std::size_t i = 3; i < o.b.size(); i += 11) o.b[i] *= 3e4f;   // above max_finite: lowered
    o.b[1] = 1e5f;                                                      // float16 infinity unclamped
    o.b[2] = std::bit_cast<float>(0xFF800001u);  // a signalling NaN: a NaN after rounding, never an infinity
    o.b[5] = -0.0f;
    for (const ReadRounding& rounding : {clamped, plain, bfloat16}) {
      const std::vector<float> b_rounded = rounded_by_hand(o.b, rounding);
      for (const int threads : {1, 2}) {
        std::vector<float> expected = o.c, c = o.c;
        math::blas_gemm<float>(threads, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda,
                               b_rounded.data(), o.ldb, p.beta, expected.data(), o.ldc);
        math::blas_gemm<float>(threads, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda, o.b.data(),
                               o.ldb, p.beta, c.data(), o.ldc, nullptr, false, &rounding);
        // Bits, not values: the unclamped roundings make infinities, and their sums NaN.
        ASSERT_EQ(bits_of(c), bits_of(expected)) << describe(p) << ", target " << static_cast<int>(rounding.target) << " clamp "
                               << rounding.clamp << ", threads " << threads;
      }
    }
  }
}

// A product of a float16 or bfloat16 b (a converted model's weights, widened as they are packed)
// has the bits of the product of b widened beforehand: on the own kernel's tiles (b's rows and,
// transposed, its columns, with partial vectors of columns and depths across 16-value chunks),
// on OpenBLAS's (one row or one column, where b is widened into a copy first), with k = 0, and
// with infinities, NaNs and subnormals among b's values.
TEST(RuntimeGemm, SixteenBitBIsTheProductOfBWidenedBeforehand) {
  std::mt19937 random(11);
  const std::vector<Product> products{{130, 520, 300, false, false, 1.0f, 0.0f}, {9, 33, 257, false, true, 1.0f, 0.0f},
                                      {8, 47, 21, false, true, 1.0f, 0.0f},      {16, 17, 5, false, false, 1.0f, 0.0f},
                                      {1, 64, 40, false, false, 1.0f, 0.0f},     {17, 1, 40, false, true, 1.0f, 0.0f},
                                      {24, 70, 600, true, false, 0.5f, 2.0f},    {12, 40, 0, false, false, 1.0f, 0.5f}};
  for (const Product& p : products) {
    const Operands o = operands_of(p, random, 0.25f);
    std::vector<onnx_fp16::Float16> halves(o.b.size());
    std::vector<onnx_fp16::BFloat16> bfloats(o.b.size());
    for (std::size_t i = 0; i < o.b.size(); ++i) {
      halves[i] = {half::float_to_half(o.b[i])};
      bfloats[i] = {half::float_to_bfloat16(o.b[i])};
    }
    if (o.b.size() > 6) {
      halves[1].bits = 0x7C00;   // +infinity
      halves[2].bits = 0xFE01;   // a NaN
      halves[3].bits = 0x0001;   // the smallest subnormal
      bfloats[1].bits = 0xFF80;  // -infinity
      bfloats[2].bits = 0x7FC1;  // a NaN
      bfloats[3].bits = 0x0001;  // a subnormal
    }
    std::vector<float> widened_halves(o.b.size()), widened_bfloats(o.b.size());
    for (std::size_t i = 0; i < o.b.size(); ++i) {
      widened_halves[i] = half::half_to_float(halves[i].bits);
      widened_bfloats[i] = half::bfloat16_to_float(bfloats[i].bits);
    }
    for (const int threads : {1, 2}) {
      std::vector<float> expected = o.c, c = o.c;
      math::blas_gemm<float>(threads, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda,
                             widened_halves.data(), o.ldb, p.beta, expected.data(), o.ldc);
      math::blas_gemm_16bit_b(threads, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda, halves.data(),
                              o.ldb, p.beta, c.data(), o.ldc);
      ASSERT_EQ(bits_of(c), bits_of(expected)) << describe(p) << ", float16, threads " << threads;
      expected = o.c;
      c = o.c;
      math::blas_gemm<float>(threads, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda,
                             widened_bfloats.data(), o.ldb, p.beta, expected.data(), o.ldc);
      math::blas_gemm_16bit_b(threads, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda, bfloats.data(),
                              o.ldb, p.beta, c.data(), o.ldc);
      ASSERT_EQ(bits_of(c), bits_of(expected)) << describe(p) << ", bfloat16, threads " << threads;
    }
  }
}

#if defined(ONNX_FP16_HAVE_AVX512)
// Where the CPU has AVX-512, a tile-sized product is exactly one call of the own kernel: same
// bits. (Were OpenBLAS still called, its different blocking of the sums would show.)
TEST(RuntimeGemm, Avx512CpusUseTheOwnKernel) {
  if (!nn::cpu_has_avx512f()) GTEST_SKIP() << "no AVX-512 on this CPU: OpenBLAS computes the products";
  std::mt19937 random(3);
  const Product p{96, 200, 700, false, false, 1.0f, 0.0f};
  Operands o = operands_of(p, random, 0.0f);
  std::vector<float> through_gemm = o.c, direct = o.c;
  math::blas_gemm<float>(1, false, false, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f,
                         through_gemm.data(), o.ldc);
  nn::sgemm_avx512(false, false, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, direct.data(), o.ldc);
  EXPECT_EQ(through_gemm, direct);
}
#endif

}  // namespace
