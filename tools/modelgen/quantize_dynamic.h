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

}  // namespace modelgen
