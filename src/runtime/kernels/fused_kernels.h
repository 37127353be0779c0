// Kernels that run two nodes as one, for the executor's fused pairs (plan_fusion.h), and the
// rules they share with the kernels of the nodes they replace.
#pragma once

#include <string_view>

#include "runtime/kernel.h"

namespace onnx_fp16::runtime {

// Relu's rule, in the Relu kernel and wherever a Relu is fused: NaN and -0 give +0.
template <typename T>
T relu_of(T x) {
  return x > T{0} ? x : T{0};
}

// y = x * f(x) in one pass, f an activation that gates its own input (Sigmoid: SiLU/Swish;
// HardSigmoid: HardSwish as opset < 14 exports write it); in elementwise_unary.cc.
// is_gating_activation says whether `op_type` (default domain) is such an f.
bool is_gating_activation(std::string_view op_type);
// Runs on the activation's node (its op type and attributes) with its one input x and writes
// the Mul's output: the same bits as the two nodes, f's values rounded to x's type (as f's
// output tensor holds them) before the product, which is rounded once.
void gated_activation_kernel(KernelContext& ctx);

// Conv followed by Relu (convolution.cc): the Conv's node, inputs and output, each output
// tile, band or plane put through relu_of while it is in cache. The same bits as the two
// nodes: Relu commutes with rounding to float16 or bfloat16.
void conv_relu_kernel(KernelContext& ctx);

// ConvInteger, then Cast to float, Mul by input 4, Add of input 5 (when given) and, for the
// _relu kernel, Relu (convolution.cc): the ConvInteger's node and inputs 0-3, the chain's
// float32 output in one pass over the int32 sums, each value float(sum) * scale rounded, then
// + bias rounded, then relu_of: the same bits as the nodes apart, with their broadcasting.
void conv_integer_rescale_kernel(KernelContext& ctx);
void conv_integer_rescale_relu_kernel(KernelContext& ctx);

// Add followed by Relu (elementwise_binary.cc): the Add's node and inputs, y = relu_of(a + b)
// per element in the compute type, rounded once: the same bits as the two nodes.
void add_relu_kernel(KernelContext& ctx);

}  // namespace onnx_fp16::runtime
