// The math kernel families through the public Evaluator: MatMul/Gemm/Einsum products (with
// float16 operands accumulating in float32), reductions and their axes rules per opset,
// Softmax's axis semantics before and after opset 13, the normalisations, ranking ops and the
// com.microsoft transformer fusions.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "half/half.h"
#include "modelgen/builder.h"
#include "support/run_node.h"

namespace {

using onnx_fp16::Float16;
using onnx_fp16::Shape;
using onnx_fp16::Tensor;
namespace half = onnx_fp16::half;
constexpr int F32 = onnx::TensorProto::FLOAT;

Tensor floats(Shape shape, std::vector<float> values) { return Tensor::from_vector<float>(std::move(shape), values); }
Tensor int64s(Shape shape, std::vector<std::int64_t> values) {
  return Tensor::from_vector<std::int64_t>(std::move(shape), values);
}
Tensor halves(Shape shape, const std::vector<float>& values) {
  std::vector<Float16> bits;
  for (const float v : values) bits.push_back(Float16{half::float_to_half(v)});
  return Tensor::from_vector<Float16>(std::move(shape), bits);
}
// Values 0, 1, 2, ... scaled, as a float tensor of `shape`.
Tensor iota(Shape shape, float scale = 1.0f, float offset = 0.0f) {
  std::vector<float> values(onnx_fp16::element_count(shape));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = offset + scale * static_cast<float>(i);
  return floats(std::move(shape), values);
}

// Any float tensor's values as float32 (float16 exactly).
std::vector<float> values_of(const Tensor& t) {
  std::vector<float> out;
  if (t.dtype() == onnx::TensorProto::FLOAT16) {
    for (const auto h : t.data<Float16>()) out.push_back(half::half_to_float(h.bits));
  } else {
    const auto span = t.data<float>();
    out.assign(span.begin(), span.end());
  }
  return out;
}

using Input = test_support::NodeInput;
using test_support::run_node;

// numpy.matmul of float32 [.., m, k] and [.., k, n] stacks with the same batch count (test oracle).
std::vector<float> reference_matmul(const std::vector<float>& a, const std::vector<float>& b, std::size_t batches,
                                    std::size_t m, std::size_t k, std::size_t n, bool b_shared) {
  std::vector<float> out(batches * m * n, 0.0f);
  for (std::size_t q = 0; q < batches; ++q) {
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        double sum = 0;
        for (std::size_t p = 0; p < k; ++p) {
          sum += static_cast<double>(a[(q * m + i) * k + p]) * b[((b_shared ? 0 : q) * k + p) * n + j];
        }
        out[(q * m + i) * n + j] = static_cast<float>(sum);
      }
    }
  }
  return out;
}

// ---- MatMul / Gemm / products ----

TEST(RuntimeMathOps, MatMulBroadcastsBatchDimensions) {
  // [2, 1, 2, 3] @ [3, 3, 2] -> [2, 3, 2, 2]: A's batch 1 broadcasts over B's 3 and B over A's 2.
  const Tensor a = iota({2, 1, 2, 3}, 0.5f);
  const Tensor b = iota({3, 3, 2}, 0.25f, -1.0f);
  const auto y = run_node("MatMul", {{"a", a}, {"b", b}}, {"y"}).at("y");
  ASSERT_EQ(y.shape(), (Shape{2, 3, 2, 2}));
  const auto av = values_of(a);
  const auto bv = values_of(b);
  const auto out = values_of(y);
  for (std::size_t p = 0; p < 2; ++p) {
    for (std::size_t q = 0; q < 3; ++q) {
      const std::vector<float> a_matrix(av.begin() + static_cast<long>(p * 6),
                                        av.begin() + static_cast<long>(p * 6 + 6));
      const std::vector<float> b_matrix(bv.begin() + static_cast<long>(q * 6),
                                        bv.begin() + static_cast<long>(q * 6 + 6));
      const auto expected = reference_matmul(a_matrix, b_matrix, 1, 2, 3, 2, true);
      for (std::size_t e = 0; e < 4; ++e) EXPECT_FLOAT_EQ(out[(p * 3 + q) * 4 + e], expected[e]) << p << q << e;
    }
  }
}

TEST(RuntimeMathOps, MatMulOneDimensionalOperandsDropTheirDimension) {
  const Tensor v = floats({3}, {1, 2, 3});
  const Tensor m = iota({3, 2});  // [[0,1],[2,3],[4,5]]
  const auto vm = run_node("MatMul", {{"a", v}, {"b", m}}, {"y"}).at("y");
  EXPECT_EQ(vm.shape(), (Shape{2}));
  EXPECT_EQ(values_of(vm), (std::vector<float>{16, 22}));
  const auto mv = run_node("MatMul", {{"a", iota({2, 3})}, {"b", v}}, {"y"}).at("y");
  EXPECT_EQ(mv.shape(), (Shape{2}));
  EXPECT_EQ(values_of(mv), (std::vector<float>{8, 26}));
  const auto dot = run_node("MatMul", {{"a", v}, {"b", v}}, {"y"}).at("y");
  EXPECT_EQ(dot.shape(), (Shape{}));
  EXPECT_EQ(values_of(dot), (std::vector<float>{14}));
  // A stack times a vector: [2, 2, 3] @ [3] -> [2, 2].
  const auto sv = run_node("MatMul", {{"a", iota({2, 2, 3})}, {"b", v}}, {"y"}).at("y");
  EXPECT_EQ(sv.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of(sv), (std::vector<float>{8, 26, 44, 62}));
}

TEST(RuntimeMathOps, MatMulRejectsMismatchedInnerDimensions) {
  EXPECT_THROW(run_node("MatMul", {{"a", iota({2, 3})}, {"b", iota({2, 2})}}, {"y"}), onnx_fp16::Error);
}

