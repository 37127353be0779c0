// Cast's edge cases: float16 overflow and NaN, rounding once from float64, float to integer
// truncation and out-of-range values, integer wrapping, strings both ways, and the Cast and
// CastLike kernels.
#include <gtest/gtest.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "half/half.h"
#include "modelgen/builder.h"
#include "runtime/tensor_cast.h"

namespace {

using onnx_fp16::BFloat16;
using onnx_fp16::Float16;
using onnx_fp16::Tensor;
using onnx_fp16::runtime::cast_tensor;
namespace P = onnx;

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  const auto span = t.data<T>();
  return {span.begin(), span.end()};
}

std::vector<std::uint16_t> half_bits(const Tensor& t) {
  std::vector<std::uint16_t> bits;
  for (const auto h : t.data<Float16>()) bits.push_back(h.bits);
  return bits;
}

TEST(RuntimeCast, FloatToFloat16RoundsToNearestEvenAndOverflowsToInfinity) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto in = Tensor::from_vector<float>({7}, {1.0f, 65504.0f, 65519.0f, 65520.0f, 1e6f, -1e6f, nan});
  const auto bits = half_bits(cast_tensor(in, P::TensorProto::FLOAT16));
  EXPECT_EQ(bits[0], 0x3c00);
  EXPECT_EQ(bits[1], 0x7bff);  // the largest float16
  EXPECT_EQ(bits[2], 0x7bff);  // below the halfway point to 65536: rounds down
  EXPECT_EQ(bits[3], 0x7c00);  // halfway: rounds to even, which is infinity
  EXPECT_EQ(bits[4], 0x7c00);
  EXPECT_EQ(bits[5], 0xfc00);
  EXPECT_EQ(bits[6] & 0x7c00, 0x7c00);
  EXPECT_NE(bits[6] & 0x03ff, 0);  // still NaN
  // Tiny values: to the nearest subnormal, or to zero.
  const auto tiny = half_bits(cast_tensor(Tensor::from_vector<float>({2}, {5.96e-8f, 2.0e-8f}), P::TensorProto::FLOAT16));
  EXPECT_EQ(tiny[0], 0x0001);
  EXPECT_EQ(tiny[1], 0x0000);
}

// The casts between float32 and float16 / bfloat16, and from those to double, go in bulk
// (F16C where the CPU has it; tensor_cast.cc): element for element the bits of the scalar
// conversions, NaN payloads included, at a length whose tail is no whole vector.
TEST(RuntimeCast, BulkCastsGiveEachElementsOwnConversion) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<std::uint32_t> any;
  std::vector<float> floats(100'003);
  for (float& f : floats) {
    const std::uint32_t bits = any(rng);
    std::memcpy(&f, &bits, sizeof f);
  }
  for (const float special : {0.0f, -0.0f, 65504.0f, 65520.0f, 5.96e-8f, 1.00390625f}) floats.push_back(special);
  const auto in = Tensor::from_vector<float>({static_cast<std::int64_t>(floats.size())}, floats);
  const Tensor halves = cast_tensor(in, P::TensorProto::FLOAT16);
  const Tensor bfloat16s = cast_tensor(in, P::TensorProto::BFLOAT16);
  for (std::size_t i = 0; i < floats.size(); ++i) {
    ASSERT_EQ(halves.data<Float16>()[i].bits, onnx_fp16::half::float_to_half(floats[i])) << i;
    ASSERT_EQ(bfloat16s.data<BFloat16>()[i].bits, onnx_fp16::half::float_to_bfloat16(floats[i])) << i;
  }
  std::vector<Float16> every(0x10000 + 5);
  for (std::size_t i = 0; i < every.size(); ++i) every[i].bits = static_cast<std::uint16_t>(i);
  const auto all = Tensor::from_vector<Float16>({static_cast<std::int64_t>(every.size())}, every);
  const Tensor widened = cast_tensor(all, P::TensorProto::FLOAT);
  const Tensor doubled = cast_tensor(all, P::TensorProto::DOUBLE);
  for (std::size_t i = 0; i < every.size(); ++i) {
    const float expected = onnx_fp16::half::half_to_float(every[i].bits);
    std::uint32_t got = 0, want = 0;
    std::memcpy(&got, &widened.data<float>()[i], sizeof got);
    std::memcpy(&want, &expected, sizeof want);
    ASSERT_EQ(got, want) << i;
    const double as_double = doubled.data<double>()[i];
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(as_double)) << i;
    } else {
      ASSERT_EQ(as_double, static_cast<double>(expected)) << i;
    }
  }
  const Tensor bfloat16_doubles = cast_tensor(bfloat16s, P::TensorProto::DOUBLE);
  for (std::size_t i = 0; i < floats.size(); ++i) {
    const float expected = onnx_fp16::half::bfloat16_to_float(bfloat16s.data<BFloat16>()[i].bits);
    if (!std::isnan(expected)) {
      ASSERT_EQ(bfloat16_doubles.data<double>()[i], static_cast<double>(expected)) << i;
    }
  }
}

