// Rewrites of a compiled plan that run two nodes as one, for the executor's plain runs (the
// mixed-precision engine runs every node alone: it rounds and nudges each node's outputs).
// A rewrite never changes a value the caller can see: it applies only where the value between
// the two nodes has no other reader, is neither a graph output nor kept, and the fused kernel
// computes the same bits as the two nodes would.
#pragma once

#include "runtime/graph_plan.h"

namespace onnx_fp16::runtime {

// x * Sigmoid(x) (SiLU, as exporters write Swish) and x * HardSigmoid(x) (HardSwish before
// opset 14): the activation node whose only reader is a Mul of its output with its own input
// becomes one node at the Mul's place, running the gated-activation kernel
// (kernels/fused_kernels.h) on the activation's proto, the Mul's proto in `fused_reader`.
// One pass over the tensor instead of three: EfficientNet-B0's 16 large SiLUs wrote the gate,
// then read it and x back for the product. Main-graph nodes only.
void fuse_gated_activations(GraphPlan& plan);

// Conv -> Relu and Add -> Relu (a residual block's end) where the producer's output has no
// other reader and is neither kept nor a graph output: one node at the Relu's place running
// conv_relu_kernel or add_relu_kernel (kernels/fused_kernels.h) on the producer's proto and
// inputs, the Relu's proto in `fused_reader`. The Relu is applied to each product tile,
// depthwise plane or sum as it is made instead of in a pass of its own over a new tensor.
// Main-graph nodes only.
void fuse_relu(GraphPlan& plan);

// ConvInteger -> Cast(to float) -> Mul(by a scale) [-> Add(a bias)] [-> Relu], what ONNX
// Runtime's quantize_dynamic writes for every Conv, where each value between them has no other
// reader and is neither kept nor a graph output: one node at the chain's last place running
// conv_integer_rescale(_relu)_kernel (kernels/fused_kernels.h) on the ConvInteger's proto, its
// four inputs (absent ones kNoSlot), the scale and the bias (kNoSlot without an Add); the other
// nodes' protos in `fused_readers`. The int32 sums become the float output in one pass instead
// of four tensors written and read back (a quantized U2-Net's ~110 MB of intermediates).
void fuse_integer_conv_rescale(GraphPlan& plan);

}  // namespace onnx_fp16::runtime
