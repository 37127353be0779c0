// The buffer pool: large tensor buffers are reused instead of being faulted in fresh on every run.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/tensor.h>

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "modelgen/builder.h"
#include "tensor/buffer_pool.h"

namespace {

using onnx_fp16::Tensor;
namespace buffers = onnx_fp16::buffers;

// Resident memory of this process, in bytes (/proc/self/statm).
std::size_t resident_bytes() {
  std::FILE* file = std::fopen("/proc/self/statm", "r");
  if (file == nullptr) return 0;
  unsigned long total = 0, resident = 0;
  const int read = std::fscanf(file, "%lu %lu", &total, &resident);
  std::fclose(file);
  return read == 2 ? resident * 4096 : 0;
}

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

TEST(BufferPool, AFreedLargeTensorsMemoryServesTheNextOfItsSize) {
  buffers::clear_cache();
  const void* first = nullptr;
  {
    Tensor t = Tensor::uninitialized(onnx::TensorProto::FLOAT, {1024, 1024});
    first = t.data<float>().data();
  }
  EXPECT_GE(buffers::cached_bytes(), 4u << 20);
  // Nearly the same size shares the size class (a quarter of a power of two).
  Tensor again = Tensor::uninitialized(onnx::TensorProto::FLOAT, {1024, 1000});
  EXPECT_EQ(again.data<float>().data(), first);
  EXPECT_EQ(buffers::cached_bytes(), 0u);
  // Small buffers are not kept: the system allocator reuses those well.
  { Tensor small(onnx::TensorProto::FLOAT, {16}); }
  EXPECT_EQ(buffers::cached_bytes(), 0u);
}

TEST(BufferPool, AReusedBufferTouchesNoFreshPages) {
  // What the pool is for: a second run of a model asks for the sizes the first freed, and gets
  // memory that is already mapped (glibc would have unmapped it and faulted it in again).
  buffers::clear_cache();
  const std::vector<std::int64_t> shape{16, 1024, 1024};  // 64 MB
  {
    Tensor t = Tensor::uninitialized(onnx::TensorProto::FLOAT, shape);
    std::memset(t.mutable_bytes().data(), 1, t.byte_size());
  }
  const long before = minor_faults();
  {
    Tensor t = Tensor::uninitialized(onnx::TensorProto::FLOAT, shape);
    std::memset(t.mutable_bytes().data(), 2, t.byte_size());
  }
  // 64 MB fresh would be 16,384 faults in 4 KB pages (32 in huge pages); allow some noise.
  EXPECT_LT(minor_faults() - before, 16);
}

TEST(BufferPool, ZeroFilledTensorsAreZeroOnAReusedDirtyBuffer) {
  buffers::clear_cache();
  {
    Tensor t = Tensor::uninitialized(onnx::TensorProto::FLOAT, {512, 1024});
    for (float& v : t.mutable_data<float>()) v = 7.0f;
  }
  Tensor zeros(onnx::TensorProto::FLOAT, {512, 1024});
  for (const float v : zeros.data<float>()) ASSERT_EQ(v, 0.0f);
}

TEST(BufferPool, KeepsAtMostItsCap) {
  buffers::clear_cache();
  std::vector<Tensor> tensors;
  // 1.25 GiB in 64 MB tensors, freed together: the cache keeps at most its cap.
  for (int i = 0; i < 20; ++i) tensors.push_back(Tensor::uninitialized(onnx::TensorProto::FLOAT, {16, 1024, 1024}));
  tensors.clear();
  EXPECT_LE(buffers::cached_bytes(), buffers::kCacheCapBytes);
  EXPECT_GT(buffers::cached_bytes(), 0u);
  buffers::clear_cache();
  EXPECT_EQ(buffers::cached_bytes(), 0u);
}

TEST(BufferPool, MediumBuffersShareHugePageRegionsThatGoBackWhenIdle) {
  if (!buffers::carves_from_regions()) GTEST_SKIP() << "no regions under AddressSanitizer";
  buffers::clear_cache();
  // Sixteen 1 MB intermediates: carved one after the other from one 2 MB-aligned region, so a
  // first run faults them in as 2 MB pages (where the kernel has them) instead of 4 KB ones.
  std::vector<Tensor> tensors;
  for (int i = 0; i < 16; ++i) {
    tensors.push_back(Tensor::uninitialized(onnx::TensorProto::FLOAT, {256, 1024}));
    std::memset(tensors.back().mutable_bytes().data(), 1, 1u << 20);  // resident
  }
  const auto address = [&](int i) { return reinterpret_cast<std::uintptr_t>(tensors[i].data<float>().data()); };
  const std::uintptr_t base = address(0);
  EXPECT_EQ(base % (2u << 20), 0u);
  for (int i = 1; i < 16; ++i) EXPECT_EQ(address(i), base + static_cast<std::uintptr_t>(i) * (1u << 20));
  // While one of its buffers is in use the region stays, and clear_cache gives back the pages of
  // the others; once none is in use, it returns the region.
  Tensor kept = tensors[3];
  tensors.clear();
  EXPECT_EQ(buffers::cached_bytes(), 15u << 20);
  const std::size_t resident = resident_bytes();
  EXPECT_EQ(buffers::clear_cache(), 15u << 20);
  EXPECT_EQ(buffers::cached_bytes(), 0u);
  const auto given_back = static_cast<long long>(resident) - static_cast<long long>(resident_bytes());
  EXPECT_GE(given_back, 12ll << 20) << "the pages did not go back";
  EXPECT_EQ(kept.data<float>().size(), 256u * 1024u);
  kept = Tensor();
  EXPECT_EQ(buffers::cached_bytes(), 1u << 20);
  EXPECT_EQ(buffers::clear_cache(), 1u << 20);
  EXPECT_EQ(buffers::cached_bytes(), 0u);
}

// Buffers allocated alone (from kRegionBlockLimit on; every size under ASan): a kept buffer up
// to twice the size asked for serves a request whose own size class has none, and goes back
// under its own size when released.
TEST(BufferPool, AKeptBufferServesSizeClassesUpToHalfItsSize) {
  buffers::clear_cache();
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  void* big = buffers::acquire(24 * kMiB);
  buffers::release(big, 24 * kMiB);
  void* smaller = buffers::acquire(11 * kMiB);  // class 12 MiB: empty, and 24 MiB is within twice that
  EXPECT_EQ(smaller, big);
  EXPECT_EQ(buffers::cached_bytes(), 0u);
  buffers::release(smaller, 11 * kMiB);
  EXPECT_EQ(buffers::cached_bytes(), 24 * kMiB);  // kept as the 24 MiB buffer it is
  void* other = buffers::acquire(9 * kMiB);        // class 10 MiB: 24 MiB is more than twice that
  EXPECT_NE(other, big);
  void* again = buffers::acquire(24 * kMiB);
  EXPECT_EQ(again, big);
  buffers::release(again, 24 * kMiB);
  buffers::release(other, 9 * kMiB);
  buffers::clear_cache();
}

// Medium buffers: memory freed in a region is split to the size asked for and merged with its
// free neighbours, and only what no free block holds is carved fresh (with the free block just
// below the front). A first run asks for many sizes once; this is what spares it fresh pages.
TEST(BufferPool, RegionMemoryIsSplitAndMergedBeforeFreshPagesAreCarved) {
  if (!buffers::carves_from_regions()) GTEST_SKIP() << "no regions under AddressSanitizer";
  buffers::clear_cache();
  constexpr std::size_t kKiB = 1024;
  constexpr std::size_t kMiB = 1024 * kKiB;
  auto* a = static_cast<std::byte*>(buffers::acquire(kMiB));
  void* b = buffers::acquire(kMiB);
  void* c = buffers::acquire(kMiB);
  ASSERT_EQ(b, a + kMiB);
  ASSERT_EQ(c, a + 2 * kMiB);
  buffers::release(a, kMiB);
  buffers::release(b, kMiB);
  EXPECT_EQ(buffers::cached_bytes(), 2 * kMiB);      // one free block of 2 MiB
  void* d = buffers::acquire(kMiB + kMiB / 2);        // split from it
  EXPECT_EQ(d, a);
  void* e = buffers::acquire(256 * kKiB);              // from its rest
  EXPECT_EQ(e, a + kMiB + kMiB / 2);
  EXPECT_EQ(buffers::cached_bytes(), 256 * kKiB);
  buffers::release(c, kMiB);                           // merges with the 256 KiB below it
  EXPECT_EQ(buffers::cached_bytes(), kMiB + 256 * kKiB);
  void* f = buffers::acquire(2 * kMiB);                // no free block that large: that one, and fresh pages
  EXPECT_EQ(f, a + kMiB + kMiB / 2 + 256 * kKiB);
  EXPECT_EQ(buffers::cached_bytes(), 0u);
  buffers::release(e, 256 * kKiB);
  buffers::release(d, kMiB + kMiB / 2);
  buffers::release(f, 2 * kMiB);
  EXPECT_EQ(buffers::cached_bytes(), 3 * kMiB + 3 * kMiB / 4);
  void* most = buffers::acquire(3 * kMiB + kMiB / 2);  // everything merged back into one block
  EXPECT_EQ(most, a);
  buffers::release(most, 3 * kMiB + kMiB / 2);
  EXPECT_EQ(buffers::clear_cache(), 3 * kMiB + 3 * kMiB / 4);
  EXPECT_EQ(buffers::cached_bytes(), 0u);
}

TEST(BufferPool, ScratchBuffersComeFromThePoolAndGoBack) {
  buffers::clear_cache();
  const float* first = nullptr;
  {
    buffers::Scratch<float> scratch(1 << 20);
    first = scratch.get();
    buffers::Scratch<float> moved = std::move(scratch);
    EXPECT_EQ(scratch.get(), nullptr);
    EXPECT_EQ(moved.get(), first);
  }
  EXPECT_EQ(buffers::cached_bytes(), 4u << 20);
  buffers::Scratch<float> again(1 << 20);
  EXPECT_EQ(again.get(), first);
  buffers::Scratch<float> empty(0);
  EXPECT_EQ(empty.get(), nullptr);
}

// The public way to give the kept buffers back (a long Python session): what a run freed is
// released, evaluators keep working.
TEST(BufferPool, EvaluatorGivesTheBuffersRunsFreedBack) {
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", onnx::TensorProto::FLOAT, {256, 256}).output("y", onnx::TensorProto::FLOAT, {256, 256});
  g.node("MatMul", {"x", "x"}, {"m"}, "square");  // 256 KB, freed once the Relu has read it
  g.node("Relu", {"m"}, {"y"}, "relu");
  const onnx_fp16::Evaluator evaluator(model);
  std::vector<float> values(256 * 256);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 7) - 3.0f;
  const onnx_fp16::Feeds feeds{{"x", Tensor::from_vector<float>({256, 256}, values)}};
  onnx_fp16::Evaluator::release_cached_memory();
  auto copy_of = [](const Tensor& t) { return std::vector<float>(t.data<float>().begin(), t.data<float>().end()); };
  const std::vector<float> first = copy_of(evaluator.run(feeds).at("y"));
  EXPECT_GE(onnx_fp16::Evaluator::release_cached_memory(), std::size_t{256 * 256 * sizeof(float)});
  EXPECT_EQ(buffers::cached_bytes(), 0u);
  EXPECT_EQ(onnx_fp16::Evaluator::release_cached_memory(), 0u);
  EXPECT_EQ(copy_of(evaluator.run(feeds).at("y")), first);
}

}  // namespace
