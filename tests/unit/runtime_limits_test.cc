// Resource limits: a model that asks for absurd memory or never-ending loops gets an error naming
// the node and the limit, not an out-of-memory kill or a hang (tensor/memory_limit.h, the
// executor, the Loop kernel).
#include <gtest/gtest.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>

#include <functional>
#include <string>

#include "modelgen/builder.h"
#include "support/test_env.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Evaluator;
using onnx_fp16::EvaluatorOptions;
using onnx_fp16::Tensor;
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int I64 = onnx::TensorProto::INT64;
constexpr int BOOL = onnx::TensorProto::BOOL;

using test_support::error_of;

// y = ConstantOfShape(shape) filled with 1.
onnx::ModelProto filled(std::vector<std::int64_t> shape) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.output_untyped("y");
  g.initializer_i64("shape", {static_cast<std::int64_t>(shape.size())}, shape);
  auto& node = g.node("ConstantOfShape", {"shape"}, {"y"}, "fill");
  modelgen::attr_tensor(node, "value", modelgen::float_tensor("value", {1}, {1.0f}));
  return model;
}

TEST(RuntimeLimits, ATensorBeyondTheMemoryLimitIsRefusedBeforeItIsAllocated) {
  // 10^12 floats (4 TB) under the default limit, the machine's memory: an error, not a kill.
  const std::string absurd = error_of([] { Evaluator(filled({1'000'000, 1'000'000})).run({}); });
  EXPECT_NE(absurd.find("'fill'"), std::string::npos) << absurd;
  EXPECT_NE(absurd.find("needs 4000.0 GB, over the memory limit"), std::string::npos) << absurd;
  // A configured limit: 4 GB is over 1 GB.
  const std::string configured = error_of([] {
    Evaluator(filled({1000, 1'000'000}), {.threads = 1, .keep = {}, .memory_limit = 1'000'000'000}).run({});
  });
  EXPECT_NE(configured.find("needs 4.0 GB, over the memory limit of 1.0 GB"), std::string::npos) << configured;
  // Under the limit it runs.
  EXPECT_EQ(Evaluator(filled({2, 3}), {.threads = 1, .keep = {}, .memory_limit = 1'000'000}).run({}).at("y").shape(),
            (onnx_fp16::Shape{2, 3}));
}

TEST(RuntimeLimits, IntermediateTensorsTogetherRespectTheMemoryLimit) {
  // Three 4 MB values alive at once (a, b and c = a + b): 12 MB, each one under a 10 MB limit.
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.output_untyped("c");
  g.initializer_i64("shape", {1}, {1'000'000});
  auto& fill = g.node("ConstantOfShape", {"shape"}, {"a"}, "fill");
  modelgen::attr_tensor(fill, "value", modelgen::float_tensor("value", {1}, {1.0f}));
  g.node("Add", {"a", "a"}, {"b"}, "double");
  g.node("Add", {"a", "b"}, {"c"}, "triple");
  const std::string message =
      error_of([&] { Evaluator(model, {.threads = 1, .keep = {}, .memory_limit = 10'000'000}).run({}); });
  EXPECT_NE(message.find("'triple'"), std::string::npos) << message;
  EXPECT_NE(message.find("intermediate tensors need 12.0 MB at once, over the memory limit of 10.0 MB"),
            std::string::npos)
      << message;
  EXPECT_EQ(Evaluator(model, {.threads = 1, .keep = {}, .memory_limit = 13'000'000}).run({}).at("c").data<float>()[0],
            3.0f);
}

// v = Loop(M, cond) { v + 1 } with the condition passed through unchanged; without M the
// condition alone drives it.
onnx::ModelProto counting_loop(bool with_trip_count) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  if (with_trip_count) g.input("M", I64, {});
  g.input("cond", BOOL, {}).output("v", F32, {1});
  g.initializer("zero", {1}, {0.0f});
  auto& loop = g.node("Loop", {with_trip_count ? "M" : "", "cond", "zero"}, {"v"}, "count");
  GraphBuilder body(modelgen::attr_graph(loop, "body"));
  body.input("i", I64, {}).input("cond_in", BOOL, {}).input("v_in", F32, {1});
  body.output("cond_out", BOOL, {}).output("v_out", F32, {1});
  body.initializer("one", {1}, {1.0f});
  body.node("Identity", {"cond_in"}, {"cond_out"}, "keep_going");
  body.node("Add", {"v_in", "one"}, {"v_out"}, "step");
  return model;
}

TEST(RuntimeLimits, ALoopBeyondTheIterationLimitIsRefused) {
  const onnx::ModelProto model = counting_loop(true);
  // A trip count of 10^15 is refused before the first iteration (it would run for days).
  const std::string huge = error_of([&] {
    Evaluator(model).run({{"M", Tensor::scalar<std::int64_t>(1'000'000'000'000'000)}, {"cond", Tensor::scalar(true)}});
  });
  EXPECT_NE(huge.find("'count'"), std::string::npos) << huge;
  EXPECT_NE(huge.find("trip count of 1000000000000000, over the evaluator's limit of 100000000 iterations"),
            std::string::npos)
      << huge;
  const EvaluatorOptions thousand{.threads = 1, .keep = {}, .memory_limit = 0, .max_loop_iterations = 1000};
  // Within the limit it counts.
  const auto counted =
      Evaluator(model, thousand).run({{"M", Tensor::scalar<std::int64_t>(1000)}, {"cond", Tensor::scalar(true)}});
  EXPECT_EQ(counted.at("v").data<float>()[0], 1000.0f);
  // A loop driven by its condition alone stops at the limit.
  const std::string endless =
      error_of([&] { Evaluator(counting_loop(false), thousand).run({{"cond", Tensor::scalar(true)}}); });
  EXPECT_NE(endless.find("ran 1000 iterations and its condition still holds"), std::string::npos) << endless;
  EXPECT_THROW(Evaluator(model, {.threads = 1, .keep = {}, .memory_limit = 0, .max_loop_iterations = -1}),
               onnx_fp16::Error);
}

}  // namespace