TEST(RuntimeCast, DoubleToFloat16RoundsOnce) {
  // 1 + 2^-11 + 2^-40: just above the halfway point between 1 and the next float16. Rounded to
  // float32 first it would become the halfway point exactly and round to even (down to 1.0).
  const double value = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  const auto bits = half_bits(cast_tensor(Tensor::from_vector<double>({1}, {value}), P::TensorProto::FLOAT16));
  EXPECT_EQ(bits[0], 0x3c01);
  const auto bf = cast_tensor(Tensor::from_vector<double>({1}, {1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40)}),
                              P::TensorProto::BFLOAT16);
  EXPECT_EQ(bf.data<BFloat16>()[0].bits, 0x3f81);
}

TEST(RuntimeCast, FloatToBfloat16RoundsToNearestEven) {
  const auto out = cast_tensor(Tensor::from_vector<float>({2}, {1.00390625f, 1.01171875f}), P::TensorProto::BFLOAT16);
  EXPECT_EQ(out.data<BFloat16>()[0].bits, 0x3f80);  // halfway between 1 and 1+2^-7: to even
  EXPECT_EQ(out.data<BFloat16>()[1].bits, 0x3f82);  // halfway, odd below: up
}

TEST(RuntimeCast, FloatToIntegerTruncatesTowardZero) {
  const auto in = Tensor::from_vector<float>({4}, {2.7f, -2.7f, 0.5f, -0.5f});
  EXPECT_EQ(values_of<std::int32_t>(cast_tensor(in, P::TensorProto::INT32)), (std::vector<std::int32_t>{2, -2, 0, 0}));
  EXPECT_EQ(values_of<std::int64_t>(cast_tensor(in, P::TensorProto::INT64)), (std::vector<std::int64_t>{2, -2, 0, 0}));
}

TEST(RuntimeCast, OutOfRangeFloatsGiveWhatNumpyGivesOnX86) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto in = Tensor::from_vector<float>({3}, {nan, 3e9f, -3e9f});
  EXPECT_EQ(values_of<std::int32_t>(cast_tensor(in, P::TensorProto::INT32)),
            (std::vector<std::int32_t>{INT32_MIN, INT32_MIN, INT32_MIN}));
  EXPECT_EQ(values_of<std::int64_t>(cast_tensor(in, P::TensorProto::INT64))[1], 3000000000);
  EXPECT_EQ(values_of<std::uint32_t>(cast_tensor(in, P::TensorProto::UINT32))[1], 3000000000u);
}

TEST(RuntimeCast, IntegersWrapAndBoolsAreZeroOrOne) {
  const auto in = Tensor::from_vector<std::int32_t>({3}, {300, -1, 0});
  EXPECT_EQ(values_of<std::uint8_t>(cast_tensor(in, P::TensorProto::UINT8)), (std::vector<std::uint8_t>{44, 255, 0}));
  EXPECT_EQ(values_of<bool>(cast_tensor(in, P::TensorProto::BOOL)), (std::vector<bool>{true, true, false}));
  const auto flags = Tensor::from_vector<bool>({2}, {true, false});
  EXPECT_EQ(values_of<float>(cast_tensor(flags, P::TensorProto::FLOAT)), (std::vector<float>{1, 0}));
  EXPECT_EQ(half_bits(cast_tensor(Tensor::from_vector<std::int64_t>({2}, {70000, 2049}), P::TensorProto::FLOAT16)),
            (std::vector<std::uint16_t>{0x7c00, 0x6800}));  // overflow; 2049 halfway -> 2048
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(values_of<bool>(cast_tensor(Tensor::from_vector<float>({1}, {nan}), P::TensorProto::BOOL))[0]);
}

