// Child processes for measurements: wall time and peak resident memory (ru_maxrss from wait4).
//
// Linux starts a forked child's peak RSS at the parent's RSS at the time of the fork (the
// copied page tables count), and exec keeps that peak. So the parent must stay small: the
// benchmark builds and inspects big models in children too (run_function), never in itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bench {

struct ChildUsage {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  double wall_seconds = 0;
  std::uint64_t peak_rss_bytes = 0;

  bool succeeded() const { return signal == 0 && exit_code == 0; }
  std::string describe_failure() const;  // "exit code 3", "killed by signal 9"
};

// Runs the program argv[0] (a path) with its arguments; its stdout and stderr go to `log`.
// With `cpu`, the child is pinned to that CPU before exec, so multi-threaded code is measured
// on one core.
// With `address_space_limit`, the child runs under that RLIMIT_AS (bytes): a memory cap that
// fails allocations and mappings beyond it, so a program that would need more exits with an
// error instead of being measured.
ChildUsage run_program(const std::vector<std::string>& argv, const std::filesystem::path& log, std::optional<int> cpu,
                       std::optional<std::uint64_t> address_space_limit = std::nullopt);

struct FunctionResult {
  ChildUsage usage;
  std::string output;  // what the function returned, or empty if it failed
};

// Runs `body` in a forked child and hands back the string it returns (through a pipe). An
// exception in `body` is printed to stderr and makes the child exit with code 1.
FunctionResult run_function(const std::function<std::string()>& body, std::optional<int> cpu = std::nullopt);

// The first CPU this process may run on: where pinned children go.
int first_allowed_cpu();

}  // namespace bench
