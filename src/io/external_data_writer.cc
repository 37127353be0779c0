#include "io/external_data_writer.h"

#include <array>

namespace onnx_fp16::io {
namespace {

void add_entry(onnx::TensorProto& tensor, const std::string& key, const std::string& value) {
  auto* entry = tensor.add_external_data();
  entry->set_key(key);
  entry->set_value(value);
}

}  // namespace

std::uint64_t ExternalDataWriter::align() {
  static constexpr std::array<char, kExternalDataAlignment> kZeros{};
  const std::uint64_t offset = (end_ + kExternalDataAlignment - 1) / kExternalDataAlignment * kExternalDataAlignment;
  file_.write(kZeros.data(), offset - end_);
  end_ = offset;
  return offset;
}

void ExternalDataWriter::point_at(std::uint64_t offset, std::uint64_t length, onnx::TensorProto& tensor) const {
  tensor.clear_raw_data();
  tensor.clear_external_data();
  add_entry(tensor, "location", location_);
  add_entry(tensor, "offset", std::to_string(offset));
  add_entry(tensor, "length", std::to_string(length));
  tensor.set_data_location(onnx::TensorProto::EXTERNAL);
}

void ExternalDataWriter::append(std::string_view bytes, onnx::TensorProto& tensor) {
  const std::uint64_t offset = align();
  file_.write(bytes.data(), bytes.size());
  end_ = offset + bytes.size();
  point_at(offset, bytes.size(), tensor);
}

void ExternalDataWriter::append_streamed(std::uint64_t length, const std::function<void(AtomicFile&)>& write,
                                         onnx::TensorProto& tensor) {
  const std::uint64_t offset = align();
  write(file_);
  end_ = offset + length;
  point_at(offset, length, tensor);
}

}  // namespace onnx_fp16::io
