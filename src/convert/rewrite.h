// Applies a plan to the model: converts constants, rewrites type attributes, inserts the
// planned Casts and constant copies, rewires readers, updates graph inputs/outputs and
// value_info, and leaves every graph topologically sorted (stable w.r.t. the original order).
#pragma once

#include <onnx_fp16/convert.h>

#include "convert/context.h"
#include "convert/plan.h"

namespace onnx_fp16::convert {

void apply_plan(const Context& ctx, const Plan& plan, ConversionReport& report);

}  // namespace onnx_fp16::convert
