// The machine-readable report of `onnx-fp16 convert --report FILE` (format in docs/cli.md).
#pragma once

#include <nlohmann/json.hpp>

#include "cli/convert_outcome.h"

namespace onnx_fp16::cli {

nlohmann::ordered_json report_json(const ConvertOutcome& outcome);

}  // namespace onnx_fp16::cli
