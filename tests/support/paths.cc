#include "support/paths.h"

#include <atomic>
#include <string>
#include <unistd.h>

namespace test_support {

std::filesystem::path source_dir() { return ONNX_FP16_SOURCE_DIR; }
std::filesystem::path cli_path() { return ONNX_FP16_CLI_PATH; }

std::filesystem::path fresh_temp_dir(const std::string& label) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("onnx_fp16_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + label);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace test_support
