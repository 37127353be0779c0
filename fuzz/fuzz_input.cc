#include "fuzz_input.h"

#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace onnx_fp16::fuzz {

namespace {

// Removed when the process ends normally (a crash leaves it for the post-mortem).
struct ScratchFolder {
  std::filesystem::path path;
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

const std::filesystem::path& scratch_folder() {
  static const ScratchFolder folder{[] {
    const auto path = std::filesystem::temp_directory_path() / ("onnx_fp16_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    // 4 KiB of float32 values an input's external data may point into.
    std::vector<float> weights(1024);
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i) * 0.25f - 100.0f;
    std::ofstream(path / "weights.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(weights.data()), static_cast<std::streamsize>(weights.size() * sizeof(float)));
    return path;
  }()};
  return folder.path;
}

std::filesystem::path write_input(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const auto path = scratch_folder() / name;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!file) throw std::runtime_error("fuzz: cannot write " + path.string());
  return path;
}

}  // namespace onnx_fp16::fuzz