TEST(RuntimeMathOps, Float16MatMulAccumulatesInFloat32AndRoundsOnce) {
  // 4096 products of (1 + 2^-10) * 1. Summed in float16 the total would stop growing at 2048
  // (adding ~1 to 2048 rounds back to 2048); summed in float32 it is exactly 4096 + 4 = 4100,
  // which float16 represents, so the one final rounding keeps it.
  constexpr std::size_t k = 4096;
  const float element = 1.0f + std::ldexp(1.0f, -10);
  const auto y = run_node("MatMul",
                          {{"a", halves({1, static_cast<std::int64_t>(k)}, std::vector<float>(k, element))},
                           {"b", halves({static_cast<std::int64_t>(k), 1}, std::vector<float>(k, 1.0f))}},
                          {"y"})
                     .at("y");
  ASSERT_EQ(y.dtype(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(values_of(y), (std::vector<float>{4100.0f}));
  // Gemm and Einsum take the same path.
  const auto g = run_node("Gemm",
                          {{"a", halves({1, static_cast<std::int64_t>(k)}, std::vector<float>(k, element))},
                           {"b", halves({static_cast<std::int64_t>(k), 1}, std::vector<float>(k, 1.0f))}},
                          {"y"})
                     .at("y");
  EXPECT_EQ(values_of(g), (std::vector<float>{4100.0f}));
  const auto e = run_node("Einsum",
                          {{"a", halves({static_cast<std::int64_t>(k)}, std::vector<float>(k, element))},
                           {"b", halves({static_cast<std::int64_t>(k)}, std::vector<float>(k, 1.0f))}},
                          {"y"}, [](auto& n) { modelgen::attr_string(n, "equation", "i,i->"); })
                     .at("y");
  EXPECT_EQ(values_of(e), (std::vector<float>{4100.0f}));
}

TEST(RuntimeMathOps, GemmTransposesScalesAndBroadcastsC) {
  const Tensor a = iota({3, 2});  // used transposed: A' = [[0,2,4],[1,3,5]]
  const Tensor b = iota({4, 3});  // used transposed: B' is [3, 4]
  const Tensor c = floats({4}, {1, 2, 3, 4});
  const auto y = run_node("Gemm", {{"a", a}, {"b", b}, {"c", c}}, {"y"}, [](auto& n) {
                   modelgen::attr_int(n, "transA", 1);
                   modelgen::attr_int(n, "transB", 1);
                   modelgen::attr_float(n, "alpha", 0.5f);
                   modelgen::attr_float(n, "beta", 2.0f);
                 }).at("y");
  ASSERT_EQ(y.shape(), (Shape{2, 4}));
  const auto out = values_of(y);
  for (std::size_t i = 0; i < 2; ++i) {
    for (std::size_t j = 0; j < 4; ++j) {
      float sum = 0;
      for (std::size_t p = 0; p < 3; ++p) sum += static_cast<float>(p * 2 + i) * static_cast<float>(j * 3 + p);
      EXPECT_FLOAT_EQ(out[i * 4 + j], 0.5f * sum + 2.0f * static_cast<float>(j + 1)) << i << j;
    }
  }
  // A scalar C, and no C at all (optional from opset 11).
  const auto scalar_c = run_node("Gemm", {{"a", iota({2, 2})}, {"b", iota({2, 2})}, {"c", floats({}, {10})}}, {"y"});
  EXPECT_EQ(values_of(scalar_c.at("y")), (std::vector<float>{12, 13, 16, 21}));
  const auto no_c = run_node("Gemm", {{"a", iota({2, 2})}, {"b", iota({2, 2})}}, {"y"});
  EXPECT_EQ(values_of(no_c.at("y")), (std::vector<float>{2, 3, 6, 11}));
}

// A product of one row or one column runs as a matrix-vector product (math_gemm.cc): every
// transposition of both operands, C scaled and added, and n over a 512-column tile edge.
TEST(RuntimeMathOps, GemmOfOneRowOrOneColumnTransposesLikeAnyOther) {
  struct Case {
    std::size_t m, k, n;
  };
  // 129 x 513: the last row tile has one row and the last column tile one column, inside a
  // larger matrix (strided vectors).
  for (const Case& c : {Case{1, 37, 1100}, Case{300, 37, 1}, Case{1, 5, 1}, Case{129, 37, 513}}) {
    for (const int trans_a : {0, 1}) {
      for (const int trans_b : {0, 1}) {
        SCOPED_TRACE(std::to_string(c.m) + "x" + std::to_string(c.k) + "x" + std::to_string(c.n) + " transA " +
                     std::to_string(trans_a) + " transB " + std::to_string(trans_b));
        // op(a)[i][p] = sin(i * 7 + p), op(b)[p][j] = cos(p * 3 + j), stored as the flags say.
        std::vector<float> a(c.m * c.k), b(c.k * c.n), bias(c.n);
        for (std::size_t i = 0; i < c.m; ++i) {
          for (std::size_t p = 0; p < c.k; ++p) {
            a[trans_a ? p * c.m + i : i * c.k + p] = std::sin(static_cast<float>(i * 7 + p));
          }
        }
        for (std::size_t p = 0; p < c.k; ++p) {
          for (std::size_t j = 0; j < c.n; ++j) {
            b[trans_b ? j * c.k + p : p * c.n + j] = std::cos(static_cast<float>(p * 3 + j));
          }
        }
        for (std::size_t j = 0; j < c.n; ++j) bias[j] = static_cast<float>(j % 5);
        const Shape a_shape = trans_a ? Shape{static_cast<std::int64_t>(c.k), static_cast<std::int64_t>(c.m)}
                                      : Shape{static_cast<std::int64_t>(c.m), static_cast<std::int64_t>(c.k)};
        const Shape b_shape = trans_b ? Shape{static_cast<std::int64_t>(c.n), static_cast<std::int64_t>(c.k)}
                                      : Shape{static_cast<std::int64_t>(c.k), static_cast<std::int64_t>(c.n)};
        const auto y = run_node("Gemm",
                                {{"a", floats(a_shape, a)},
                                 {"b", floats(b_shape, b)},
                                 {"c", floats({static_cast<std::int64_t>(c.n)}, bias)}},
                                {"y"},
                                [&](auto& node) {
                                  modelgen::attr_int(node, "transA", trans_a);
                                  modelgen::attr_int(node, "transB", trans_b);
                                  modelgen::attr_float(node, "alpha", 0.5f);
                                  modelgen::attr_float(node, "beta", 2.0f);
                                })
                           .at("y");
        ASSERT_EQ(y.shape(), (Shape{static_cast<std::int64_t>(c.m), static_cast<std::int64_t>(c.n)}));
        const auto out = values_of(y);
        for (std::size_t i = 0; i < c.m; ++i) {
          for (std::size_t j = 0; j < c.n; ++j) {
            double sum = 0;
            for (std::size_t p = 0; p < c.k; ++p) {
              sum += static_cast<double>(std::sin(static_cast<float>(i * 7 + p))) * std::cos(static_cast<float>(p * 3 + j));
            }
            ASSERT_NEAR(out[i * c.n + j], 0.5 * sum + 2.0 * bias[j], 1e-4) << i << "," << j;
          }
        }
      }
    }
  }
}

TEST(RuntimeMathOps, EinsumHandlesDiagonalsTransposesAndBatches) {
  const auto diagonal =
      run_node("Einsum", {{"x", iota({3, 3})}}, {"y"}, [](auto& n) { modelgen::attr_string(n, "equation", "ii->i"); });
  EXPECT_EQ(values_of(diagonal.at("y")), (std::vector<float>{0, 4, 8}));
  const auto trace =
      run_node("Einsum", {{"x", iota({3, 3})}}, {"y"}, [](auto& n) { modelgen::attr_string(n, "equation", "ii"); });
  EXPECT_EQ(values_of(trace.at("y")), (std::vector<float>{12}));
  const auto transposed =
      run_node("Einsum", {{"x", iota({2, 3})}}, {"y"}, [](auto& n) { modelgen::attr_string(n, "equation", "ij->ji"); });
  EXPECT_EQ(transposed.at("y").shape(), (Shape{3, 2}));
  EXPECT_EQ(values_of(transposed.at("y")), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  // A batched product, written with its output in another order ("bik" -> "kbi").
  const Tensor a = iota({2, 2, 3}, 0.5f);
  const Tensor b = iota({2, 3, 2}, 0.25f, -1.0f);
  const auto product = run_node("Einsum", {{"a", a}, {"b", b}}, {"y"}, [](auto& n) {
                         modelgen::attr_string(n, "equation", "bij,bjk->kbi");
                       }).at("y");
  ASSERT_EQ(product.shape(), (Shape{2, 2, 2}));
  const auto expected = reference_matmul(values_of(a), values_of(b), 2, 2, 3, 2, false);  // [b, i, k]
  const auto out = values_of(product);
  for (std::size_t bb = 0; bb < 2; ++bb) {
    for (std::size_t i = 0; i < 2; ++i) {
      for (std::size_t k = 0; k < 2; ++k) EXPECT_FLOAT_EQ(out[(k * 2 + bb) * 2 + i], expected[(bb * 2 + i) * 2 + k]);
    }
  }
  // Implicit output with "...": broadcasting batch dimensions, letters used once in order.
  const auto implicit = run_node("Einsum", {{"a", iota({2, 2, 3})}, {"b", iota({3, 2})}}, {"y"},
                                 [](auto& n) { modelgen::attr_string(n, "equation", "...ij,jk"); });
  EXPECT_EQ(implicit.at("y").shape(), (Shape{2, 2, 2}));
}

TEST(RuntimeMathOps, FusedMatMulTransposesBatchAndScales) {
  // A is [K=2, B=3, M=1]... laid out so that transBatchA + transA read it as [B, M, K]:
  // transBatchA moves dim 0 next to the last ([3, 2, 1] with rows K), transA swaps them.
  const Tensor a = iota({2, 3, 1});
  const Tensor b = iota({3, 2, 2});
  const auto y = run_node(
                     "FusedMatMul", {{"a", a}, {"b", b}}, {"y"},
                     [](auto& n) {
                       modelgen::attr_int(n, "transBatchA", 1);
                       modelgen::attr_int(n, "transA", 1);
                       modelgen::attr_float(n, "alpha", 2.0f);
                     },
                     1, "com.microsoft")
                     .at("y");
  ASSERT_EQ(y.shape(), (Shape{3, 1, 2}));
  const auto av = values_of(a);  // a[k][b][0]
  const auto bv = values_of(b);  // b[b][k][n]
  const auto out = values_of(y);
  for (std::size_t bb = 0; bb < 3; ++bb) {
    for (std::size_t n = 0; n < 2; ++n) {
      float sum = 0;
      for (std::size_t k = 0; k < 2; ++k) sum += av[k * 3 + bb] * bv[(bb * 2 + k) * 2 + n];
      EXPECT_FLOAT_EQ(out[bb * 2 + n], 2.0f * sum);
    }
  }
}

TEST(RuntimeMathOps, MatMulIntegerSubtractsZeroPoints) {
  const auto a = Tensor::from_vector<std::uint8_t>({2, 2}, {10, 12, 14, 16});
  const auto b = Tensor::from_vector<std::int8_t>({2, 2}, {1, -1, 2, 3});
  const auto a_zero = Tensor::from_vector<std::uint8_t>({}, {10});
  const auto b_zero = Tensor::from_vector<std::int8_t>({2}, {1, -1});  // per column
  const auto y = run_node("MatMulInteger", {{"a", a}, {"b", b}, {"az", a_zero}, {"bz", b_zero}}, {"y"}).at("y");
  ASSERT_EQ(y.dtype(), onnx::TensorProto::INT32);
  const auto v = y.data<std::int32_t>();
  // A - 10 = [[0, 2], [4, 6]]; B - [1, -1] = [[0, 0], [1, 4]].
  EXPECT_EQ(std::vector<std::int32_t>(v.begin(), v.end()), (std::vector<std::int32_t>{2, 8, 6, 24}));
}

// MatMulInteger runs as a double-precision BLAS product: exact, because every product and sum
// of 8-bit values (less their zero points) is an integer far below 2^53. Sums beyond int32 wrap
// as the hardware's do: 40,000 products of 255 x 255 are 2,601,000,000 (beyond what float32
// holds exactly), which int32 holds as 2,601,000,000 - 2^32. A stack of matrices with per-row
// and per-column zero points comes out as the definition says.
// What a dynamically quantized transformer multiplies: uint8 activations (a stack of rows, a
// per-tensor zero point) by one uint8 or int8 weight matrix (zero point per tensor or per
// column), with inner sizes that are not multiples of 4 and widths that are not multiples of 16
// (on AVX-512 VNNI CPUs the direct path of nn_integer_conv.h; elsewhere float32 slices). Against
// the definition, value by value.
TEST(RuntimeMathOps, MatMulIntegerMatchesTheDefinitionOnQuantizedTransformerShapes) {
  struct Case {
    std::vector<std::int64_t> a_shape;
    std::int64_t n;
    bool int8_weights, per_column;
  };
  std::uint32_t seed = 5;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<int>(seed >> 24);
  };
  for (const Case& c : {Case{{2, 5, 37}, 70, false, true}, Case{{7, 64}, 33, true, false}, Case{{130, 12}, 16, false, false},
                        Case{{3}, 129, true, true}}) {
    const std::int64_t k = c.a_shape.back();
    std::vector<std::uint8_t> a(static_cast<std::size_t>(std::accumulate(c.a_shape.begin(), c.a_shape.end(), std::int64_t{1},
                                                                         std::multiplies<>())));
    for (auto& v : a) v = static_cast<std::uint8_t>(next());
    std::vector<int> b(static_cast<std::size_t>(k * c.n));
    for (auto& v : b) v = c.int8_weights ? next() - 128 : next();
    const int az = next();
    std::vector<int> bz(c.per_column ? static_cast<std::size_t>(c.n) : 1);
    for (auto& v : bz) v = c.int8_weights ? next() - 128 : next();
    auto weights = [&](const std::vector<int>& v, onnx_fp16::Shape shape) {
      return test_support::int8_or_uint8(c.int8_weights, std::move(shape), v);
    };
    const auto y = run_node("MatMulInteger",
                            {{"a", Tensor::from_vector<std::uint8_t>(c.a_shape, a)},
                             {"b", weights(b, {k, c.n})},
                             {"az", Tensor::from_vector<std::uint8_t>({}, {static_cast<std::uint8_t>(az)})},
                             {"bz", weights(bz, c.per_column ? onnx_fp16::Shape{c.n} : onnx_fp16::Shape{})}},
                            {"y"})
                       .at("y");
    const auto got = y.data<std::int32_t>();
    const std::size_t rows = a.size() / static_cast<std::size_t>(k);
    ASSERT_EQ(got.size(), rows * static_cast<std::size_t>(c.n));
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < c.n; ++j) {
        std::int64_t sum = 0;
        for (std::int64_t p = 0; p < k; ++p) {
          sum += static_cast<std::int64_t>(a[r * static_cast<std::size_t>(k) + static_cast<std::size_t>(p)] - az) *
                 (b[static_cast<std::size_t>(p * c.n + j)] - bz[c.per_column ? static_cast<std::size_t>(j) : 0]);
        }
        ASSERT_EQ(got[r * static_cast<std::size_t>(c.n) + static_cast<std::size_t>(j)], static_cast<std::int32_t>(sum))
            << "k " << k << ", n " << c.n << " at " << r << "," << j;
      }
    }
  }
}

