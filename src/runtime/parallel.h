// Splitting a kernel's work over threads: parallel_for(ctx.threads(), count, grain, body).
//
// body(begin, end) is called for disjoint ranges covering [0, count), on up to `threads`
// threads (the calling thread among them), each range at least `grain` long (except the last).
// The body must write disjoint outputs and compute each output value the same way whatever the
// range it falls in, so that results do not depend on the thread count (docs/evaluator.md).
// The first exception a body throws is rethrown in the caller after every range has finished.
// Idle workers, and a caller waiting for its ranges, spin for 100 us before they sleep
// (parallel.cc says why), so back-to-back kernels pay no wake-up.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>

namespace onnx_fp16::runtime {

void parallel_for(int threads, std::size_t count, std::size_t grain,
                  const std::function<void(std::size_t begin, std::size_t end)>& body);

// The largest of range_max(begin, end) over parallel_for's ranges of [0, count), and `floor`
// (also the result of an empty count): for a maximum over elements, which is the same in any
// order, so the result does not depend on the thread count either. range_max must not return
// NaN (std::max would make the result depend on the ranges' order).
template <typename T, typename RangeMax>
T parallel_max(int threads, std::size_t count, std::size_t grain, T floor, const RangeMax& range_max) {
  std::mutex mutex;
  T largest = floor;
  parallel_for(threads, count, grain, [&](std::size_t begin, std::size_t end) {
    const T here = range_max(begin, end);
    const std::lock_guard lock(mutex);
    largest = std::max(largest, here);
  });
  return largest;
}

// Faults in `fresh`, memory just obtained from the system that the caller will write whole:
// asks for transparent huge pages on it (buffers::advise_huge_pages) and touches each of its
// pages, spread over up to `threads` threads (0: all). On the virtual machines this runs on, a
// first touch costs about 2 ms per MB in 4 KB pages on one thread: filling the 218 MB bytes
// object a BERT-base conversion goes back to Python in took 0.9-1.1 s, of which ~0.15 s was the
// writing (docs/python.md has the whole calls). The contents afterwards are unspecified.
void fault_in(std::span<std::byte> fresh, int threads);

// The thread count a `threads` option means: itself when positive, else (0: "all") the
// machine's hardware threads, at least 1.
int effective_threads(int requested);

}  // namespace onnx_fp16::runtime
