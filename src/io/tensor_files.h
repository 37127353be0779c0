// The per-format readers behind onnx_fp16::read_tensors (include/onnx_fp16/tensor_io.h).
#pragma once

#include <onnx_fp16/tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace onnx_fp16::io {

std::map<std::string, Tensor> read_npz(const std::filesystem::path& path);
// One TensorProto file; the tensor's name is its proto's (possibly empty).
std::pair<std::string, Tensor> read_tensor_pb(const std::filesystem::path& path);
// A folder of input_<N>.pb files (see read_tensors).
std::map<std::string, Tensor> read_pb_folder(const std::filesystem::path& folder,
                                             const std::vector<std::string>& positional_names);

}  // namespace onnx_fp16::io