TEST(RuntimeMathOps, MatMulIntegerIsExactAndWrapsBeyondInt32) {
  const std::size_t k = 40000;
  const auto a = Tensor::from_vector<std::uint8_t>({1, static_cast<std::int64_t>(k)}, std::vector<std::uint8_t>(k, 255));
  const auto b = Tensor::from_vector<std::uint8_t>({static_cast<std::int64_t>(k), 2}, [&] {
    std::vector<std::uint8_t> values(2 * k, 255);
    for (std::size_t p = 0; p < k; ++p) values[2 * p + 1] = p == 0 ? 2 : 1;  // column 1: 255 * (2 + 39999)
    return values;
  }());
  const auto y = run_node("MatMulInteger", {{"a", a}, {"b", b}}, {"y"}).at("y");
  const auto v = y.data<std::int32_t>();
  EXPECT_EQ(v[0], static_cast<std::int32_t>(std::int64_t{2601000000} - (std::int64_t{1} << 32)));
  EXPECT_EQ(v[1], 255 * 40001);

  // A stack of two 3x5 by 5x4 products, zero points per row of A and per column of B, against
  // the definition.
  std::vector<std::int8_t> av(2 * 3 * 5), bv(2 * 5 * 4);
  for (std::size_t i = 0; i < av.size(); ++i) av[i] = static_cast<std::int8_t>(static_cast<int>(i * 37 % 256) - 128);
  for (std::size_t i = 0; i < bv.size(); ++i) bv[i] = static_cast<std::int8_t>(static_cast<int>(i * 91 % 256) - 128);
  const std::vector<std::int8_t> az{-3, 5, 127}, bz{1, -128, 0, 7};
  const auto stacked = run_node("MatMulInteger",
                                {{"a", Tensor::from_vector<std::int8_t>({2, 3, 5}, av)},
                                 {"b", Tensor::from_vector<std::int8_t>({2, 5, 4}, bv)},
                                 {"az", Tensor::from_vector<std::int8_t>({3}, az)},
                                 {"bz", Tensor::from_vector<std::int8_t>({4}, bz)}},
                                {"y"})
                           .at("y");
  const auto sv = stacked.data<std::int32_t>();
  for (std::size_t m = 0; m < 2; ++m) {
    for (std::size_t i = 0; i < 3; ++i) {
      for (std::size_t j = 0; j < 4; ++j) {
        std::int32_t sum = 0;
        for (std::size_t p = 0; p < 5; ++p) sum += (av[(m * 3 + i) * 5 + p] - az[i]) * (bv[(m * 5 + p) * 4 + j] - bz[j]);
        EXPECT_EQ(sv[(m * 3 + i) * 4 + j], sum) << m << " " << i << " " << j;
      }
    }
  }
}

