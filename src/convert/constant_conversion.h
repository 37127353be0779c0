// Converting float32 constants (initializers, Constant nodes, tensor attributes) to float16 or
// bfloat16, with the spec's clamping for float16.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "half/half.h"

namespace onnx_fp16::convert {

struct ConstantConverter {
  std::int32_t target;        // FLOAT16 or BFLOAT16
  half::ClampRule clamp;      // float16 only

  // Converts a float32 tensor in place (its data ends up in raw_data). Returns how many values
  // the clamping changed. A deferred tensor (io/deferred_tensor.h) records the conversion for
  // the streaming save instead, and returns 0. Throws onnx_fp16::Error for a tensor whose data
  // is not in the model.
  std::size_t convert(onnx::TensorProto& tensor) const;
  // Converts a Constant node's float value (value / value_float / value_floats) in place.
  std::size_t convert_constant_node(onnx::NodeProto& node) const;
};

}  // namespace onnx_fp16::convert
