// numpy broadcasting: shapes, and the run-wise walk checked against a naive index computation
// for many shape pairs.
#include <gtest/gtest.h>
#include <onnx_fp16/error.h>

#include <algorithm>
#include <array>
#include <numeric>

#include "runtime/broadcast.h"

namespace {

using onnx_fp16::Shape;
using namespace onnx_fp16::runtime;

TEST(RuntimeBroadcast, Shapes) {
  EXPECT_EQ(broadcast_shapes({2, 3, 4}, {3, 1}), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({1}, {}), (Shape{1}));
  EXPECT_EQ(broadcast_shapes({5, 1, 4}, {1, 6, 1}), (Shape{5, 6, 4}));
  EXPECT_EQ(broadcast_shapes({0, 3}, {1, 3}), (Shape{0, 3}));
  const Shape three[] = {{2, 1, 1}, {1, 3, 1}, {4}};
  EXPECT_EQ(broadcast_shapes(three), (Shape{2, 3, 4}));
  try {
    broadcast_shapes({2, 3}, {4});
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_STREQ(e.what(), "shapes [2,3] and [4] cannot be broadcast together");
  }
}

TEST(RuntimeBroadcast, LegacyShapes) {
  EXPECT_EQ(legacy_broadcast_shape({2, 3, 4, 5}, {5}, true, std::nullopt), (Shape{1, 1, 1, 5}));
  EXPECT_EQ(legacy_broadcast_shape({2, 3, 4, 5}, {3, 4}, true, 1), (Shape{1, 3, 4, 1}));
  EXPECT_EQ(legacy_broadcast_shape({2, 3}, {2, 3}, false, std::nullopt), (Shape{2, 3}));
  EXPECT_THROW(legacy_broadcast_shape({2, 3}, {3}, false, std::nullopt), onnx_fp16::Error);
  EXPECT_THROW(legacy_broadcast_shape({2, 3}, {2}, true, std::nullopt), onnx_fp16::Error);  // trailing 3 != 2
}

// Element index of `out_index` in an input of `shape`, right-aligned to `out_shape`.
std::size_t naive_offset(const Shape& shape, const Shape& out_shape, std::size_t out_index) {
  std::vector<std::int64_t> coordinate(out_shape.size());
  for (std::size_t d = out_shape.size(); d-- > 0;) {
    coordinate[d] = static_cast<std::int64_t>(out_index % static_cast<std::size_t>(out_shape[d]));
    out_index /= static_cast<std::size_t>(out_shape[d]);
  }
  std::size_t offset = 0;
  const std::size_t pad = out_shape.size() - shape.size();
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const std::int64_t c = shape[d] == 1 ? 0 : coordinate[pad + d];
    offset = offset * static_cast<std::size_t>(shape[d]) + static_cast<std::size_t>(c);
  }
  return offset;
}

