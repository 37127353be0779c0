// parallel_for: covers the range once, propagates exceptions, and threaded kernels give the
// same bits as single-threaded ones. fault_in: every page of the span is in memory afterwards.
#include <cblas.h>
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <sys/mman.h>

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

TEST(RuntimeParallel, ParallelMaxIsTheLargestOverEveryRangeOnAnyThreadCount) {
  std::vector<double> values(100003);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>((i * 7919) % 100003);
  auto range_max = [&](std::size_t begin, std::size_t end) {
    return *std::max_element(values.begin() + static_cast<std::ptrdiff_t>(begin), values.begin() + static_cast<std::ptrdiff_t>(end));
  };
  for (const int threads : {1, 2, 8}) {
    EXPECT_EQ(onnx_fp16::runtime::parallel_max(threads, values.size(), 100, -1.0, range_max), 100002.0) << threads;
  }
  EXPECT_EQ(onnx_fp16::runtime::parallel_max(8, 0, 100, -1.0, range_max), -1.0) << "nothing to scan: the floor";
  EXPECT_EQ(onnx_fp16::runtime::parallel_max(8, 10, 1, 5e5, range_max), 5e5) << "the floor when larger";
}

TEST(RuntimeParallel, FaultInBringsInEveryPageOfTheSpan) {
  constexpr std::size_t kPage = 4096;
  for (const int threads : {1, 2}) {
    // Fresh anonymous memory, nothing faulted in yet; the span starts and ends inside pages, so
    // that its first and last partial pages count too.
    const std::size_t mapped = (std::size_t{5} << 20) + 3 * kPage;
    void* const base = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(base, MAP_FAILED);
    std::byte* const bytes = static_cast<std::byte*>(base);
    const std::size_t first_page = 1;
    const std::size_t last_page = mapped / kPage - 2;  // the span ends 7 bytes into this page
    std::vector<unsigned char> resident(mapped / kPage);
    ASSERT_EQ(::mincore(base, mapped, resident.data()), 0);
    const auto in_memory = [&](std::size_t page) { return (resident[page] & 1) != 0; };
    ASSERT_FALSE(in_memory(first_page));
    ASSERT_FALSE(in_memory(last_page));
    const std::span<std::byte> span(bytes + first_page * kPage + 100, bytes + last_page * kPage + 7);
    onnx_fp16::runtime::fault_in(span, threads);
    ASSERT_EQ(::mincore(base, mapped, resident.data()), 0);
    for (std::size_t page = first_page; page <= last_page; ++page) {
      ASSERT_TRUE(in_memory(page)) << "page " << page << " of " << mapped / kPage << ", " << threads << " threads";
    }
    ::munmap(base, mapped);
  }
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

// Evaluator::run is documented as callable from several threads at once: one Evaluator, with a
// kernel thread pool of its own, shared by four callers, each running its own inputs, must give
// every caller the bits a lone run gives. The model covers what threads share: BLAS (MatMul,
// Conv), the direct depthwise kernel, a split reduction, float16 values and casts. Run under
// ThreadSanitizer by scripts/tsan.sh.
TEST(RuntimeParallel, OneEvaluatorRunsFromSeveralThreadsAtOnce) {
  constexpr int kFloat = onnx::TensorProto::FLOAT;
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", kFloat, {1, 8, 16, 16}).output("y", kFloat, {1, 16});
  auto values = [](std::size_t count, std::uint32_t seed) {
    std::vector<float> v(count);
    for (auto& e : v) {
      seed = seed * 1664525u + 1013904223u;
      e = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 0.5f - 0.25f;
    }
    return v;
  };
  g.initializer("conv_w", {8, 8, 3, 3}, values(8 * 8 * 9, 1));
  g.initializer("dw_w", {8, 1, 3, 3}, values(8 * 9, 2));
  g.initializer("fc_w", {8, 16}, values(8 * 16, 3));
  modelgen::attr_ints(g.node("Conv", {"x", "conv_w"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  onnx::NodeProto& depthwise = g.node("Conv", {"c", "dw_w"}, {"d"}, "depthwise");
  modelgen::attr_ints(depthwise, "pads", {1, 1, 1, 1});
  modelgen::attr_int(depthwise, "group", 8);
  modelgen::attr_int(g.node("Cast", {"d"}, {"d16"}, "to_half"), "to", onnx::TensorProto::FLOAT16);
  g.node("Relu", {"d16"}, {"r16"}, "relu_half");
  modelgen::attr_int(g.node("Cast", {"r16"}, {"r"}, "to_float"), "to", kFloat);
  onnx::NodeProto& pool = g.node("ReduceMean", {"r"}, {"pooled"}, "pool");
  modelgen::attr_ints(pool, "axes", {2, 3});
  modelgen::attr_int(pool, "keepdims", 0);
  g.node("MatMul", {"pooled", "fc_w"}, {"logits"}, "fc");
  g.node("Softmax", {"logits"}, {"y"}, "softmax");

  const onnx_fp16::Evaluator evaluator(model, {.threads = 2, .keep = {}});
  constexpr int kCallers = 4, kRuns = 3;
  auto feeds_of = [&](int caller, int run) {
    return onnx_fp16::Feeds{{"x", onnx_fp16::Tensor::from_vector<float>(
                                      {1, 8, 16, 16}, values(8 * 16 * 16, static_cast<std::uint32_t>(100 + caller * 10 + run)))}};
  };
  std::vector<std::vector<onnx_fp16::Tensor>> alone(kCallers), together(kCallers);
  for (int c = 0; c < kCallers; ++c) {
    for (int r = 0; r < kRuns; ++r) alone[c].push_back(evaluator.run(feeds_of(c, r)).at("y"));
  }
  std::vector<std::thread> callers;
  std::vector<std::string> errors(kCallers);
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      try {
        for (int r = 0; r < kRuns; ++r) together[c].push_back(evaluator.run(feeds_of(c, r)).at("y"));
      } catch (const std::exception& e) {
        errors[c] = e.what();
      }
    });
  }
  for (auto& caller : callers) caller.join();
  for (int c = 0; c < kCallers; ++c) {
    ASSERT_EQ(errors[c], "") << "caller " << c;
    ASSERT_EQ(together[c].size(), static_cast<std::size_t>(kRuns));
    for (int r = 0; r < kRuns; ++r) {
      const auto a = alone[c][r].bytes();
      const auto b = together[c][r].bytes();
      ASSERT_EQ(a.size(), b.size());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0) << "caller " << c << ", run " << r;
    }
  }
}

}  // namespace

