// Everything one `onnx-fp16 convert` run did: what the summary and the JSON report are made of.
#pragma once

#include <onnx_fp16/convert.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace onnx_fp16::frontend {

struct ConvertOutcome {
  std::string input;   // as the user wrote them
  std::string output;
  // Name of the external data file beside the output, when tensors went to one (asked for
  // with --external-data, or chosen by save_model for a model over protobuf's 2 GB limit).
  std::optional<std::string> external_data_file;

  Float16Options options;
  bool checked = false;  // --check ran check_model_full on the result

  ConversionReport report;
  // The library's warnings, then the command's own (option names that match nothing, ...).
  std::vector<std::string> warnings;

  struct Times {
    double load = 0, convert = 0, check = 0, save = 0, total = 0;
  } seconds;

  struct FileBytes {
    std::uint64_t input_file = 0;
    std::uint64_t output_file = 0;
    std::uint64_t output_data_file = 0;  // 0 without external data
  } files;

  // The process's peak resident memory (Linux VmHWM); 0 where not measured (the Python
  // package, whose process holds more than the conversion).
  std::uint64_t peak_memory_bytes = 0;
};

}  // namespace onnx_fp16::frontend