TEST(RuntimeMathOps, IntegerProductsWrapAndStayExact) {
  // int64 values beyond float precision: BLAS is not used for integers.
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  const auto a = Tensor::from_vector<std::int64_t>({1, 2}, {big, 1});
  const auto b = Tensor::from_vector<std::int64_t>({2, 1}, {1, 1});
  const auto y = run_node("MatMul", {{"a", a}, {"b", b}}, {"y"}).at("y");
  EXPECT_EQ(y.data<std::int64_t>()[0], big + 1);
  const auto x = Tensor::from_vector<std::int32_t>({2, 2}, {1, 2, 3, 4});
  const auto e = run_node("Einsum", {{"x", x}}, {"y"}, [](auto& n) { modelgen::attr_string(n, "equation", "ij->"); });
  EXPECT_EQ(e.at("y").data<std::int32_t>()[0], 10);
  // An integer mean is computed in double and truncated as Cast would: (1 + 2) / 2 -> 1.
  const auto mean = run_node("ReduceMean", {{"x", Tensor::from_vector<std::int32_t>({2}, {1, 2})}}, {"y"}).at("y");
  EXPECT_EQ(mean.data<std::int32_t>()[0], 1);
}

// ---- reductions ----

TEST(RuntimeMathOps, ReduceSumTakesNegativeAxesFromItsInputAtOpset13) {
  const Tensor x = iota({2, 3, 2});
  const auto kept = run_node("ReduceSum", {{"x", x}, {"axes", int64s({1}, {-2})}}, {"y"}).at("y");
  EXPECT_EQ(kept.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values_of(kept), (std::vector<float>{6, 9, 24, 27}));
  const auto dropped = run_node("ReduceSum", {{"x", x}, {"axes", int64s({2}, {0, -1})}}, {"y"}, [](auto& n) {
                         modelgen::attr_int(n, "keepdims", 0);
                       }).at("y");
  EXPECT_EQ(dropped.shape(), (Shape{3}));
  EXPECT_EQ(values_of(dropped), (std::vector<float>{14, 22, 30}));
}

TEST(RuntimeMathOps, ReduceSumWithoutAxesReducesAllOrNothing) {
  const Tensor x = iota({2, 2});
  const auto all = run_node("ReduceSum", {{"x", x}}, {"y"}).at("y");
  EXPECT_EQ(all.shape(), (Shape{1, 1}));
  EXPECT_EQ(values_of(all), (std::vector<float>{6}));
  const auto empty_axes = run_node("ReduceSum", {{"x", x}, {"axes", int64s({0}, {})}}, {"y"}, [](auto& n) {
                            modelgen::attr_int(n, "noop_with_empty_axes", 1);
                          }).at("y");
  EXPECT_EQ(empty_axes.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of(empty_axes), values_of(x));
  const auto scalar = run_node("ReduceSum", {{"x", x}, {"axes", int64s({0}, {})}}, {"y"}, [](auto& n) {
                        modelgen::attr_int(n, "keepdims", 0);
                      }).at("y");
  EXPECT_EQ(scalar.shape(), (Shape{}));
  EXPECT_EQ(values_of(scalar), (std::vector<float>{6}));
}

