#include "mixed/error_model.h"

#include <algorithm>
#include <cmath>

namespace onnx_fp16::mixed {

namespace {

// The largest scale one calibration sets (the first, or a pass). Above it the errors compound
// rather than add: Silero VAD's all-float16 attempt lands at 22x the tolerance (its LSTM state
// feeds its own error back), which made the first calibration 119 and predicted most units to
// fail that pass together (11.6% of the FLOPs in float16 where trying them keeps 24.2%). Failures
// still raise the scale past it, each at most doubling it (learn).
constexpr double kMaxCalibratedScale = 10;

}  // namespace

ErrorModel::ErrorModel(const SearchOrder& order, double all_ratio, double robust_factor) : order_(order) {
  double all_predicted = 0;
  for (std::size_t p = 0; p < order.units.size(); ++p) {
    all_predicted += squared(p);
    any_prediction_ = any_prediction_ || order.predicted[order.units[p]] >= 0;
  }
  // The first calibration: every unit converted at once (the attempt that failed) against the
  // sum of all the predictions, the units that fail alone included: they were converted in that
  // attempt too, and left out they made the scale the ratio of their error to everyone else's
  // (a GPT-shaped model with a planted cancellation: 1000, every unit then predicted to fail).
  for (std::size_t u : order.failing_alone) all_predicted += order.effect[u] * order.effect[u];
  if (std::isfinite(all_ratio) && all_ratio > 0 && all_predicted > 0) {
    scale_ = std::clamp(robust_factor * robust_factor * all_ratio * all_ratio / all_predicted, 0.1, kMaxCalibratedScale);
  }
}

double ErrorModel::squared(std::size_t position) const {
  const double e = order_.predicted[order_.units[position]];
  return e < 0 ? 0.0 : e * e;
}

double ErrorModel::segment_squared(const SegmentSearch::Segment& segment) const {
  double sum = 0;
  for (std::size_t p = segment.begin; p < segment.begin + segment.size; ++p) sum += squared(p);
  return sum;
}

void ErrorModel::learn(double ratio_before, double added_squared, bool passed, double ratio_after) {
  if (added_squared <= 0) return;
  const double before = ratio_before * ratio_before;
  if (passed) {
    // Too small an addition measures noise, not the model.
    if (added_squared > 0.01 * (1 - before)) {
      scale_ = std::clamp((ratio_after * ratio_after - before) / added_squared, 0.1, kMaxCalibratedScale);
    }
  } else {
    // It failed: the scale is at least this much for these units. One unit the model got wrong
    // says little about the others, so the scale at most doubles per failure.
    scale_ = std::max(scale_, std::min((1 - before) / added_squared, 2 * scale_));
  }
}

}  // namespace onnx_fp16::mixed
