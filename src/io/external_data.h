// External data on load: tensors whose bytes live in files beside the model (ONNX's
// data_location = EXTERNAL with "location", "offset", "length" entries).
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <vector>
#include <string>

namespace onnx_fp16::io {

// The file a tensor's `location` names inside `model_folder`, with symbolic links resolved (the
// path that was checked is the path to open). Throws onnx_fp16::Error naming
// the tensor and the location when it is absolute or leads out of the folder, by ".." or
// through a symbolic link.
std::filesystem::path resolve_external_location(const std::string& location, const std::filesystem::path& model_folder,
                                                const std::string& tensor_name);

// Reads every external tensor of `model` (all graphs, attributes, sparse tensors, functions)
// into raw_data and marks it DEFAULT. Each data file is opened once.
// Returns the data files it read.
std::vector<std::filesystem::path> load_external_data(onnx::ModelProto& model, const std::filesystem::path& model_folder);

}  // namespace onnx_fp16::io