TEST(RuntimeMathOps, ReduceOpsBeforeOpset18TakeAxesAsAnAttribute) {
  const Tensor x = floats({2, 3}, {1, -2, 3, -4, 5, -6});
  const auto attr_axes = [](auto& n) { modelgen::attr_ints(n, "axes", {-1}); };
  EXPECT_EQ(values_of(run_node("ReduceMean", {{"x", x}}, {"y"}, attr_axes, 13).at("y")),
            (std::vector<float>{2.0f / 3.0f, -5.0f / 3.0f}));
  EXPECT_EQ(values_of(run_node("ReduceMax", {{"x", x}}, {"y"}, attr_axes, 13).at("y")), (std::vector<float>{3, 5}));
  EXPECT_EQ(values_of(run_node("ReduceMin", {{"x", x}}, {"y"}, attr_axes, 13).at("y")), (std::vector<float>{-2, -6}));
  EXPECT_EQ(values_of(run_node("ReduceProd", {{"x", x}}, {"y"}, attr_axes, 13).at("y")), (std::vector<float>{-6, 120}));
  EXPECT_EQ(values_of(run_node("ReduceL1", {{"x", x}}, {"y"}, attr_axes, 13).at("y")), (std::vector<float>{6, 15}));
  EXPECT_EQ(values_of(run_node("ReduceSumSquare", {{"x", x}}, {"y"}, attr_axes, 13).at("y")),
            (std::vector<float>{14, 77}));
  const auto l2 = values_of(run_node("ReduceL2", {{"x", x}}, {"y"}, attr_axes, 13).at("y"));
  EXPECT_FLOAT_EQ(l2[1], std::sqrt(77.0f));
  // At opset 18 the axes are an input.
  const auto max18 = run_node("ReduceMax", {{"x", x}, {"axes", int64s({1}, {0})}}, {"y"}, {}, 18).at("y");
  EXPECT_EQ(values_of(max18), (std::vector<float>{1, 5, 3}));
}

TEST(RuntimeMathOps, ReduceLogSumExpDoesNotOverflow) {
  const auto y = run_node("ReduceLogSumExp", {{"x", floats({2}, {1000, 1000})}}, {"y"}).at("y");
  EXPECT_FLOAT_EQ(values_of(y)[0], 1000.0f + std::log(2.0f));
}

TEST(RuntimeMathOps, Float16ReduceSumAccumulatesInFloat32) {
  // 2048 + 1 + 1: pairwise float16 sums would stay at 2048, float32 gives 2050 exactly.
  const auto y = run_node("ReduceSum", {{"x", halves({3}, {2048, 1, 1})}}, {"y"}).at("y");
  EXPECT_EQ(values_of(y), (std::vector<float>{2050}));
}

// ---- ranking ----

TEST(RuntimeMathOps, ArgMaxPicksFirstOrLastOfEqualValues) {
  const Tensor x = floats({2, 3}, {1, 5, 5, 7, 2, 7});
  const auto first = run_node("ArgMax", {{"x", x}}, {"y"}, [](auto& n) { modelgen::attr_int(n, "axis", -1); }).at("y");
  EXPECT_EQ(first.shape(), (Shape{2, 1}));
  auto v = first.data<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(v.begin(), v.end()), (std::vector<std::int64_t>{1, 0}));
  const auto last = run_node("ArgMax", {{"x", x}}, {"y"}, [](auto& n) {
                      modelgen::attr_int(n, "axis", 1);
                      modelgen::attr_int(n, "keepdims", 0);
                      modelgen::attr_int(n, "select_last_index", 1);
                    }).at("y");
  EXPECT_EQ(last.shape(), (Shape{2}));
  v = last.data<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(v.begin(), v.end()), (std::vector<std::int64_t>{2, 2}));
  const auto argmin = run_node("ArgMin", {{"x", x}}, {"y"}).at("y");  // axis 0
  v = argmin.data<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(v.begin(), v.end()), (std::vector<std::int64_t>{0, 1, 0}));
}

TEST(RuntimeMathOps, TopKListsEqualValuesByLowerIndexFirst) {
  const Tensor x = floats({1, 5}, {3, 1, 3, 2, 3});
  const auto out = run_node("TopK", {{"x", x}, {"k", int64s({1}, {3})}}, {"values", "indices"});
  EXPECT_EQ(values_of(out.at("values")), (std::vector<float>{3, 3, 3}));
  auto idx = out.at("indices").data<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(idx.begin(), idx.end()), (std::vector<std::int64_t>{0, 2, 4}));
  const auto smallest = run_node("TopK", {{"x", x}, {"k", int64s({1}, {2})}}, {"values", "indices"},
                                 [](auto& n) { modelgen::attr_int(n, "largest", 0); });
  EXPECT_EQ(values_of(smallest.at("values")), (std::vector<float>{1, 2}));
  idx = smallest.at("indices").data<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(idx.begin(), idx.end()), (std::vector<std::int64_t>{1, 3}));
}

TEST(RuntimeMathOps, CumSumExclusiveAndReverse) {
  const Tensor x = floats({4}, {1, 2, 3, 4});
  const auto axis = int64s({}, {0});
  const auto both = run_node("CumSum", {{"x", x}, {"axis", axis}}, {"y"}, [](auto& n) {
                      modelgen::attr_int(n, "exclusive", 1);
                      modelgen::attr_int(n, "reverse", 1);
                    }).at("y");
  EXPECT_EQ(values_of(both), (std::vector<float>{9, 7, 4, 0}));
  const auto plain = run_node("CumSum", {{"x", x}, {"axis", axis}}, {"y"}).at("y");
  EXPECT_EQ(values_of(plain), (std::vector<float>{1, 3, 6, 10}));
}

// ---- softmax family ----