// broadcast_binary of two tensors of `a_shape` and `b_shape` (distinct values) on two threads
// against the naive indexing, element by element.
::testing::AssertionResult two_threads_match_naive_indexing(const Shape& a_shape, const Shape& b_shape) {
  const Shape shapes[] = {a_shape, b_shape};
  const BroadcastLayout layout(shapes);
  std::vector<std::int64_t> a(onnx_fp16::element_count(a_shape));
  std::vector<std::int64_t> b(onnx_fp16::element_count(b_shape));
  std::iota(a.begin(), a.end(), 0);
  std::iota(b.begin(), b.end(), 7);
  std::vector<std::int64_t> out(layout.output_size(), -1);
  broadcast_binary(
      layout, std::span<const std::int64_t>(a), std::span<const std::int64_t>(b), std::span<std::int64_t>(out),
      [](std::int64_t x, std::int64_t y) { return x * 1000000 + y; }, 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t expected = a[naive_offset(a_shape, layout.output_shape(), i)] * 1000000 +
                                  b[naive_offset(b_shape, layout.output_shape(), i)];
    if (out[i] != expected) {
      return ::testing::AssertionFailure() << onnx_fp16::shape_to_string(a_shape) << " + "
                                           << onnx_fp16::shape_to_string(b_shape) << " at " << i;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(RuntimeBroadcast, BinaryWalkMatchesNaiveIndexing) {
  const std::vector<std::pair<Shape, Shape>> cases{
      {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {4}},       {{2, 3, 4}, {3, 1}},    {{2, 1, 4}, {1, 3, 1}},
      {{1}, {5, 2}},          {{}, {3}},              {{3, 1, 1, 2}, {4, 1}}, {{2, 3, 1, 5}, {1, 3, 4, 1}},
      {{6}, {}},              {{1, 1}, {1, 1}},       {{2, 0, 3}, {1, 3}},    {{4, 1, 3}, {4, 2, 3}}};
  for (const auto& [a_shape, b_shape] : cases) {
    const Shape shapes[] = {a_shape, b_shape};
    const BroadcastLayout layout(shapes);
    const Shape& out_shape = layout.output_shape();
    std::vector<std::int64_t> a(onnx_fp16::element_count(a_shape));
    std::vector<std::int64_t> b(onnx_fp16::element_count(b_shape));
    std::iota(a.begin(), a.end(), 0);
    std::iota(b.begin(), b.end(), 1000);
    std::vector<std::int64_t> out(layout.output_size());
    broadcast_binary(layout, std::span<const std::int64_t>(a), std::span<const std::int64_t>(b),
                     std::span<std::int64_t>(out), [](std::int64_t x, std::int64_t y) { return x * 10000 + y; });
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto expected = a[naive_offset(a_shape, out_shape, i)] * 10000 + b[naive_offset(b_shape, out_shape, i)];
      ASSERT_EQ(out[i], expected) << onnx_fp16::shape_to_string(a_shape) << " + " << onnx_fp16::shape_to_string(b_shape)
                                  << " at " << i;
    }
  }
}

// Threads take ranges of runs: a walk started at any run gives the same offsets as the walk
// from the start (the outer index is rebuilt from the run number), and broadcast_binary on two
// threads writes what the naive indexing says. [3, 5, 7, 2048] x [5, 1, 2048] is 105 runs of
// 2048, more than one range of 32768 elements.
TEST(RuntimeBroadcast, RangesOfRunsMatchTheWholeWalk) {
  const Shape a_shape{3, 5, 7, 2048};
  const Shape b_shape{5, 1, 2048};
  const Shape shapes[] = {a_shape, b_shape};
  const BroadcastLayout layout(shapes);
  ASSERT_EQ(layout.run_count(), 105u);
  std::vector<std::array<std::size_t, 3>> whole;
  layout.for_each_run([&](std::size_t o, std::size_t, const std::size_t* offset, const std::size_t*) {
    whole.push_back({o, offset[0], offset[1]});
  });
  for (const std::size_t first : {0u, 1u, 6u, 7u, 34u, 104u}) {
    std::vector<std::array<std::size_t, 3>> part;
    layout.for_each_run(first, first + 1, [&](std::size_t o, std::size_t, const std::size_t* offset, const std::size_t*) {
      part.push_back({o, offset[0], offset[1]});
    });
    ASSERT_EQ(part.size(), 1u);
    EXPECT_EQ(part[0], whole[first]) << "run " << first;
  }
  EXPECT_TRUE(two_threads_match_naive_indexing(a_shape, b_shape));
}

// Runs longer than a thread's share are cut into pieces: two tensors of one shape merge into one
// run (a residual Add), which one thread did alone before. Each piece must start at its own
// offset in both inputs, a broadcast input (step 0) included.
TEST(RuntimeBroadcast, LongRunsAreCutIntoPiecesOverTheThreads) {
  const std::vector<std::pair<Shape, Shape>> cases{
      {{3, 70001}, {3, 70001}}, {{1}, {100003}}, {{2, 1}, {2, 50000}}, {{40000}, {3, 40000}}, {{98304}, {98304}}};
  for (const auto& [a_shape, b_shape] : cases) {
    const Shape shapes[] = {a_shape, b_shape};
    const BroadcastLayout layout(shapes);
    ASSERT_GT(layout.output_size() / std::max<std::size_t>(1, layout.run_count()), std::size_t{1} << 15)
        << onnx_fp16::shape_to_string(a_shape) << ": not a long run";
    EXPECT_TRUE(two_threads_match_naive_indexing(a_shape, b_shape));
  }
}

TEST(RuntimeBroadcast, TernaryWalkAndUnidirectionalLayout) {
  const Shape shapes[] = {{2, 1}, {3}, {1, 1}};
  const BroadcastLayout layout(shapes);
  EXPECT_EQ(layout.output_shape(), (Shape{2, 3}));
  const std::vector<int> a{1, 2}, b{10, 20, 30}, c{100};
  std::vector<int> out(6);
  broadcast_ternary(layout, std::span<const int>(a), std::span<const int>(b), std::span<const int>(c),
                    std::span<int>(out), [](int x, int y, int z) { return x + y + z; });
  EXPECT_EQ(out, (std::vector<int>{111, 121, 131, 112, 122, 132}));

  const Shape one[] = {{3, 1}};
  EXPECT_EQ(BroadcastLayout(one, Shape{2, 3, 4}).output_shape(), (Shape{2, 3, 4}));
  EXPECT_THROW(BroadcastLayout(one, Shape{3, 1, 2}), onnx_fp16::Error);  // 3 vs 1: not unidirectional
}

}  // namespace
