// External data on load: tensors whose bytes live in files beside the model (ONNX's
// data_location = EXTERNAL with "location", "offset", "length" entries).
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <vector>
#include <string>

#include "io/payload_sources.h"

namespace onnx_fp16::io {

// The file a tensor's `location` names inside `model_folder`, with symbolic links resolved (the
// path that was checked is the path to open). Throws onnx_fp16::Error naming
// the tensor and the location when it is absolute or leads out of the folder, by ".." or
// through a symbolic link.
std::filesystem::path resolve_external_location(const std::string& location, const std::filesystem::path& model_folder,
                                                const std::string& tensor_name);

// Where an external tensor's bytes are: its file (opened in `sources`), offset and length,
// checked against the file's size. Throws onnx_fp16::Error naming the tensor and the file.
struct ExternalSlice {
  std::uint32_t source = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
ExternalSlice locate_external_data(const onnx::TensorProto& tensor, const std::filesystem::path& model_folder,
                                   PayloadSources& sources);

// Reads every external tensor of `model` (all graphs, attributes, sparse tensors, functions)
// into raw_data and marks it DEFAULT (deferred tensors, io/deferred_tensor.h, stay as they
// are). Each data file is opened once.
// Returns the data files it read.
std::vector<std::filesystem::path> load_external_data(onnx::ModelProto& model, const std::filesystem::path& model_folder);

}  // namespace onnx_fp16::io
