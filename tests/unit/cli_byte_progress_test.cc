// The progress bar `convert` draws while it streams weights (src/cli/byte_progress.h): its text,
// and that it is drawn only on a terminal, only for large writes, redrawn in place and ended
// with a newline. The terminal is a pseudo-terminal put in place of stderr for the test.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "cli/byte_progress.h"

namespace {

using onnx_fp16::cli::kProgressBarFromBytes;
using onnx_fp16::cli::progress_bar;
using onnx_fp16::cli::progress_bar_text;

TEST(ByteProgress, TextShowsTheBarTheMegabytesTheRateAndTheTimeLeft) {
  EXPECT_EQ(progress_bar_text(1'000'000'000, 31'000'000'000, 2.0),
            "  Writing weights [..............................] 1000 / 31000 MB  500 MB/s  60 s left ");
  EXPECT_EQ(progress_bar_text(150'000'000, 300'000'000, 1.0),
            "  Writing weights [###############...............] 150 / 300 MB  150 MB/s  1.0 s left ");
  EXPECT_EQ(progress_bar_text(300'000'000, 300'000'000, 4.0),
            "  Writing weights [##############################] 300 / 300 MB  75 MB/s  0.0 s left ");
  // Before a fifth of a second there is no rate to speak of (one block written), and nothing
  // is promised.
  EXPECT_EQ(progress_bar_text(4'000'000, 300'000'000, 0.001),
            "  Writing weights [..............................] 4 / 300 MB  ? MB/s  ? s left ");
}

// Runs `draw` with stderr on a pseudo-terminal (or on a pipe) and returns what it wrote there.
std::string stderr_of(bool terminal, const std::function<void()>& draw) {
  int reader = -1, writer = -1;
  if (terminal) {
    EXPECT_EQ(::openpty(&reader, &writer, nullptr, nullptr, nullptr), 0);
  } else {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    reader = fds[0];
    writer = fds[1];
  }
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(writer, STDERR_FILENO);
  draw();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(writer);
  ::fcntl(reader, F_SETFL, O_NONBLOCK);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(reader, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  ::close(reader);
  return text;
}

TEST(ByteProgress, DrawsInPlaceOnATerminalForLargeWritesOnly) {
  const std::uint64_t large = kProgressBarFromBytes + 43'565'456;  // 312 MB
  const std::string drawn = stderr_of(true, [&] {
    const auto progress = progress_bar(false);
    ASSERT_TRUE(progress);
    progress(1'000'000, 2'000'000);  // a small write: nothing
    progress(large / 3, large);      // drawn
    progress(large / 2, large);      // within 200 ms of the last: skipped
    progress(large, large);          // the end is always drawn, then a newline
  });
  // A pseudo-terminal turns "\n" into "\r\n".
  const std::string first = std::string("\r").append(progress_bar_text(large / 3, large, 0), 0, 50);
  EXPECT_EQ(drawn.find(first), 0u) << drawn;
  std::size_t draws = 0;
  for (std::size_t at = drawn.find("\r  Writing weights"); at != std::string::npos; at = drawn.find("\r  Writing weights", at + 1)) {
    ++draws;
  }
  EXPECT_EQ(draws, 2u) << "the first and the last, each from the start of the line: " << drawn;
  EXPECT_NE(drawn.find("[##############################] 312 / 312 MB"), std::string::npos) << drawn;
  EXPECT_EQ(drawn.substr(drawn.size() - 2), "\r\n") << drawn;

  EXPECT_EQ(stderr_of(true, [&] { EXPECT_FALSE(progress_bar(true)); }), "") << "quiet";
  EXPECT_EQ(stderr_of(false, [&] { EXPECT_FALSE(progress_bar(false)); }), "") << "a log, not a terminal";
}

}  // namespace
