#include "mixed/phase_clock.h"

#include <onnx_fp16/error.h>

namespace onnx_fp16::mixed {

PhaseClock::PhaseClock(const ProgressReporter& progress, std::function<std::size_t()> node_executions,
                       std::size_t nodes_per_run, std::function<double()> flop_runs)
    : progress_(progress),
      node_executions_(std::move(node_executions)),
      nodes_per_run_(nodes_per_run),
      flop_runs_(std::move(flop_runs)) {}

void PhaseClock::mark(const std::string& name) {
  const std::size_t nodes = node_executions_();
  if (nodes < marked_nodes_) throw Error("internal: the node executions went down between two phases");
  const double now = progress_.elapsed_seconds();
  const double runs =
      nodes_per_run_ == 0 ? 0.0 : static_cast<double>(nodes - marked_nodes_) / static_cast<double>(nodes_per_run_);
  const double flop_runs = flop_runs_();
  phases_.push_back({prefix_ + name, now - marked_seconds_, runs, flop_runs - marked_flop_runs_});
  marked_seconds_ = now;
  marked_nodes_ = nodes;
  marked_flop_runs_ = flop_runs;
}

}  // namespace onnx_fp16::mixed
