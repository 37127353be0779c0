#include "support/paths.h"

#include <atomic>
#include <cstdlib>
#include <string>
#include <system_error>
#include <unistd.h>

namespace test_support {

std::filesystem::path source_dir() { return ONNX_FP16_SOURCE_DIR; }
std::filesystem::path cli_path() { return ONNX_FP16_CLI_PATH; }

namespace {

// One folder per test process, holding every folder fresh_temp_dir made, removed when the
// process exits: the suites used to leave their folders behind, about 9,500 and several GB in
// the system's temporary folder per run of the test command (the streamed model's peak-memory
// test alone 459 MB), until a CI machine's disk filled. ONNX_FP16_KEEP_TEST_FILES=1 keeps them
// for a look after a failure. Only the process that made the folder removes it: a forked child
// that exits normally must not take its parent's files with it.
class ProcessTempRoot {
 public:
  ProcessTempRoot()
      : owner_(::getpid()),
        path_(std::filesystem::temp_directory_path() / ("onnx_fp16_test_" + std::to_string(owner_))) {
    std::filesystem::remove_all(path_);  // a folder an earlier process of the same pid left
    std::filesystem::create_directories(path_);
  }
  ~ProcessTempRoot() {
    if (::getpid() != owner_) return;
    const char* keep = std::getenv("ONNX_FP16_KEEP_TEST_FILES");
    if (keep != nullptr && std::string(keep) == "1") return;
    std::error_code ignored;  // nothing to do about a folder that cannot be removed at exit
    std::filesystem::remove_all(path_, ignored);
  }
  ProcessTempRoot(const ProcessTempRoot&) = delete;
  ProcessTempRoot& operator=(const ProcessTempRoot&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  pid_t owner_;
  std::filesystem::path path_;
};

}  // namespace

std::filesystem::path fresh_temp_dir(const std::string& label) {
  static ProcessTempRoot root;
  static std::atomic<int> counter{0};
  auto dir = root.path() / (std::to_string(counter++) + "_" + label);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace test_support
