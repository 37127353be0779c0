#include "fuzz_input.h"

#include <unistd.h>

#include <fstream>

#include <onnx_fp16/error.h>
#include <onnx_fp16/model_io.h>
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

std::optional<onnx::ModelProto> load_fuzzed_model(const std::uint8_t* data, std::size_t size,
                                                  std::filesystem::path& path) {
  path = write_input("model.onnx", data, size);
  try {
    return load_model(path);
  } catch (const Error&) {
    return std::nullopt;
  }
}

Feeds sample_feeds(const onnx::ModelProto& model, bool varied) {
  Feeds feeds;
  std::uint32_t state = 12345;
  for (const auto& input : model.graph().input()) {
    if (!input.type().has_tensor_type()) continue;
    const auto& tensor_type = input.type().tensor_type();
    Shape shape;
    std::int64_t elements = 1;
    for (const auto& dim : tensor_type.shape().dim()) {
      const std::int64_t extent = dim.has_dim_value() ? dim.dim_value() : 1;
      if (extent < 0 || extent > 4096) return feeds;
      elements *= extent;
      if (elements > 4096) return feeds;
      shape.push_back(extent);
    }
    try {
      Tensor value(static_cast<DataType>(tensor_type.elem_type()), shape);
      if (varied && value.dtype() == onnx::TensorProto::FLOAT) {
        for (float& v : value.mutable_data<float>()) {
          state = state * 1664525u + 1013904223u;
          v = static_cast<float>(state >> 8) / static_cast<float>(1u << 23) - 1.0f;
        }
      }
      feeds[input.name()] = std::move(value);
    } catch (const Error&) {
      // a type the Tensor cannot hold: left unfed
    }
  }
  return feeds;
}

}  // namespace onnx_fp16::fuzz