TEST(RuntimeMathOps, SoftmaxAxisMeansTrailingBlockBeforeOpset13AndOneDimensionAfter) {
  const Tensor x = floats({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  const auto axis1 = [](auto& n) { modelgen::attr_int(n, "axis", 1); };
  // Opset 11: each row of [2, 4] (dimensions 1 and 2 together) sums to 1.
  const auto old = values_of(run_node("Softmax", {{"x", x}}, {"y"}, axis1, 11).at("y"));
  float denominator = 0;
  for (int i = 0; i < 4; ++i) denominator += std::exp(static_cast<float>(i) - 3.0f);
  EXPECT_NEAR(old[0], std::exp(-3.0f) / denominator, 1e-7f);
  EXPECT_NEAR(old[0] + old[1] + old[2] + old[3], 1.0f, 1e-6f);
  // Opset 13: along dimension 1 only: pairs (0, 2), (1, 3), ... sum to 1.
  const auto now = values_of(run_node("Softmax", {{"x", x}}, {"y"}, axis1, 13).at("y"));
  EXPECT_NEAR(now[0], 1.0f / (1.0f + std::exp(2.0f)), 1e-7f);
  EXPECT_NEAR(now[0] + now[2], 1.0f, 1e-6f);
  EXPECT_NE(old[0], now[0]);
  // The defaults differ too: axis 1 (all but the first dimension) before, -1 after.
  const auto old_default = values_of(run_node("LogSoftmax", {{"x", x}}, {"y"}, {}, 11).at("y"));
  EXPECT_NEAR(old_default[0], -3.0f - std::log(denominator), 1e-5f);
  const auto hardmax = values_of(run_node("Hardmax", {{"x", x}}, {"y"}, {}, 13).at("y"));
  EXPECT_EQ(hardmax, (std::vector<float>{0, 1, 0, 1, 0, 1, 0, 1}));
}

TEST(RuntimeMathOps, SoftmaxOfLargeValuesSubtractsTheMaximum) {
  const auto y = values_of(run_node("Softmax", {{"x", halves({2}, {60000, 60000})}}, {"y"}).at("y"));
  EXPECT_EQ(y, (std::vector<float>{0.5f, 0.5f}));
}

// ---- normalisation ----

TEST(RuntimeMathOps, LayerNormalizationWritesMeanAndInvStdDevInFloat32) {
  const Tensor x = halves({2, 4}, {1, 2, 3, 4, -2, 0, 2, 4});
  const Tensor scale = halves({4}, {1, 1, 2, 2});
  const Tensor bias = halves({4}, {0, 0, 0, 1});
  const auto out = run_node("LayerNormalization", {{"x", x}, {"scale", scale}, {"bias", bias}}, {"y", "mean", "inv"},
                            [](auto& n) { modelgen::attr_float(n, "epsilon", 0.0f); });
  const Tensor& mean = out.at("mean");
  const Tensor& inv = out.at("inv");
  ASSERT_EQ(mean.dtype(), onnx::TensorProto::FLOAT);
  ASSERT_EQ(inv.dtype(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(mean.shape(), (Shape{2, 1}));
  EXPECT_EQ(values_of(mean), (std::vector<float>{2.5f, 1.0f}));
  const float inv0 = 1.0f / std::sqrt(1.25f);
  const float inv1 = 1.0f / std::sqrt(5.0f);
  EXPECT_FLOAT_EQ(values_of(inv)[0], inv0);
  EXPECT_FLOAT_EQ(values_of(inv)[1], inv1);
  const Tensor& y = out.at("y");
  ASSERT_EQ(y.dtype(), onnx::TensorProto::FLOAT16);
  const float expected[] = {-1.5f * inv0, -0.5f * inv0, 2 * 0.5f * inv0, 2 * 1.5f * inv0 + 1,
                            -3.0f * inv1, -1.0f * inv1, 2 * 1.0f * inv1, 2 * 3.0f * inv1 + 1};
  const auto got = values_of(y);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(got[i], half::half_to_float(half::float_to_half(expected[i]))) << i;
  }
}

TEST(RuntimeMathOps, BatchNormalizationInferenceAndTrainingMode) {
  const Tensor x = floats({2, 2, 1}, {1, 2, 3, 6});  // channel 0: {1, 3}, channel 1: {2, 6}
  const Tensor scale = floats({2}, {1, 2});
  const Tensor bias = floats({2}, {0, 1});
  const Tensor mean = floats({2}, {1, 2});
  const Tensor var = floats({2}, {4, 16});
  const auto eps0 = [](auto& n) { modelgen::attr_float(n, "epsilon", 0.0f); };
  const auto inference =
      run_node("BatchNormalization", {{"x", x}, {"s", scale}, {"b", bias}, {"m", mean}, {"v", var}}, {"y"}, eps0, 15);
  EXPECT_EQ(values_of(inference.at("y")), (std::vector<float>{0, 1, 1, 3}));
  const auto training = run_node(
      "BatchNormalization", {{"x", x}, {"s", scale}, {"b", bias}, {"m", mean}, {"v", var}}, {"y", "rm", "rv"},
      [](auto& n) {
        modelgen::attr_float(n, "epsilon", 0.0f);
        modelgen::attr_float(n, "momentum", 0.5f);
        modelgen::attr_int(n, "training_mode", 1);
      },
      15);
  // Batch statistics: channel 0 mean 2 var 1, channel 1 mean 4 var 4.
  EXPECT_EQ(values_of(training.at("y")), (std::vector<float>{-1, -1, 1, 3}));
  EXPECT_EQ(values_of(training.at("rm")), (std::vector<float>{1.5f, 3.0f}));
  EXPECT_EQ(values_of(training.at("rv")), (std::vector<float>{2.5f, 10.0f}));
}

TEST(RuntimeMathOps, InstanceLpAndMeanVarianceNormalization) {
  const Tensor x = floats({1, 2, 2}, {1, 3, 0, 4});
  const auto instance =
      run_node("InstanceNormalization", {{"x", x}, {"s", floats({2}, {1, 2})}, {"b", floats({2}, {0, 1})}}, {"y"},
               [](auto& n) { modelgen::attr_float(n, "epsilon", 0.0f); });
  EXPECT_EQ(values_of(instance.at("y")), (std::vector<float>{-1, 1, -1, 3}));
  const auto lp = run_node("LpNormalization", {{"x", floats({2, 2}, {3, 4, 0, 0})}}, {"y"});
  EXPECT_EQ(values_of(lp.at("y")), (std::vector<float>{0.6f, 0.8f, 0, 0}));
  const auto mvn = values_of(run_node("MeanVarianceNormalization", {{"x", x}}, {"y"}, [](auto& n) {
                               modelgen::attr_ints(n, "axes", {2});
                             }).at("y"));
  EXPECT_NEAR(mvn[0], -1.0f, 1e-6f);
  EXPECT_NEAR(mvn[3], 1.0f, 1e-6f);
}

// ---- com.microsoft fusions and activations ----

TEST(RuntimeMathOps, SkipLayerNormalizationAddsSkipAndBiasBeforeNormalising) {
  const Tensor x = floats({1, 2, 2}, {1, 2, 3, 4});
  const Tensor skip = floats({1, 2, 2}, {1, 0, 0, 2});
  const Tensor gamma = floats({2}, {1, 1});
  const Tensor beta = floats({2}, {0, 10});
  const Tensor bias = floats({2}, {0, 1});
  const auto out = run_node(
      "SkipLayerNormalization", {{"x", x}, {"skip", skip}, {"gamma", gamma}, {"beta", beta}, {"bias", bias}},
      {"y", "", "", "sum"}, [](auto& n) { modelgen::attr_float(n, "epsilon", 0.0f); }, 1, "com.microsoft");
  EXPECT_EQ(values_of(out.at("sum")), (std::vector<float>{2, 3, 3, 7}));
  EXPECT_EQ(values_of(out.at("y")), (std::vector<float>{-1, 11, -1, 11}));
  const auto rms = run_node(
      "SimplifiedLayerNormalization", {{"x", floats({2}, {3, 4})}, {"s", floats({2}, {1, 2})}}, {"y"},
      [](auto& n) { modelgen::attr_float(n, "epsilon", 0.0f); }, 1);
  const float r = std::sqrt(12.5f);
  EXPECT_FLOAT_EQ(values_of(rms.at("y"))[0], 3.0f / r);
  EXPECT_FLOAT_EQ(values_of(rms.at("y"))[1], 8.0f / r);
}

TEST(RuntimeMathOps, GeluFamily) {
  const Tensor x = floats({3}, {-1, 0, 2});
  const auto gelu = values_of(run_node("Gelu", {{"x", x}}, {"y"}, {}, 1, "com.microsoft").at("y"));
  EXPECT_NEAR(gelu[2], 2.0f * 0.5f * (1.0f + std::erf(2.0f / std::sqrt(2.0f))), 1e-6f);
  const auto bias_gelu =
      values_of(run_node("BiasGelu", {{"x", x}, {"b", floats({1}, {1})}}, {"y"}, {}, 1, "com.microsoft").at("y"));
  EXPECT_NEAR(bias_gelu[0], 0.0f, 1e-7f);
  EXPECT_NEAR(bias_gelu[1], 0.5f * (1.0f + std::erf(1.0f / std::sqrt(2.0f))), 1e-6f);
  const auto fast = values_of(run_node("FastGelu", {{"x", x}}, {"y"}, {}, 1, "com.microsoft").at("y"));
  EXPECT_NEAR(fast[2], gelu[2], 1e-3f);
  const auto quick = values_of(run_node("QuickGelu", {{"x", x}}, {"y"}, {}, 1, "com.microsoft").at("y"));
  EXPECT_NEAR(quick[2], 2.0f / (1.0f + std::exp(-1.702f * 2.0f)), 1e-6f);
  const auto bias_add = run_node(
      "BiasAdd", {{"x", floats({1, 1, 2}, {1, 2})}, {"b", floats({2}, {10, 20})}, {"s", floats({1, 1, 2}, {100, 200})}},
      {"y"}, {}, 1, "com.microsoft");
  EXPECT_EQ(values_of(bias_add.at("y")), (std::vector<float>{111, 222}));
}

TEST(RuntimeMathOps, PReluSlopeBroadcastsAndIsPerChannelBeforeOpset7) {
  const Tensor x = floats({1, 2, 2}, {-1, 1, -2, 2});
  const auto modern = run_node("PRelu", {{"x", x}, {"s", floats({2}, {0.5f, 0.25f})}}, {"y"}, {}, 9);
  EXPECT_EQ(values_of(modern.at("y")), (std::vector<float>{-0.5f, 1, -1, 2}));  // slope over the last axis
  const auto legacy = run_node("PRelu", {{"x", x}, {"s", floats({2}, {0.5f, 0.25f})}}, {"y"}, {}, 6);
  EXPECT_EQ(values_of(legacy.at("y")), (std::vector<float>{-0.5f, 1, -0.5f, 2}));  // slope per channel
}

TEST(RuntimeMathOps, ThresholdedReluCeluShrinkMish) {
  const Tensor x = floats({4}, {-2, -0.25f, 0.5f, 3});
  EXPECT_EQ(values_of(run_node("ThresholdedRelu", {{"x", x}}, {"y"}).at("y")), (std::vector<float>{0, 0, 0, 3}));
  const auto celu = values_of(run_node("Celu", {{"x", x}}, {"y"}).at("y"));
  EXPECT_FLOAT_EQ(celu[0], std::expm1(-2.0f));
  EXPECT_EQ(
      values_of(run_node("Shrink", {{"x", x}}, {"y"}, [](auto& n) { modelgen::attr_float(n, "bias", 0.5f); }).at("y")),
      (std::vector<float>{-1.5f, 0, 0, 2.5f}));
  const auto mish = values_of(run_node("Mish", {{"x", x}}, {"y"}, {}, 18).at("y"));
  EXPECT_NEAR(mish[3], 3.0f * std::tanh(std::log1p(std::exp(3.0f))), 1e-6f);
}

TEST(RuntimeMathOps, ResultsDoNotDependOnTheThreadCount) {
  // Large enough (256K values) for the row-parallel kernels to split their work.
  std::vector<float> values(4 * 64 * 1024);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i) * 0.37f) * 8.0f;
  const Tensor x = halves({4, 64, 1024}, values);
  const Tensor scale = halves({1024}, std::vector<float>(1024, 1.5f));
  struct Case {
    std::string op;
    std::vector<Input> inputs;
    std::vector<std::string> outputs;
    std::string domain;
    int opset;
  };
  const std::vector<Case> cases = {
      {"Softmax", {{"x", x}}, {"y"}, "", 17},
      {"LayerNormalization", {{"x", x}, {"s", scale}}, {"y", "mean", "inv"}, "", 17},
      {"ReduceSum", {{"x", x}, {"axes", int64s({1}, {1})}}, {"y"}, "", 17},
      {"CumSum", {{"x", x}, {"axis", int64s({}, {2})}}, {"y"}, "", 17},
      {"TopK", {{"x", x}, {"k", int64s({1}, {5})}}, {"y", "i"}, "", 17},
      {"ArgMax", {{"x", x}}, {"y"}, "", 17},
      {"FastGelu", {{"x", x}}, {"y"}, "com.microsoft", 1},
      {"SkipLayerNormalization", {{"x", x}, {"skip", x}, {"g", scale}}, {"y"}, "com.microsoft", 1},
  };
  for (const auto& c : cases) {
    const auto one = run_node(c.op, c.inputs, c.outputs, {}, c.opset, c.domain, 1);
    const auto four = run_node(c.op, c.inputs, c.outputs, {}, c.opset, c.domain, 4);
    for (const auto& name : c.outputs) {
      const auto a = one.at(name).bytes();
      const auto b = four.at(name).bytes();
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << c.op << " output " << name;
    }
  }
}

}  // namespace

