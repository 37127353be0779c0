// The machine-readable reports, as the CLI writes them (--report FILE, `inspect --json`) and the
// Python package returns them (formats in docs/cli.md). One home, so both faces say the same.
#pragma once

#include <onnx_fp16/inspect.h>
#include <onnx_fp16/mixed.h>

#include <nlohmann/json.hpp>

#include <string>

#include "frontend/convert_outcome.h"

namespace onnx_fp16::frontend {

// `onnx-fp16 convert --report`.
nlohmann::ordered_json report_json(const ConvertOutcome& outcome);
// `onnx-fp16 auto-mixed --report`; `input` and `output` name the models as the user gave them.
nlohmann::ordered_json mixed_report_json(const MixedReport& report, const std::string& input, const std::string& output);
// {"ran": bool, "error": text or null}: how ONNX shape inference went, in both reports.
nlohmann::ordered_json shape_inference_json(const ConversionReport& report);
// `onnx-fp16 inspect --json`.
nlohmann::ordered_json census_json(const Census& census, const std::string& model_path);

}  // namespace onnx_fp16::frontend
