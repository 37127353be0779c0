#include "mixed/progress.h"

#include <cstdio>

namespace onnx_fp16::mixed {

namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, seconds < 10 ? "%.2f s" : "%.1f s", seconds);
  return text;
}

std::string percent(double share) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * share);
  return text;
}

}  // namespace

ProgressReporter::ProgressReporter(const MixedOptions& options, std::vector<std::string>& log)
    : callback_(options.progress), log_(log), start_(Clock::now()), search_start_(start_) {}

double ProgressReporter::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

void ProgressReporter::search_starting() { search_start_ = Clock::now(); }

void ProgressReporter::note(const std::string& text) {
  MixedProgress progress;
  progress.elapsed_seconds = elapsed_seconds();
  progress.line = text;
  emit(std::move(progress));
}

void ProgressReporter::attempt(int number, std::size_t tried, bool passed, const SegmentSearch& search,
                               double flops_float16_share) {
  MixedProgress progress;
  progress.attempt = number;
  progress.tried_nodes = tried;
  progress.passed = passed;
  progress.segments = search.sizes_text();
  progress.bar = search.bar(48);
  progress.good = search.count(SegmentSearch::State::Good);
  progress.kept = search.count(SegmentSearch::State::Bad);
  // Deferred positions (not handed to the search yet) are untried too.
  progress.untried = search.count(SegmentSearch::State::Untried) + search.count(SegmentSearch::State::Deferred);
  progress.flops_float16_share = flops_float16_share;
  progress.elapsed_seconds = elapsed_seconds();
  // Every untried segment needs at least one more attempt; at the average cost so far.
  std::size_t untried_segments = 0;
  for (const auto& s : search.segments()) {
    untried_segments += s.state == SegmentSearch::State::Untried || s.state == SegmentSearch::State::Deferred;
  }
  const double per_attempt = std::chrono::duration<double>(Clock::now() - search_start_).count() / number;
  progress.estimated_seconds_left = per_attempt * static_cast<double>(untried_segments);

  progress.line = "attempt " + std::to_string(number) + ": " + std::to_string(tried) + " node" + (tried == 1 ? "" : "s") +
                  (passed ? " converted" : " failed") + "  |" + progress.bar + "|  good " +
                  std::to_string(search.count(SegmentSearch::State::Good)) + ", kept " +
                  std::to_string(search.count(SegmentSearch::State::Bad)) + ", untried " +
                  std::to_string(progress.untried) + ", " + percent(flops_float16_share) + " of FLOPs in float16  " +
                  progress.segments + "  " +
                  seconds_text(progress.elapsed_seconds) +
                  (untried_segments > 0 ? ", >= " + seconds_text(progress.estimated_seconds_left) + " left" : "");
  emit(std::move(progress));
}

void ProgressReporter::emit(MixedProgress progress) {
  log_.push_back(progress.line);
  if (callback_) callback_(progress);
}

}  // namespace onnx_fp16::mixed