namespace {

// Pow with the exponent 2 (a variance written out, as ConvNeXt's export does) is the base times
// itself, the correctly rounded square, signs, infinities and NaN included; another exponent
// still goes through pow.
TEST(RuntimeMathOps, PowByTwoIsTheCorrectlyRoundedSquare) {
  const float inf = std::numeric_limits<float>::infinity();
  // 1 + 2^-12 squares to 1 + 2^-11 + 2^-24: exactly half a float ulp above 1 + 2^-11, so the
  // square rounds to even.
  const std::vector<float> x = {0.0f, -0.0f, 1.5f, -3.25f, 1.0f + 0x1.0p-12f, 1e20f, -1e-30f, inf, -inf, std::nanf("")};
  const auto y = values_of(run_node("Pow", {{"x", floats({10}, x)}, {"e", floats({}, {2.0f})}}, {"y"}, {}, 13).at("y"));
  ASSERT_EQ(y.size(), x.size());
  for (std::size_t i = 0; i + 1 < x.size(); ++i) {
    const float expected = x[i] * x[i];
    EXPECT_EQ(std::memcmp(&y[i], &expected, sizeof(float)), 0) << x[i] << " squared gave " << y[i];
  }
  EXPECT_TRUE(std::isnan(y.back()));
  EXPECT_EQ(y[4], 1.0f + 0x1.0p-11f);
  // The exponent as float64 too (opset 12 lets it have its own type), and 3 is not a square.
  const auto cube = values_of(run_node("Pow", {{"x", floats({2}, {2.0f, -1.5f})},
                                               {"e", Tensor::from_vector<double>({}, {3.0})}}, {"y"}, {}, 13).at("y"));
  EXPECT_EQ(cube, (std::vector<float>{8.0f, -3.375f}));
}

}  // namespace

