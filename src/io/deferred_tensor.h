// Deferred tensors: initializers whose bytes stay in their file until the model is saved.
//
// A streamed model (io/streamed_model.h) is parsed without its large payloads: each of those
// tensors keeps every field but its bytes, and says where the bytes are with a reserved
// external-data location. Conversion steps that would rewrite the bytes (float32 -> float16)
// record the conversion on the tensor instead; the streaming save reads, converts and writes
// the bytes block by block. The marker rides on the TensorProto itself, so copies, renames and
// reorders made by the conversion carry it without knowing about it.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>

#include "half/half.h"

namespace onnx_fp16::io {

struct DeferredPayload {
  std::uint32_t source = 0;        // index into the model's PayloadSources
  std::uint64_t offset = 0;        // where the stored bytes start in that source
  std::uint64_t length = 0;        // how many bytes are stored (in source_type)
  std::int32_t source_type = 0;    // the element type of the stored bytes
  bool had_data_location = false;  // the original declared data_location (DEFAULT) explicitly
  // Set when the saved bytes are the stored float32 converted to FLOAT16 / BFLOAT16.
  std::optional<std::int32_t> convert_to;
  half::ClampRule clamp;           // float16 only
};

bool is_deferred(const onnx::TensorProto& tensor);

// The payload a deferred tensor refers to. Throws onnx_fp16::Error naming the tensor when its
// marker is damaged.
DeferredPayload deferred_payload(const onnx::TensorProto& tensor);

// Marks `tensor` (which holds no data) as deferred to `payload`.
void mark_deferred(onnx::TensorProto& tensor, const DeferredPayload& payload);

// Records that a deferred float32 tensor is saved as `target` (FLOAT16 or BFLOAT16), its
// values clamped by `clamp` first for FLOAT16: what ConstantConverter does to loaded bytes.
void defer_conversion(onnx::TensorProto& tensor, std::int32_t target, half::ClampRule clamp);

// Bytes the saved tensor holds: stored length, halved by a pending conversion.
std::uint64_t saved_length(const DeferredPayload& payload);

// The tensor as it will be saved, minus its bytes: the marker gone, data_location as the
// original had it. Its bytes go in raw_data (inline) or to an external data file.
onnx::TensorProto saved_form(const onnx::TensorProto& deferred);

}  // namespace onnx_fp16::io
