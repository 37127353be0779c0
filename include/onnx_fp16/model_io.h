// Loading and saving models, with external data and atomic writes.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace onnx_fp16 {

// Reads an ONNX model. Tensors stored as external data are read into the model (their paths
// are resolved inside the model's folder; one that escapes it is an error). Throws
// onnx_fp16::Error naming the file for a missing, truncated or non-ONNX file.
onnx::ModelProto load_model(const std::filesystem::path& path);
// The same, also listing the external data files it read (resolved paths), so that a caller
// writing files can refuse to overwrite the input's data.
onnx::ModelProto load_model(const std::filesystem::path& path, std::vector<std::filesystem::path>& data_files_read);

struct SaveOptions {
  // Store tensors in this file (a name beside the model) instead of inside the protobuf.
  std::optional<std::string> external_data_file;
  // Tensors smaller than this stay inside the protobuf when external data is used.
  std::size_t external_data_threshold = 1024;
};

// Writes the model atomically: to a temporary file beside `path`, then renamed. When the
// protobuf would exceed protobuf's 2 GB limit and no external file is named, tensors go to
// "<file name>.data" automatically. `model` is not changed.
void save_model(const onnx::ModelProto& model, const std::filesystem::path& path, const SaveOptions& options = {});

// Total bytes of tensor data held by the model's initializers (all graphs).
std::uint64_t initializer_bytes(const onnx::ModelProto& model);

}  // namespace onnx_fp16
