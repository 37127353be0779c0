#include "cli/byte_progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

namespace onnx_fp16::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kRedrawEvery = std::chrono::milliseconds(200);

struct BarState {
  Clock::time_point start = Clock::now();
  Clock::time_point last_draw{};
  bool drawn = false;
};

}  // namespace

std::string progress_bar_text(std::uint64_t done, std::uint64_t total, double seconds) {
  constexpr int kWidth = 30;
  const double fraction = total ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  std::string bar(static_cast<std::size_t>(kWidth * fraction), '#');
  bar.resize(kWidth, '.');
  // A rate from the first few milliseconds (one block written) would promise any speed at all.
  std::string rate = "? MB/s  ? s left";
  if (seconds >= kProgressRateFromSeconds) {
    const double per_second = static_cast<double>(done) / seconds;
    const double left = per_second > 0 && total > done ? static_cast<double>(total - done) / per_second : 0.0;
    char text[64];
    std::snprintf(text, sizeof text, left < 10 ? "%.0f MB/s  %.1f s left" : "%.0f MB/s  %.0f s left", per_second / 1e6, left);
    rate = text;
  }
  char text[160];
  std::snprintf(text, sizeof text, "  Writing weights [%s] %.0f / %.0f MB  %s ", bar.c_str(),
                static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6, rate.c_str());
  return text;
}

io::SaveProgress progress_bar(bool quiet) {
  if (quiet || !::isatty(STDERR_FILENO)) return {};
  auto state = std::make_shared<BarState>();
  return [state](std::uint64_t done, std::uint64_t total) {
    if (total < kProgressBarFromBytes) return;
    const Clock::time_point now = Clock::now();
    if (done != total && state->drawn && now - state->last_draw < kRedrawEvery) return;
    state->last_draw = now;
    const double seconds = std::chrono::duration<double>(now - state->start).count();
    std::fprintf(stderr, "\r%s", progress_bar_text(done, total, seconds).c_str());
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
    state->drawn = true;
  };
}

}  // namespace onnx_fp16::cli