TEST(RuntimeCast, NumbersToStringsLikeNumpy) {
  const auto floats = Tensor::from_vector<float>(
      {8}, {0.6048455f, 1.0f, 1e-5f, 1.5e20f, -0.0f, std::numeric_limits<float>::infinity(),
            std::numeric_limits<float>::quiet_NaN(), 123456.5f});
  EXPECT_EQ(values_of<std::string>(cast_tensor(floats, P::TensorProto::STRING)),
            (std::vector<std::string>{"0.6048455", "1.0", "1e-05", "1.5e+20", "-0.0", "inf", "nan", "123456.5"}));
  const auto half = cast_tensor(Tensor::from_vector<float>({1}, {0.1f}), P::TensorProto::FLOAT16);
  EXPECT_EQ(values_of<std::string>(cast_tensor(half, P::TensorProto::STRING))[0], "0.1");  // shortest for float16
  const auto ints = Tensor::from_vector<std::int64_t>({2}, {-42, 7});
  EXPECT_EQ(values_of<std::string>(cast_tensor(ints, P::TensorProto::STRING)), (std::vector<std::string>{"-42", "7"}));
  const auto flags = Tensor::from_vector<bool>({2}, {true, false});
  EXPECT_EQ(values_of<std::string>(cast_tensor(flags, P::TensorProto::STRING)),
            (std::vector<std::string>{"True", "False"}));
}

TEST(RuntimeCast, StringsToNumbers) {
  const auto text = Tensor::from_vector({5}, std::vector<std::string>{"0.5", "-1e-5", "INF", "-INF", "NaN"});
  const auto floats = values_of<float>(cast_tensor(text, P::TensorProto::FLOAT));
  EXPECT_EQ(floats[0], 0.5f);
  EXPECT_EQ(floats[1], -1e-5f);
  EXPECT_EQ(floats[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ(floats[3], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(floats[4]));
  EXPECT_EQ(half_bits(cast_tensor(Tensor::from_vector({1}, std::vector<std::string>{"65520"}), P::TensorProto::FLOAT16))[0],
            0x7c00);
  const auto ints = Tensor::from_vector({2}, std::vector<std::string>{"-17", "123"});
  EXPECT_EQ(values_of<std::int32_t>(cast_tensor(ints, P::TensorProto::INT32)), (std::vector<std::int32_t>{-17, 123}));
  EXPECT_THROW(cast_tensor(Tensor::from_vector({1}, std::vector<std::string>{"abc"}), P::TensorProto::FLOAT),
               onnx_fp16::Error);
  EXPECT_THROW(cast_tensor(Tensor::from_vector({1}, std::vector<std::string>{"1.5"}), P::TensorProto::INT64),
               onnx_fp16::Error);
}

TEST(RuntimeCast, SameTypeSharesTheBuffer) {
  const auto in = Tensor::from_vector<float>({2}, {1, 2});
  EXPECT_TRUE(cast_tensor(in, P::TensorProto::FLOAT).shares_storage_with(in));
}

TEST(RuntimeCast, CastAndCastLikeKernels) {
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", P::TensorProto::FLOAT, {3}).input("like", P::TensorProto::INT8, {1});
  g.output("as_half", P::TensorProto::FLOAT16, {3}).output("as_int8", P::TensorProto::INT8, {3});
  auto& cast = g.node("Cast", {"x"}, {"as_half"}, "cast");
  modelgen::attr_int(cast, "to", P::TensorProto::FLOAT16);
  g.node("CastLike", {"x", "like"}, {"as_int8"}, "castlike");
  const onnx_fp16::Evaluator evaluator(model);
  const auto out = evaluator.run({{"x", Tensor::from_vector<float>({3}, {1.5f, -200.7f, 1e5f})},
                                  {"like", Tensor(P::TensorProto::INT8, {1})}});
  EXPECT_EQ(half_bits(out.at("as_half")), (std::vector<std::uint16_t>{0x3e00, 0xda46, 0x7c00}));
  EXPECT_EQ(values_of<std::int8_t>(out.at("as_int8")), (std::vector<std::int8_t>{1, 56, -96}));  // -200 and 100000 wrap
}

TEST(RuntimeCast, OpsetOneCastNamesTheType) {
  auto model = modelgen::make_model(1, 3);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", P::TensorProto::FLOAT, {1}).output("y", P::TensorProto::INT32, {1});
  auto& cast = g.node("Cast", {"x"}, {"y"}, "cast");
  modelgen::attr_string(cast, "to", "INT32");
  const auto out = onnx_fp16::Evaluator(model).run({{"x", Tensor::from_vector<float>({1}, {-3.9f})}});
  EXPECT_EQ(out.at("y").data<std::int32_t>()[0], -3);
}

}  // namespace
