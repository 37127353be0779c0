#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace test_support {
namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Milliseconds left until `deadline`, as poll() wants them (0 when it has passed).
int poll_timeout(LineChildProcess::Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - LineChildProcess::Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, std::min<std::int64_t>(left.count(), 1 << 30)));
}

// Without this, writing to a child that has died raises SIGPIPE, which ends the whole test
// binary; ignored, the write fails with EPIPE and becomes an error message.
void ignore_sigpipe_once() {
  static const bool done = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)done;
}

}  // namespace

LineChildProcess::LineChildProcess(const std::vector<std::string>& argv) {
  ignore_sigpipe_once();
  // O_CLOEXEC: the parent's ends must not leak into other children (a leaked write end
  // would keep the server from ever seeing end of input).
  int to_child[2];
  int from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) throw ChildProcessError(errno_text("pipe"));
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    throw ChildProcessError(errno_text("pipe"));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);

  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int status = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (status != 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    pid_ = -1;
    throw ChildProcessError("cannot start '" + argv.front() + "': " + std::strerror(status));
  }
  stdin_fd_ = to_child[1];
  stdout_fd_ = from_child[0];
  // Non-blocking writes let write_line() honour its deadline when the child stops reading.
  ::fcntl(stdin_fd_, F_SETFL, ::fcntl(stdin_fd_, F_GETFL) | O_NONBLOCK);
}

LineChildProcess::~LineChildProcess() {
  if (!alive()) return;
  // Closing stdin asks the child to finish; give it a moment before insisting.
  ::close(stdin_fd_);
  stdin_fd_ = -1;
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      close_fds();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
}

void LineChildProcess::write_line(std::string_view line, Clock::time_point deadline) {
  if (!alive()) throw ChildProcessError("the child process is not running");
  std::string data(line);
  data += '\n';
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(stdin_fd_, data.data() + written, data.size() - written);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) throw ChildProcessError(errno_text("writing to the child process"));
    pollfd waiting{stdin_fd_, POLLOUT, 0};
    const int ready = ::poll(&waiting, 1, poll_timeout(deadline));
    if (ready == 0) throw ChildProcessError("the child process did not read its input in time");
    if (ready < 0 && errno != EINTR) throw ChildProcessError(errno_text("poll"));
  }
}

std::optional<std::string> LineChildProcess::read_line(Clock::time_point deadline) {
  if (!alive()) throw ChildProcessError("the child process is not running");
  for (;;) {
    if (const auto end = read_buffer_.find('\n'); end != std::string::npos) {
      std::string line = read_buffer_.substr(0, end);
      read_buffer_.erase(0, end + 1);
      return line;
    }
    pollfd waiting{stdout_fd_, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, poll_timeout(deadline));
    if (ready == 0) return std::nullopt;
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw ChildProcessError(errno_text("poll"));
    }
    char chunk[65536];
    const ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw ChildProcessError(errno_text("reading from the child process"));
    if (n == 0) throw ChildProcessError("the child process " + reap_and_describe());
    read_buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

void LineChildProcess::kill() {
  if (!alive()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  close_fds();
}

std::string LineChildProcess::reap_and_describe() {
  int status = 0;
  const pid_t reaped = ::waitpid(pid_, &status, 0);
  pid_ = -1;
  close_fds();
  if (reaped < 0) return "ended (" + errno_text("waitpid") + ")";
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
  return "ended";
}

void LineChildProcess::close_fds() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdin_fd_ = stdout_fd_ = -1;
  read_buffer_.clear();
}

}  // namespace test_support
