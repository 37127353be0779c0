// The two faces of `onnx-fp16 inspect`: a human table and JSON (format in docs/cli.md).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "cli/census.h"

namespace onnx_fp16::cli {

std::string census_table(const Census& census, const std::string& model_path);
nlohmann::ordered_json census_json(const Census& census, const std::string& model_path);

}  // namespace onnx_fp16::cli
