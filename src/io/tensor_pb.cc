// ONNX TensorProto files: one tensor per .pb file, and folders of input_<N>.pb as ONNX test data
// lays them out (test_data_set_0/input_0.pb, input_1.pb, ...).
#include <onnx_fp16/error.h>

#include <charconv>
#include <fstream>
#include <regex>
#include <sstream>

#include "io/file_descriptor.h"
#include "io/tensor_files.h"

namespace onnx_fp16::io {

std::pair<std::string, Tensor> read_tensor_pb(const std::filesystem::path& path) {
  const std::string file = io::quoted(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + file + ": cannot open it");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + file);
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes.str())) throw Error(file + " is not an ONNX TensorProto");
  try {
    return {proto.name(), Tensor::from_proto(proto)};
  } catch (const Error& error) {
    throw Error(file + ": " + error.what());
  }
}

std::map<std::string, Tensor> read_pb_folder(const std::filesystem::path& folder,
                                             const std::vector<std::string>& positional_names) {
  // input_<N>.pb by N (input_10 after input_9); output_<N>.pb and other files are not inputs.
  static const std::regex input_file(R"(input_(\d+)\.pb)");
  std::map<std::size_t, std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !std::regex_match(name, match, input_file)) continue;
    std::size_t position = 0;
    const std::string digits = match[1];
    if (std::from_chars(digits.data(), digits.data() + digits.size(), position).ec != std::errc()) {
      throw Error(entry.path().string() + ": input number " + digits + " is too large");
    }
    files[position] = entry.path();
  }
  if (files.empty()) throw Error("folder '" + folder.string() + "' holds no input_<N>.pb files");

  std::map<std::string, Tensor> tensors;
  for (const auto& [position, path] : files) {
    auto [name, tensor] = read_tensor_pb(path);
    if (name.empty()) {
      if (position >= positional_names.size()) {
        throw Error("'" + path.string() + "' holds an unnamed tensor and there is no input " + std::to_string(position) +
                    " to give it the name of (" + std::to_string(positional_names.size()) + " known)");
      }
      name = positional_names[position];
    }
    if (!tensors.emplace(name, std::move(tensor)).second) {
      throw Error("'" + path.string() + "': a second tensor named '" + name + "' in folder '" + folder.string() + "'");
    }
  }
  return tensors;
}

}  // namespace onnx_fp16::io
