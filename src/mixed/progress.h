// The search's progress lines: attempt number, the segment sizes along the node order (the
// spec's "visualization of the cluster sizes"), elapsed time and an estimate of what is left.
#pragma once

#include <onnx_fp16/mixed.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "mixed/segment_search.h"

namespace onnx_fp16::mixed {

// About how many attempts `search` still makes after `attempts`: the open (untried or
// deferred) positions in `will_try` (by position; empty: all), times the attempts each position
// decided by an attempt has taken so far. A bisection decides big segments in one attempt and
// single nodes in one each, so the rate so far tracks where it is. Positions in `kept_untried`
// were kept without an attempt and do not count as decided. Before any position is decided by
// an attempt: one attempt per open segment.
double attempts_left_estimate(const SegmentSearch& search, int attempts, const std::vector<bool>& kept_untried,
                              const std::vector<bool>& will_try);

class ProgressReporter {
 public:
  ProgressReporter(const MixedOptions& options, std::vector<std::string>& log);

  // A free-form line (checks, screens, the result).
  void note(const std::string& text);
  // The estimate averages attempts from here on (the checks before are not search steps).
  void search_starting();
  // After an attempt on `trial` of `search` (already updated with the verdict); `attempts_left`
  // is the search's estimate (attempts_left_estimate).
  void attempt(int number, std::size_t tried, bool passed, const SegmentSearch& search, double flops_float16_share,
               double attempts_left);
  double elapsed_seconds() const;

 private:
  void emit(MixedProgress progress);

  const std::function<void(const MixedProgress&)>& callback_;
  std::vector<std::string>& log_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point search_start_;
};

}  // namespace onnx_fp16::mixed
