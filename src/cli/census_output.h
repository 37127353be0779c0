// The human face of `onnx-fp16 inspect`: the census as tables (its JSON is frontend/report_json.h).
#pragma once

#include <string>

#include <onnx_fp16/inspect.h>

namespace onnx_fp16::cli {

std::string census_table(const Census& census, const std::string& model_path);

}  // namespace onnx_fp16::cli
