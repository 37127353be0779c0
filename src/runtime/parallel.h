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

#include <cstddef>
#include <functional>

namespace onnx_fp16::runtime {

void parallel_for(int threads, std::size_t count, std::size_t grain,
                  const std::function<void(std::size_t begin, std::size_t end)>& body);

// The thread count a `threads` option means: itself when positive, else (0: "all") the
// machine's hardware threads, at least 1.
int effective_threads(int requested);

}  // namespace onnx_fp16::runtime
