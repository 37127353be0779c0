// parallel_for: covers the range once, propagates exceptions, and threaded kernels give the
// same bits as single-threaded ones.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

#include "modelgen/builder.h"
#include "runtime/parallel.h"

namespace {

using onnx_fp16::runtime::parallel_for;

TEST(RuntimeParallel, CoversTheRangeOnceInDisjointPieces) {
  for (const std::size_t count : {0u, 1u, 7u, 1000u, 100003u}) {
    std::vector<std::atomic<int>> hits(count);
    parallel_for(8, count, 100, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) ++hits[i];
    });
    for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(hits[i].load(), 1) << count << " at " << i;
  }
}

TEST(RuntimeParallel, RethrowsTheBodysException) {
  EXPECT_THROW(parallel_for(4, 100000, 10,
                            [](std::size_t begin, std::size_t) {
                              if (begin > 0) throw std::runtime_error("boom");
                            }),
               std::runtime_error);
}

TEST(RuntimeParallel, ThreadCountDoesNotChangeResults) {
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", onnx::TensorProto::FLOAT16, {300000}).output("y", onnx::TensorProto::FLOAT16, {300000});
  g.node("Tanh", {"x"}, {"y"}, "tanh");
  onnx_fp16::Tensor x = onnx_fp16::Tensor::uninitialized(onnx::TensorProto::FLOAT16, {300000});
  auto bits = x.mutable_data<onnx_fp16::Float16>();
  for (std::size_t i = 0; i < bits.size(); ++i) bits[i].bits = static_cast<std::uint16_t>(i * 7919u);
  const auto one = onnx_fp16::Evaluator(model, {.threads = 1, .keep = {}}).run({{"x", x}});
  const auto many = onnx_fp16::Evaluator(model, {.threads = 8, .keep = {}}).run({{"x", x}});
  const auto a = one.at("y").bytes();
  const auto b = many.at("y").bytes();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0);
}

}  // namespace
