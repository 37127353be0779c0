// The improved search's error model: converting units S on top of an accepted state whose worst
// tolerance ratio is r gives about sqrt(r^2 + scale * sum over S of e^2), where e is a unit's
// effect alone at the outputs (measured, or predicted from its local error: SearchOrder::
// predicted; a unit with no prediction counts 0, so it always fits). Independent rounding
// errors add in quadrature; `scale` corrects for how far they are from independent, and for
// the effects being measured on the evaluator alone where the search accepts on robust ratios.
// It is calibrated on the all-float16 attempt (corrected by the expected robust factor when that
// attempt was judged on the evaluator alone: auto_mixed.cc expected_robust_factor; at most 10,
// as a pass sets it) and learns from every attempt: a pass measures it, a failure bounds it from
// below.
//
// Used by the improved search (src/mixed/auto_mixed.cc):
// - with MixedOptions::skip_predicted_failures, on every segment;
// - by default, only on light segments (under 0.1% of the model's FLOPs and weight bytes). On
//   every segment it halved BERT-base's search but kept 6-10 points less of the FLOPs in float16
//   on PaddleOCR's detector and recogniser (its predictions near the edge are not good enough,
//   and with a margin, predicted ratio above 2, it spared almost nothing). On light segments
//   alone it cut the attempts 3-6x (BERT-base 591 -> 184, PaddleOCR rec 602 -> 99) for at most
//   0.6 points of the FLOPs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mixed/segment_search.h"
#include "mixed/search_order.h"

namespace onnx_fp16::mixed {

class ErrorModel {
 public:
  // `order`: the search order and its predictions. `all_ratio`: the worst ratio of the attempt
  // that converted every unit (not finite or 0: no calibration, scale 1). `robust_factor`: how
  // much larger than `all_ratio` and the order's effects the ratios the search accepts on are
  // expected to be (1: the same measure; above 1 when those were measured on the evaluator
  // alone and acceptance adds the simulated implementations' spread); the first calibration
  // scales by its square.
  // `unit_groups`: by unit, a bit for each flat model of the samples that runs it (samples that
  // take different If branches: GroupedEngine); empty: one model runs every unit. The ratio is
  // the worst over the samples, and units no sample runs together do not add up: a sum of e^2
  // is the largest over the models (Sum).
  ErrorModel(const SearchOrder& order, double all_ratio, double robust_factor = 1,
             std::vector<std::uint64_t> unit_groups = {});

  // e^2 of units added one by one or by segment, summed by flat model; what a prediction takes is
  // the worst model's sum. With one model, the plain sum.
  class Sum {
   public:
    explicit Sum(const ErrorModel& model) : model_(&model), by_group_(model.group_count_, 0.0) {}
    void add(std::size_t position);
    void add(const SegmentSearch::Segment& segment);
    void add_squared(std::uint64_t groups, double squared);  // e^2 of a unit in those groups
    double worst() const;
    // The worst with one more unit, or a segment, not added.
    double worst_with(std::size_t position) const;
    double worst_with(const SegmentSearch::Segment& segment) const;

   private:
    const ErrorModel* model_;
    std::vector<double> by_group_;
  };

  // Whether any unit has a prediction (without one the model knows nothing).
  bool predicts_anything() const { return any_prediction_; }
  // e^2 of the unit at `position` in the order (0 without a prediction).
  double squared(std::size_t position) const;
  // The worst flat model's sum over the segment (Sum).
  double segment_squared(const SegmentSearch::Segment& segment) const;
  // The squared worst ratio predicted for converting units whose e^2 sum to `added_squared` on
  // top of an accepted state at `accepted_ratio`.
  double predicted_squared(double accepted_ratio, double added_squared) const {
    return accepted_ratio * accepted_ratio + scale_ * added_squared;
  }
  bool predicts_failure(double accepted_ratio, double added_squared) const {
    return predicted_squared(accepted_ratio, added_squared) > 1;
  }
  // An attempt of units whose e^2 sum to `added_squared`, from an accepted state at
  // `ratio_before`: passed (the accepted state is now at `ratio_after`) or failed.
  void learn(double ratio_before, double added_squared, bool passed, double ratio_after);
  double scale() const { return scale_; }

 private:
  // The groups (bits) of a unit; every group where it has none.
  std::uint64_t groups_of(std::size_t unit) const;

  const SearchOrder& order_;
  std::vector<std::uint64_t> unit_groups_;
  std::size_t group_count_ = 1;
  double scale_ = 1;
  bool any_prediction_ = false;
};

}  // namespace onnx_fp16::mixed
