// Where a search's time and model runs go (MixedReport::phases): phases recorded back to back,
// each from the end of the one before (the first from the progress reporter's start) to its
// mark, so that they add up to the whole search.
#pragma once

#include <onnx_fp16/mixed.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "mixed/progress.h"

namespace onnx_fp16::mixed {

class PhaseClock {
 public:
  // `full_runs`: the node executions every run so far made, in full runs (full_run_equivalents;
  // never fewer than the last time it was asked); `flop_runs`: the FLOPs every run so far
  // executed, in full runs' FLOPs (flop_run_equivalents).
  PhaseClock(const ProgressReporter& progress, std::function<double()> full_runs, std::function<double()> flop_runs);

  // Ends the phase under way as `name` (after the prefix, if one is set): the seconds and the
  // runs since the last mark.
  void mark(const std::string& name);
  // Names the phases marked from now on "<prefix><name>" (a second search's: "again: ").
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

  const std::vector<MixedPhase>& phases() const { return phases_; }
  // The end of the last phase marked, on the progress reporter's clock (0 before the first).
  double seconds() const { return marked_seconds_; }

 private:
  const ProgressReporter& progress_;
  std::function<double()> full_runs_;
  std::string prefix_;
  double marked_seconds_ = 0;
  double marked_runs_ = 0;
  std::function<double()> flop_runs_;
  double marked_flop_runs_ = 0;
  std::vector<MixedPhase> phases_;
};

}  // namespace onnx_fp16::mixed
