// LineChildProcess: the pipe plumbing under the ORT client, exercised with /bin/sh.
#include <gtest/gtest.h>

#include "support/child_process.h"

namespace test_support {
namespace {

using namespace std::chrono_literals;

auto soon() { return LineChildProcess::Clock::now() + 10s; }

TEST(LineChildProcess, ExchangesLines) {
  LineChildProcess child({"sh", "-c", "while read line; do echo \"got $line\"; done"});
  child.write_line("one", soon());
  child.write_line("two", soon());
  EXPECT_EQ(child.read_line(soon()), "got one");
  EXPECT_EQ(child.read_line(soon()), "got two");
}

TEST(LineChildProcess, CarriesLongLines) {
  LineChildProcess child({"sh", "-c", "read line; echo \"$line\""});
  const std::string line(1 << 18, 'x');  // beyond a pipe's buffer
  child.write_line(line, soon());
  EXPECT_EQ(child.read_line(soon()), line);
}

TEST(LineChildProcess, SaysHowTheChildEnded) {
  LineChildProcess child({"sh", "-c", "exit 3"});
  try {
    child.read_line(soon());
    FAIL() << "expected an error";
  } catch (const ChildProcessError& e) {
    EXPECT_NE(std::string(e.what()).find("exited with status 3"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(child.alive());
  EXPECT_THROW(child.write_line("x", soon()), ChildProcessError);
}

TEST(LineChildProcess, WritingToAnEndedChildIsAnErrorNotASignal) {
  LineChildProcess child({"sh", "-c", "exec 0<&-; sleep 5"});
  std::this_thread::sleep_for(100ms);
  // The child closed its stdin: the write fails with EPIPE instead of raising SIGPIPE.
  EXPECT_THROW(
      for (int i = 0; i < 100; ++i) child.write_line(std::string(65536, 'x'), soon()), ChildProcessError);
  child.kill();
}

TEST(LineChildProcess, ReadTimesOut) {
  LineChildProcess child({"sh", "-c", "sleep 5"});
  const auto start = LineChildProcess::Clock::now();
  EXPECT_EQ(child.read_line(start + 200ms), std::nullopt);
  EXPECT_LT(LineChildProcess::Clock::now() - start, 3s);
  child.kill();
  EXPECT_FALSE(child.alive());
}

TEST(LineChildProcess, ReportsAProgramThatDoesNotExist) {
  EXPECT_THROW(LineChildProcess({"onnx-fp16-no-such-program"}), ChildProcessError);
}

}  // namespace
}  // namespace test_support
