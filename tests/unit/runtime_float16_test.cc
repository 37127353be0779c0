// The float16 contract: every float16 tensor a node writes is rounded to float16 (nearest even,
// overflow to infinity), and nothing else is: within a node the computation is float32.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <cmath>

#include "half/half.h"
#include "modelgen/builder.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Float16;
using onnx_fp16::Tensor;
constexpr int F16 = onnx::TensorProto::FLOAT16;
namespace half = onnx_fp16::half;

Tensor halves(const std::vector<float>& values) {
  Tensor t = Tensor::uninitialized(onnx::TensorProto::FLOAT16, {static_cast<std::int64_t>(values.size())});
  auto out = t.mutable_data<Float16>();
  for (std::size_t i = 0; i < values.size(); ++i) out[i].bits = half::float_to_half(values[i]);
  return t;
}

std::uint16_t bits_at(const Tensor& t, std::size_t i) { return t.data<Float16>()[i].bits; }

// y = a * b + c on float16 tensors, as two nodes.
onnx::ModelProto mul_add() {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("a", F16, {1}).input("b", F16, {1}).input("c", F16, {1}).output("y", F16, {1});
  g.node("Mul", {"a", "b"}, {"p"}, "mul");
  g.node("Add", {"p", "c"}, {"y"}, "add");
  return model;
}

TEST(RuntimeFloat16, EachNodeOutputIsRoundedToFloat16) {
  // a = b = 1 + 3*2^-10 (exact in float16). a*b = 1 + 6*2^-10 + 9*2^-20: float16 keeps
  // 1 + 6*2^-10. Adding c = -1 then gives 6*2^-10 exactly. Without the rounding of p, the
  // float32 result 6*2^-10 + 9*2^-20 would round to 6*2^-10 + 8*2^-20 in float16.
  const float a = 1.0f + 3.0f * std::ldexp(1.0f, -10);
  const onnx_fp16::Evaluator evaluator(mul_add(), {.threads = 1, .keep = {"p"}});
  const auto out = evaluator.run({{"a", halves({a})}, {"b", halves({a})}, {"c", halves({-1.0f})}});
  const std::uint16_t rounded_p = half::float_to_half(1.0f + 6.0f * std::ldexp(1.0f, -10));
  EXPECT_EQ(bits_at(out.at("p"), 0), rounded_p);
  const std::uint16_t faithful = half::float_to_half(6.0f * std::ldexp(1.0f, -10));
  const std::uint16_t unrounded = half::float_to_half(a * a - 1.0f);
  ASSERT_NE(faithful, unrounded);  // the case really tells them apart
  EXPECT_EQ(bits_at(out.at("y"), 0), faithful);
}

TEST(RuntimeFloat16, OverflowOnWriteGivesInfinity) {
  const onnx_fp16::Evaluator evaluator(mul_add());
  const auto out = evaluator.run({{"a", halves({300.0f})}, {"b", halves({300.0f})}, {"c", halves({-60000.0f})}});
  // 90000 does not fit float16: p is +inf, and so is y, although 90000 - 60000 would fit.
  EXPECT_EQ(bits_at(out.at("y"), 0), 0x7c00);
}

TEST(RuntimeFloat16, OneNodeRoundsOnceEvenWithManyInputs) {
  // Sum(a, b, c) = 2048 + 1 + 1: computed in float32 it is 2050 (exact in float16); summed
  // pairwise in float16 it would be 2048 (2049 rounds to even, twice).
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("a", F16, {1}).input("b", F16, {1}).input("c", F16, {1}).output("y", F16, {1});
  g.node("Sum", {"a", "b", "c"}, {"y"}, "sum");
  const auto out = onnx_fp16::Evaluator(model).run({{"a", halves({2048})}, {"b", halves({1})}, {"c", halves({1})}});
  EXPECT_EQ(half::half_to_float(bits_at(out.at("y"), 0)), 2050.0f);
}

TEST(RuntimeFloat16, UnaryOpsComputeInFloat32AndRound) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F16, {4}).output("y", F16, {4});
  g.node("Exp", {"x"}, {"y"}, "exp");
  const std::vector<float> x{0.0f, 1.0f, -3.5f, 12.0f};
  const auto out = onnx_fp16::Evaluator(model).run({{"x", halves(x)}});
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float widened = half::half_to_float(half::float_to_half(x[i]));
    EXPECT_EQ(bits_at(out.at("y"), i), half::float_to_half(std::exp(widened))) << i;
  }
  EXPECT_EQ(bits_at(out.at("y"), 3), 0x7c00);  // e^12 > 65504
}

TEST(RuntimeFloat16, ComparisonsSeeExactFloat16Values) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("a", F16, {2}).input("b", F16, {2}).output("y", onnx::TensorProto::BOOL, {2});
  g.node("Less", {"a", "b"}, {"y"}, "less");
  const auto out = onnx_fp16::Evaluator(model).run({{"a", halves({1.0f, 2.0f})}, {"b", halves({1.0009766f, 2.0f})}});
  EXPECT_TRUE(out.at("y").data<bool>()[0]);
  EXPECT_FALSE(out.at("y").data<bool>()[1]);
}

}  // namespace
