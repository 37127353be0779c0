// The search's progress lines: attempt number, the segment sizes along the node order (the
// spec's "visualization of the cluster sizes"), elapsed time and an estimate of what is left.
#pragma once

#include <onnx_fp16/mixed.h>

#include <chrono>
#include <optional>
#include <string>

#include "mixed/segment_search.h"

namespace onnx_fp16::mixed {

class ProgressReporter {
 public:
  ProgressReporter(const MixedOptions& options, std::vector<std::string>& log);

  // A free-form line (checks, screens, the result).
  void note(const std::string& text);
  // The estimate averages attempts from here on (the checks before are not search steps).
  void search_starting();
  // After an attempt on `trial` of `search` (already updated with the verdict).
  void attempt(int number, std::size_t tried, bool passed, const SegmentSearch& search, double flops_float16_share);
  double elapsed_seconds() const;

 private:
  void emit(MixedProgress progress);

  const std::function<void(const MixedProgress&)>& callback_;
  std::vector<std::string>& log_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point search_start_;
};

}  // namespace onnx_fp16::mixed
