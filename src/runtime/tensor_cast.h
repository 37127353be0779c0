// A whole tensor converted to another element type, per ONNX's Cast: numbers as
// value_conversion.h says, strings as numpy writes and reads them.
#pragma once

#include <string>

#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

// Throws onnx_fp16::Error for an unsupported type or a string that is not a number of the
// target type. Casting to the same type returns the tensor itself (sharing its buffer).
Tensor cast_tensor(const Tensor& input, DataType to);

// How numbers become strings: the shortest text that reads back as the same value in the
// source type, written like numpy's str() ("0.6048455", "1.0", "1e-05", "nan", "-inf";
// bool as "True"/"False").
std::string float_to_text(double value);  // shortest for float64
std::string float_to_text(float value);   // shortest for float32
std::string half_to_text(Float16 value);  // shortest for float16
std::string bfloat16_to_text(BFloat16 value);

}  // namespace onnx_fp16::runtime
