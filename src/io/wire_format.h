// The protobuf wire format as the streamed model needs it: the onnx.proto field numbers its
// load scans through and its save writes around, and varints. One home, for the loader
// (io/streamed_model.cc) and the streaming save (io/model_save.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace onnx_fp16::io::wire {

inline constexpr std::uint32_t kModelGraph = 7;        // ModelProto.graph
inline constexpr std::uint32_t kGraphNode = 1;         // GraphProto.node
inline constexpr std::uint32_t kGraphInitializer = 5;  // GraphProto.initializer
inline constexpr std::uint32_t kNodeAttribute = 5;     // NodeProto.attribute
inline constexpr std::uint32_t kAttributeTensor = 5;   // AttributeProto.t
inline constexpr std::uint32_t kTensorRawData = 9;     // TensorProto.raw_data
inline constexpr std::uint32_t kLengthDelimited = 2;   // the wire type of messages and bytes

inline constexpr std::uint64_t tag(std::uint32_t field, std::uint32_t wire_type) { return (field << 3) | wire_type; }

inline void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

inline std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  for (; value >= 0x80; value >>= 7) ++size;
  return size;
}

}  // namespace onnx_fp16::io::wire
