// A child process spoken to in lines over its stdin/stdout, with deadlines, so that a hung or
// crashed child turns into an error message instead of a hung or crashed test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace test_support {

class ChildProcessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LineChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts argv[0] (looked up in PATH) with piped stdin/stdout; stderr is shared with the test.
  // Throws ChildProcessError when it cannot be started.
  explicit LineChildProcess(const std::vector<std::string>& argv);
  ~LineChildProcess();
  LineChildProcess(const LineChildProcess&) = delete;
  LineChildProcess& operator=(const LineChildProcess&) = delete;

  // Writes `line` and a newline. Throws ChildProcessError when the child has gone or does not
  // take the data before the deadline.
  void write_line(std::string_view line, Clock::time_point deadline);
  // The next line without its newline; std::nullopt at the deadline. Throws ChildProcessError
  // when the child closes its stdout (it exited), saying how it ended.
  std::optional<std::string> read_line(Clock::time_point deadline);
  // Kills the child (SIGKILL) and reaps it; later calls throw.
  void kill();
  bool alive() const { return pid_ > 0; }

 private:
  std::string reap_and_describe();  // waits for the exited child: "exited with status 2"
  void close_fds();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string read_buffer_;
};

}  // namespace test_support
