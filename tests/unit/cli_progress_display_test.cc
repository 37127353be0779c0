// How auto-mixed shows its progress (src/cli/progress_display.h): on a terminal one live line
// redrawn in place with notes printed above it, in a log one line per attempt.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/progress_display.h"

namespace {

using onnx_fp16::MixedProgress;
using onnx_fp16::cli::ProgressDisplay;

MixedProgress attempt(int number, std::size_t good, double seconds) {
  MixedProgress p;
  p.attempt = number;
  p.good = good;
  p.kept = 1;
  p.untried = 10 - good - 1;
  p.flops_float16_share = 0.25 * number;
  p.bar = std::string(good, '=') + "x" + std::string(9 - good, '.');
  p.elapsed_seconds = seconds;
  p.estimated_seconds_left = 3.0;
  p.line = "attempt " + std::to_string(number) + ": the log's line";
  return p;
}

MixedProgress note(const std::string& text) {
  MixedProgress p;  // attempt 0: a line that is not an attempt
  p.line = text;
  return p;
}

// What `show` writes to stderr for each progress in turn, the display then destroyed.
std::string shown(bool live, const std::vector<MixedProgress>& steps) {
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  {
    ProgressDisplay display(live);
    for (const MixedProgress& step : steps) display.show(step);
  }
  std::cerr.rdbuf(old);
  return captured.str();
}

TEST(ProgressDisplay, OnATerminalAttemptsRedrawOneLineAndNotesPrintAboveIt) {
  const std::string text = shown(true, {note("float16 search: 10 nodes"), attempt(1, 0, 0.5), attempt(2, 4, 1.0),
                                        note("order: measured 10 nodes"), attempt(3, 8, 2.0)});
  const std::string clear = "\r\033[K";
  EXPECT_EQ(text.find("float16 search: 10 nodes\n"), 0u) << text;
  // Each attempt clears the line and draws the bar, counts, share, rate, time and estimate.
  const std::size_t first = text.find(clear + "attempt 1 |x.........| good 0, kept 1, untried 9 | 25.0% FLOPs in float16 | "
                                              "2.00 it/s, 0.5 s, ETA ~3.0 s");
  EXPECT_NE(first, std::string::npos) << text;
  EXPECT_NE(text.find(clear + "attempt 2 |====x.....|"), std::string::npos) << text;
  // A note replaces the live line (cleared, printed with its newline); the next attempt draws again.
  EXPECT_NE(text.find("ETA ~3.0 s" + clear + "order: measured 10 nodes\n" + clear + "attempt 3 |========x.|"),
            std::string::npos) << text;
  EXPECT_EQ(text.find("the log's line"), std::string::npos) << "attempts are not logged line by line: " << text;
  EXPECT_EQ(text.back(), '\n') << "the live line ends with a newline when the display ends";
}

TEST(ProgressDisplay, InALogEveryAttemptIsALineOfItsOwn) {
  const std::string text = shown(false, {note("float16 search: 10 nodes"), attempt(1, 0, 0.5), attempt(2, 4, 1.0)});
  EXPECT_EQ(text, "float16 search: 10 nodes\nattempt 1: the log's line\nattempt 2: the log's line\n");
}

}  // namespace
