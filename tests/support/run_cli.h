// Running the built onnx-fp16 binary as a user would: a child process whose exit status,
// stdout and stderr the test reads.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace test_support {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the CLI with `args`; its stdout and stderr go to files (no pipe to fill up and block).
CliRun run_cli(const std::vector<std::string>& args);

std::string read_file(const std::filesystem::path& path);

}  // namespace test_support