namespace {

// The evaluator runs OpenBLAS single-threaded (its own threads carry the parallelism), but
// OpenBLAS's thread count is process-wide and numpy shares it in a Python process: after a run
// the count must be what it was, not 1 for the rest of the process.
TEST(RuntimeParallel, OpenBlasThreadCountIsGivenBackAfterARun) {
  const int original = openblas_get_num_threads();
  openblas_set_num_threads(2);
  const int before = openblas_get_num_threads();
  if (before == 1) {
    openblas_set_num_threads(original);
    GTEST_SKIP() << "OpenBLAS runs one thread here: nothing to give back";
  }
  onnx::ModelProto model = modelgen::make_model(13);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", onnx::TensorProto::FLOAT, {256, 256}).output("y", onnx::TensorProto::FLOAT, {256, 256});
  g.initializer("w", {256, 256}, std::vector<float>(256 * 256, 0.5f));
  g.node("MatMul", {"x", "w"}, {"y"}, "matmul");
  const onnx_fp16::Evaluator evaluator(model, {.threads = 2, .keep = {}});
  const auto y = evaluator.run(
      {{"x", onnx_fp16::Tensor::from_vector<float>({256, 256}, std::vector<float>(256 * 256, 1.0f))}});
  EXPECT_EQ(y.at("y").data<float>()[0], 128.0f);
  EXPECT_EQ(openblas_get_num_threads(), before);
  openblas_set_num_threads(original);
}

}  // namespace
