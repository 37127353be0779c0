#include "cli/progress_display.h"

#include <unistd.h>

#include <iostream>
#include <string>

namespace onnx_fp16::cli {

namespace {

std::string live_text(const MixedProgress& p) {
  char text[256];
  const double rate = p.elapsed_seconds > 0 ? p.attempt / p.elapsed_seconds : 0;
  std::snprintf(text, sizeof text, "attempt %d |%s| good %zu, kept %zu, untried %zu | %.1f%% FLOPs in float16 | %.2f it/s, %.1f s, ETA ~%.1f s",
                p.attempt, p.bar.c_str(), p.good, p.kept, p.untried, 100 * p.flops_float16_share, rate, p.elapsed_seconds,
                p.estimated_seconds_left);
  return text;
}

}  // namespace

ProgressDisplay::~ProgressDisplay() { end_live_line(); }

void ProgressDisplay::end_live_line() {
  if (line_open_) std::cerr << "\n" << std::flush;
  line_open_ = false;
}

void ProgressDisplay::show(const MixedProgress& progress) {
  if (!live_ || progress.attempt == 0) {
    if (live_ && line_open_) std::cerr << "\r\033[K";  // a note replaces the live line, which comes back with the next attempt
    line_open_ = false;
    std::cerr << progress.line << std::endl;
    return;
  }
  std::cerr << "\r\033[K" << live_text(progress) << std::flush;
  line_open_ = true;
}

std::shared_ptr<ProgressDisplay> make_stderr_progress() {
  return std::make_shared<ProgressDisplay>(isatty(STDERR_FILENO) == 1);
}

}  // namespace onnx_fp16::cli
