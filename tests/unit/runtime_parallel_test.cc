// parallel_for: covers the range once, propagates exceptions, and threaded kernels give the
// same bits as single-threaded ones.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

#include "modelgen/builder.h"
#include "runtime/parallel.h"
#include "runtime/tensor_cast.h"

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

// Kernels whose work is split across threads where a split could change a sum: a long reduction
// (rows split) and a MatMul (BLAS, threaded inside), in float16 and float32. Their bits must not
// depend on the thread count (an elementwise op could not show a difference).
TEST(RuntimeParallel, ThreadCountDoesNotChangeResults) {
  for (const auto type : {onnx::TensorProto::FLOAT16, onnx::TensorProto::FLOAT}) {
    auto model = modelgen::make_model(17);
    modelgen::GraphBuilder g(model.mutable_graph());
    g.input("x", type, {256, 2048}).input("w", type, {2048, 96}).input("axes", onnx::TensorProto::INT64, {1});
    g.output("sum", type, {256, 1}).output("product", type, {256, 96});
    g.node("ReduceSum", {"x", "axes"}, {"sum"}, "sum");
    g.node("MatMul", {"x", "w"}, {"product"}, "product");
    auto values = [&](onnx_fp16::Shape shape, std::uint32_t seed) {
      std::vector<float> v(onnx_fp16::element_count(shape));
      for (auto& e : v) {
        seed = seed * 1664525u + 1013904223u;
        e = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
      }
      onnx_fp16::Tensor t = onnx_fp16::Tensor::from_vector<float>(shape, v);
      return type == onnx::TensorProto::FLOAT ? t : onnx_fp16::runtime::cast_tensor(t, type);
    };
    const onnx_fp16::Feeds feeds{{"x", values({256, 2048}, 1)},
                                 {"w", values({2048, 96}, 2)},
                                 {"axes", onnx_fp16::Tensor::from_vector<std::int64_t>({1}, {1})}};
    const auto one = onnx_fp16::Evaluator(model, {.threads = 1, .keep = {}}).run(feeds);
    const auto many = onnx_fp16::Evaluator(model, {.threads = 8, .keep = {}}).run(feeds);
    for (const char* name : {"sum", "product"}) {
      const auto a = one.at(name).bytes();
      const auto b = many.at(name).bytes();
      ASSERT_EQ(a.size(), b.size());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0) << name << " in " << onnx_fp16::data_type_name(type);
    }
  }
}

}  // namespace
