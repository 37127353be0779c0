// y = x * f(x) in one pass, f an activation that gates its own input (Sigmoid: SiLU/Swish;
// HardSigmoid: HardSwish as opset < 14 exports write it). Run by the executor for an
// activation node and the Mul that multiplies its output by its input (plan_fusion.h).
#pragma once

#include <string_view>

#include "runtime/kernel.h"

namespace onnx_fp16::runtime {

// Whether `op_type` (default domain) is an activation the kernel below can fuse with a Mul.
bool is_gating_activation(std::string_view op_type);

// Runs on the activation's node (its op type and attributes) with its one input x and writes
// the Mul's output: the same bits as the two nodes, f's values rounded to x's type (as f's
// output tensor holds them) before the product, which is rounded once.
void gated_activation_kernel(KernelContext& ctx);

}  // namespace onnx_fp16::runtime
