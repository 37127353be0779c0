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

double attempts_left_estimate(const SegmentSearch& search, int attempts, const std::vector<bool>& kept_untried,
                              const std::vector<bool>& will_try) {
  auto at = [](const std::vector<bool>& flags, std::size_t p, bool otherwise) {
    return p < flags.size() ? static_cast<bool>(flags[p]) : otherwise;
  };
  std::size_t decided = 0;  // positions decided by attempts
  std::size_t to_try = 0;   // open positions that will be tried
  std::size_t open_segments = 0;
  for (const auto& segment : search.segments()) {
    const bool open = segment.state == SegmentSearch::State::Untried || segment.state == SegmentSearch::State::Deferred;
    open_segments += open;
    for (std::size_t p = segment.begin; p < segment.begin + segment.size; ++p) {
      if (open) {
        to_try += at(will_try, p, true);
      } else if (segment.state == SegmentSearch::State::Good || !at(kept_untried, p, false)) {
        ++decided;
      }
    }
  }
  if (decided == 0) return static_cast<double>(open_segments);
  return static_cast<double>(attempts) / static_cast<double>(decided) * static_cast<double>(to_try);
}

void ProgressReporter::attempt(int number, std::size_t tried, bool passed, const SegmentSearch& search,
                               double flops_float16_share, double attempts_left) {
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
  // The attempts the search expects, at the average cost so far.
  const double per_attempt = std::chrono::duration<double>(Clock::now() - search_start_).count() / number;
  progress.estimated_seconds_left = per_attempt * attempts_left;

  progress.line = "attempt " + std::to_string(number) + ": " + std::to_string(tried) + " node" + (tried == 1 ? "" : "s") +
                  (passed ? " converted" : " failed") + "  |" + progress.bar + "|  good " +
                  std::to_string(search.count(SegmentSearch::State::Good)) + ", kept " +
                  std::to_string(search.count(SegmentSearch::State::Bad)) + ", untried " +
                  std::to_string(progress.untried) + ", " + percent(flops_float16_share) + " of FLOPs in float16  " +
                  progress.segments + "  " +
                  seconds_text(progress.elapsed_seconds) +
                  (progress.untried > 0 ? ", about " + seconds_text(progress.estimated_seconds_left) + " left" : "");
  emit(std::move(progress));
}

void ProgressReporter::emit(MixedProgress progress) {
  log_.push_back(progress.line);
  if (callback_) callback_(progress);
}

}  // namespace onnx_fp16::mixed
