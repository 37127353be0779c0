// What ONNX Runtime's quantize_dynamic does to a model's products with constant weights, for
// benchmark models of the dynamically quantized family (the quantized transformers that
// browser and Node.js runtimes ship): every MatMul whose second input is a 2-D float32
// initializer becomes
//   DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zero_point, W_zero_point)
//     -> Cast(to float) -> Mul(by x_scale * W_scale)
// with W quantized asymmetrically to uint8 over its own range (one scale and zero point per
// tensor), writing the MatMul's output name. Other nodes are left as they are.
#pragma once

#include <onnx/onnx_pb.h>

namespace modelgen {

// Returns how many MatMuls were quantized.
int quantize_dynamic_matmuls(onnx::ModelProto& model);

// The same for every Conv whose weight is a float32 constant (an initializer or a Constant
// node's value, as paddle2onnx exports hold them) and whose bias, if any, is one too:
//   DynamicQuantizeLinear(x) -> ConvInteger(x_q, W_q, x_zero_point, W_zero_point; the Conv's
//     attributes, group included) -> Cast(to float) -> Mul(by x_scale * W_scale)
//     -> Add(bias as [1, C, 1, 1])
// writing the Conv's output name, with the weight's scale per output channel ([1, C, 1, 1]) and
// one zero point (quantize_dynamic.cc says why). For real exported CNNs (a model's own trained
// weights) where no dynamically quantized export is at hand. Returns how many were quantized.
int quantize_dynamic_convs(onnx::ModelProto& model);

}  // namespace modelgen
