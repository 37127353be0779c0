#include "mixed/error_model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

namespace onnx_fp16::mixed {

namespace {

// The largest scale one calibration sets (the first, or a pass). Above it the errors compound
// rather than add: Silero VAD's all-float16 attempt lands at 22x the tolerance (its LSTM state
// feeds its own error back), which made the first calibration 119 and predicted most units to
// fail that pass together (11.6% of the FLOPs in float16 where trying them keeps 24.2%). Failures
// still raise the scale past it, each at most doubling it (learn).
constexpr double kMaxCalibratedScale = 10;

}  // namespace

ErrorModel::ErrorModel(const SearchOrder& order, double all_ratio, double robust_factor,
                       std::vector<std::uint64_t> unit_groups)
    : order_(order), unit_groups_(std::move(unit_groups)) {
  for (const std::uint64_t groups : unit_groups_) {
    group_count_ = std::max<std::size_t>(group_count_, static_cast<std::size_t>(std::bit_width(groups)));
  }
  Sum all(*this);
  for (std::size_t p = 0; p < order.units.size(); ++p) {
    all.add(p);
    any_prediction_ = any_prediction_ || order.predicted[order.units[p]] >= 0;
  }
  // The first calibration: every unit converted at once (the attempt that failed) against the
  // sum of all the predictions, the units that fail alone included: they were converted in that
  // attempt too, and left out they made the scale the ratio of their error to everyone else's
  // (a GPT-shaped model with a planted cancellation: 1000, every unit then predicted to fail).
  for (std::size_t u : order.failing_alone) all.add_squared(groups_of(u), order.effect[u] * order.effect[u]);
  const double all_predicted = all.worst();
  if (std::isfinite(all_ratio) && all_ratio > 0 && all_predicted > 0) {
    scale_ = std::clamp(robust_factor * robust_factor * all_ratio * all_ratio / all_predicted, 0.1, kMaxCalibratedScale);
  }
}

double ErrorModel::squared(std::size_t position) const {
  const double e = order_.predicted[order_.units[position]];
  return e < 0 ? 0.0 : e * e;
}

std::uint64_t ErrorModel::groups_of(std::size_t unit) const {
  return unit < unit_groups_.size() && unit_groups_[unit] != 0 ? unit_groups_[unit] : ~std::uint64_t{0};
}

double ErrorModel::segment_squared(const SegmentSearch::Segment& segment) const {
  Sum sum(*this);
  sum.add(segment);
  return sum.worst();
}

void ErrorModel::Sum::add(std::size_t position) {
  add_squared(model_->groups_of(model_->order_.units[position]), model_->squared(position));
}

void ErrorModel::Sum::add_squared(std::uint64_t groups, double squared) {
  for (std::size_t g = 0; g < by_group_.size(); ++g) {
    if (groups >> g & 1) by_group_[g] += squared;
  }
}

void ErrorModel::Sum::add(const SegmentSearch::Segment& segment) {
  // The segment summed first, then added: with one model, the sum the search always took.
  Sum part(*model_);
  for (std::size_t p = segment.begin; p < segment.begin + segment.size; ++p) part.add(p);
  for (std::size_t g = 0; g < by_group_.size(); ++g) by_group_[g] += part.by_group_[g];
}

double ErrorModel::Sum::worst() const { return *std::max_element(by_group_.begin(), by_group_.end()); }

double ErrorModel::Sum::worst_with(std::size_t position) const {
  Sum more = *this;
  more.add(position);
  return more.worst();
}

double ErrorModel::Sum::worst_with(const SegmentSearch::Segment& segment) const {
  Sum more = *this;
  more.add(segment);
  return more.worst();
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
