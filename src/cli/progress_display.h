// How auto-mixed shows its progress on stderr. On a terminal the attempts redraw one live line
// in place (bar, counts, FLOP share, rate, time left), as people know from tqdm, and notes
// print above it; in a log (not a terminal) every attempt stays one line of its own.
#pragma once

#include <onnx_fp16/mixed.h>

#include <cstdio>
#include <memory>

namespace onnx_fp16::cli {

class ProgressDisplay {
 public:
  // `live`: redraw attempts in place (stderr is a terminal).
  explicit ProgressDisplay(bool live) : live_(live) {}
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  void show(const MixedProgress& progress);

 private:
  void end_live_line();

  bool live_;
  bool line_open_ = false;  // a live line is on screen, without its newline
};

// A display for stderr: live when stderr is a terminal.
std::shared_ptr<ProgressDisplay> make_stderr_progress();

}  // namespace onnx_fp16::cli
