// How many bytes of data a TensorProto holds: one rule for reports, the census and the
// conversion's byte counts.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace onnx_fp16::io {

// The data's size in its element type's storage, whatever field holds it: raw_data's size; for
// typed fields the values times their stored size (float16 and bfloat16 live in int32_data but
// are 2 bytes each; complex64 is two floats); strings' total length; for external data its
// "length" entry, else element count times element size.
std::uint64_t tensor_data_bytes(const onnx::TensorProto& tensor);

}  // namespace onnx_fp16::io
