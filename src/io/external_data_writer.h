// External data on save: appends tensor bytes to a data file, each tensor at an offset aligned
// to 4096 bytes (so the file can be memory-mapped tensor by tensor), and points the tensor
// there with ONNX's "location" / "offset" / "length" entries.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "io/atomic_file.h"

namespace onnx_fp16::io {

inline constexpr std::uint64_t kExternalDataAlignment = 4096;

class ExternalDataWriter {
 public:
  // `location` is the data file's name as the model records it (relative to the model).
  ExternalDataWriter(AtomicFile& file, std::string location) : file_(file), location_(std::move(location)) {}

  // Writes `bytes` at the next aligned offset and makes `tensor` refer to them.
  void append(std::string_view bytes, onnx::TensorProto& tensor);
  // The same for `length` bytes that `write` writes to the file itself (in blocks).
  void append_streamed(std::uint64_t length, const std::function<void(AtomicFile&)>& write, onnx::TensorProto& tensor);

  std::uint64_t size() const { return end_; }

 private:
  // Pads the file to the next aligned offset and returns it.
  std::uint64_t align();
  void point_at(std::uint64_t offset, std::uint64_t length, onnx::TensorProto& tensor) const;

  AtomicFile& file_;
  std::string location_;
  std::uint64_t end_ = 0;
};

}  // namespace onnx_fp16::io
