// read_tensors: picks the reader by what the path is (a folder) or its extension.
#include <onnx_fp16/tensor_io.h>

#include "io/tensor_files.h"

namespace onnx_fp16 {

std::map<std::string, Tensor> read_tensors(const std::filesystem::path& path,
                                           const std::vector<std::string>& positional_names) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw Error("cannot read '" + path.string() + "': no such file or folder");
  if (std::filesystem::is_directory(path, error)) return io::read_pb_folder(path, positional_names);
  const std::string extension = path.extension().string();
  if (extension == ".npz") return io::read_npz(path);
  if (extension == ".npy") return {{"", read_npy(path)}};
  if (extension == ".pb") {
    auto [name, tensor] = io::read_tensor_pb(path);
    return {{name, std::move(tensor)}};
  }
  throw Error("cannot read '" + path.string() + "': unknown tensor file type '" + extension +
              "' (expected .npz, .npy, .pb or a folder of input_<N>.pb files)");
}

}  // namespace onnx_fp16
