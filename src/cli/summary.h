// The one-screen human summary `onnx-fp16 convert` prints on success.
#pragma once

#include <string>

#include "frontend/convert_outcome.h"

namespace onnx_fp16::cli {

// How many kept nodes the summary lists one by one; the rest are counted ("... and N more").
// The JSON report (--report) lists them all.
inline constexpr std::size_t kKeptNodesShown = 10;

// Lines ending in '\n'. Warnings are not included: the command prints them to stderr, where
// they stay visible with --quiet and out of a piped summary.
std::string conversion_summary(const frontend::ConvertOutcome& outcome);

}  // namespace onnx_fp16::cli
