// Warnings about options that name things the model does not have. The conversion quietly
// ignores such names (as the Python original does), so a typo in --node-block-list or
// --keep-io would otherwise go unnoticed: the node is converted, the output is float16.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/convert.h>

#include <string>
#include <vector>

namespace onnx_fp16::frontend {

// Also warns when clamping values were given for bfloat16, which has float32's range and is
// never clamped. `clamp_values_given`: whether --min-positive-val/--max-finite-val were used.
std::vector<std::string> option_warnings(const onnx::ModelProto& model, const Float16Options& options,
                                         bool clamp_values_given);

}  // namespace onnx_fp16::frontend