namespace {

// A reduction over the innermost axes folds rows side by side and over the threads (reduce.cc):
// each output is still its row summed in order, the same bits as the sequential definition,
// whatever the thread count; a row count not divisible by the side-by-side width included.
TEST(RuntimeMathOps, ReductionsOverInnermostAxesSumEachRowInOrder) {
  const Shape shape{3, 37, 5, 50};  // 111 rows of 250 after axes 2 and 3
  std::vector<float> x(onnx_fp16::element_count(shape));
  std::uint32_t seed = 7;
  for (auto& v : x) {
    seed = seed * 1664525u + 1013904223u;
    v = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
  }
  const std::size_t row = 250;
  for (int threads : {1, 2, 3}) {
    const auto axes = [](onnx::NodeProto& node) { modelgen::attr_ints(node, "axes", {2, -1}); };
    const auto mean = values_of(run_node("ReduceMean", {{"x", floats(shape, x)}}, {"y"}, axes, 13, "", threads).at("y"));
    const auto l2 = values_of(run_node("ReduceL2", {{"x", floats(shape, x)}}, {"y"}, axes, 13, "", threads).at("y"));
    ASSERT_EQ(mean.size(), x.size() / row);
    for (std::size_t r = 0; r < mean.size(); ++r) {
      float sum = 0, squares = 0;
      for (std::size_t i = 0; i < row; ++i) {
        sum += x[r * row + i];
        squares += x[r * row + i] * x[r * row + i];
      }
      ASSERT_EQ(mean[r], sum / static_cast<float>(row)) << "row " << r << ", " << threads << " threads";
      ASSERT_EQ(l2[r], std::sqrt(squares)) << "row " << r << ", " << threads << " threads";
    }
  }
}

}  // namespace

namespace {

// Sigmoid within 3 float32 ulps of the exact value (double precision) from -110 to 110, on the
// AVX-512 path where the CPU has it and the portable one elsewhere; below float32's normals
// (x < -87.3) both give 0, as exp(-x) overflows; NaN stays NaN, +-inf give 1 and 0.
TEST(RuntimeMathOps, SigmoidIsWithinThreeUlpsEverywhere) {
  std::vector<float> x;
  for (int i = -110000; i <= 110000; i += 7) x.push_back(static_cast<float>(i) / 1000.0f);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 88.5f, -88.5f, 103.9f, -103.9f, 1e10f, -1e10f}) x.push_back(v);
  const float inf = std::numeric_limits<float>::infinity();
  x.insert(x.end(), {inf, -inf, std::nanf("")});
  const std::size_t n = x.size();
  for (int threads : {1, 2}) {
    const auto y = values_of(
        run_node("Sigmoid", {{"x", floats({static_cast<std::int64_t>(n)}, x)}}, {"y"}, {}, 13, "", threads).at("y"));
    ASSERT_EQ(y.size(), n);
    for (std::size_t i = 0; i + 3 < n; ++i) {
      const double exact = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
      const float expected = static_cast<float>(exact);
      const float ulp = std::nextafter(expected, inf) - expected;
      const double allowed = std::max(3.0 * ulp, static_cast<double>(std::numeric_limits<float>::min()));
      ASSERT_LE(std::abs(static_cast<double>(y[i]) - exact), allowed)
          << "sigmoid(" << x[i] << ") = " << y[i] << ", exactly " << exact;
    }
    EXPECT_EQ(y[n - 3], 1.0f);
    EXPECT_EQ(y[n - 2], 0.0f);
    EXPECT_TRUE(std::isnan(y[n - 1]));
  }
}

// Erf within 3 float32 ulps of the exact value (double precision) from -6 to 6, across the
// AVX-512 path's two ranges (0.921875 and the tail, +-1 from 3.92 on) where the CPU has it and
// std::erf elsewhere; NaN stays NaN, +-inf give +-1, -0 gives -0.
TEST(RuntimeMathOps, ErfIsWithinThreeUlpsEverywhere) {
  std::vector<float> x;
  for (int i = -60000; i <= 60000; i += 3) x.push_back(static_cast<float>(i) / 10000.0f);
  for (float v : {1e-30f, -1e-30f, 1e-3f, 0.921875f, -0.921875f, 0.92187494f, 3.92f, 3.9200001f, 1e10f, -1e10f}) {
    x.push_back(v);
  }
  const float inf = std::numeric_limits<float>::infinity();
  x.insert(x.end(), {-0.0f, inf, -inf, std::nanf("")});
  const std::size_t n = x.size();
  for (int threads : {1, 2}) {
    const auto y = values_of(
        run_node("Erf", {{"x", floats({static_cast<std::int64_t>(n)}, x)}}, {"y"}, {}, 13, "", threads).at("y"));
    ASSERT_EQ(y.size(), n);
    for (std::size_t i = 0; i + 4 < n; ++i) {
      const double exact = std::erf(static_cast<double>(x[i]));
      const float expected = static_cast<float>(exact);
      const float ulp = std::nextafter(std::fabs(expected), inf) - std::fabs(expected);
      const double allowed = std::max(3.0 * ulp, static_cast<double>(std::numeric_limits<float>::min()));
      ASSERT_LE(std::abs(static_cast<double>(y[i]) - exact), allowed)
          << "erf(" << x[i] << ") = " << y[i] << ", exactly " << exact;
    }
    EXPECT_EQ(y[n - 4], 0.0f);
    EXPECT_TRUE(std::signbit(y[n - 4]));
    EXPECT_EQ(y[n - 3], 1.0f);
    EXPECT_EQ(y[n - 2], -1.0f);
    EXPECT_TRUE(std::isnan(y[n - 1]));
  }
}

}  // namespace
