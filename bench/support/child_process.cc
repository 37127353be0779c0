#include "support/child_process.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

void pin_to_cpu(std::optional<int> cpu) {
  if (!cpu) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(*cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);  // best effort: an unpinned run is still a run
}

ChildUsage wait_for(pid_t pid, Clock::time_point start) {
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("wait4: ") + std::strerror(errno));
  }
  ChildUsage result;
  result.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.peak_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

void write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string data;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

}  // namespace

std::string ChildUsage::describe_failure() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

ChildUsage run_program(const std::vector<std::string>& argv, const std::filesystem::path& log, std::optional<int> cpu,
                       std::optional<std::uint64_t> address_space_limit) {
  // Everything the child needs is prepared before fork: after it, only exec-safe calls.
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log.string() + ": " + std::strerror(errno));

  std::fflush(nullptr);  // or the child inherits unflushed output and prints it twice
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    pin_to_cpu(cpu);
    if (address_space_limit) {
      const rlimit limit{static_cast<rlim_t>(*address_space_limit), static_cast<rlim_t>(*address_space_limit)};
      setrlimit(RLIMIT_AS, &limit);
    }
    execv(args[0], args.data());
    const std::string message = std::string("exec ") + args[0] + ": " + std::strerror(errno) + "\n";
    write_all(STDERR_FILENO, message);
    _exit(127);
  }
  close(log_fd);
  return wait_for(pid, start);
}

FunctionResult run_function(const std::function<std::string()>& body, std::optional<int> cpu) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(pipe_fds[0]);
    pin_to_cpu(cpu);
    int code = 0;
    try {
      write_all(pipe_fds[1], body());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      code = 1;
    }
    std::fflush(nullptr);
    // _exit, not exit: the parent's destructors and atexit handlers (the work folder's
    // removal among them) must not run in the child.
    _exit(code);
  }
  close(pipe_fds[1]);
  FunctionResult result;
  result.output = read_all(pipe_fds[0]);
  close(pipe_fds[0]);
  result.usage = wait_for(pid, start);
  if (!result.usage.succeeded()) result.output.clear();
  return result;
}

int first_allowed_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) return cpu;
    }
  }
  return 0;
}

}  // namespace bench
