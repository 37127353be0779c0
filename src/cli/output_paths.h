// Checks on the files `onnx-fp16 convert` will write, made before the (possibly long) load and
// conversion, so that a mistake in the command line fails in a second and writes nothing.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace onnx_fp16::cli {

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

}  // namespace onnx_fp16::cli
