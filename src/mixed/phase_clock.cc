#include "mixed/phase_clock.h"

#include <onnx_fp16/error.h>

namespace onnx_fp16::mixed {

PhaseClock::PhaseClock(const ProgressReporter& progress, std::function<double()> full_runs,
                       std::function<double()> flop_runs)
    : progress_(progress), full_runs_(std::move(full_runs)), flop_runs_(std::move(flop_runs)) {}

void PhaseClock::mark(const std::string& name) {
  const double runs = full_runs_();
  if (runs < marked_runs_) throw Error("internal: the runs counted went down between two phases");
  const double now = progress_.elapsed_seconds();
  const double flop_runs = flop_runs_();
  phases_.push_back({prefix_ + name, now - marked_seconds_, runs - marked_runs_, flop_runs - marked_flop_runs_});
  marked_seconds_ = now;
  marked_runs_ = runs;
  marked_flop_runs_ = flop_runs;
}

}  // namespace onnx_fp16::mixed
