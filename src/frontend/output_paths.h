// Checks on the files a conversion will write (`onnx-fp16 convert`, the Python path functions),
// made before the (possibly long) load and conversion, so that a mistake fails in a second and
// writes nothing.
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace onnx_fp16::frontend {

struct OutputPaths {
  std::filesystem::path input;
  std::filesystem::path output;
  std::optional<std::string> external_data_file;  // a name beside `output`
  std::optional<std::filesystem::path> report;
};

// Throws onnx_fp16::Error when:
// - the output, its data file or the report is the input file (the input is never modified:
//   saving renames a new file over the target, which would replace the input);
// - two of the files to write are the same file;
// - a folder to write into does not exist;
// - the external data file is not a plain file name.
void check_output_paths(const OutputPaths& paths);

// Throws onnx_fp16::Error when a file to write is one of the input's external data files
// (known only once the input is loaded).
void check_not_input_data(const OutputPaths& paths, const std::vector<std::filesystem::path>& input_data_files);

}  // namespace onnx_fp16::frontend
