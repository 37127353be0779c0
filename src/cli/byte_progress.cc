#include "cli/byte_progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace onnx_fp16::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Below this a write takes well under a second here: no bar.
constexpr std::uint64_t kShowFromBytes = 256ull << 20;
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);

struct BarState {
  Clock::time_point start = Clock::now();
  Clock::time_point last_draw{};
  bool drawn = false;
};

void draw(BarState& state, std::uint64_t done, std::uint64_t total) {
  const double seconds = std::chrono::duration<double>(Clock::now() - state.start).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double left = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  constexpr int kWidth = 30;
  const int filled = total ? static_cast<int>(kWidth * static_cast<double>(done) / static_cast<double>(total)) : kWidth;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r  Writing weights [%s] %.0f / %.0f MB  %.0f MB/s  %.0f s left ", bar.c_str(),
               static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6, rate / 1e6, left);
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
  state.drawn = true;
}

}  // namespace

io::SaveProgress progress_bar(bool quiet) {
  if (quiet || !::isatty(STDERR_FILENO)) return {};
  auto state = std::make_shared<BarState>();
  return [state](std::uint64_t done, std::uint64_t total) {
    if (total < kShowFromBytes) return;
    const Clock::time_point now = Clock::now();
    if (done != total && state->drawn && now - state->last_draw < kRedrawEvery) return;
    state->last_draw = now;
    draw(*state, done, total);
  };
}

}  // namespace onnx_fp16::cli
