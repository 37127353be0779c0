#include "io/tensor_bytes.h"

#include <charconv>

namespace onnx_fp16::io {
namespace {

using onnx::TensorProto;

// Bytes one value of the typed field that holds `data_type` stands for (float16 lives in
// int32_data but is 2 bytes of data; complex64 is two floats in float_data...).
std::uint64_t bytes_per_typed_value(int data_type) {
  switch (data_type) {
    case TensorProto::BOOL:
    case TensorProto::INT8:
    case TensorProto::UINT8: return 1;
    case TensorProto::INT16:
    case TensorProto::UINT16:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16: return 2;
    case TensorProto::INT32:
    case TensorProto::UINT32:
    case TensorProto::FLOAT:
    case TensorProto::COMPLEX64: return 4;
    default: return 8;  // INT64, UINT64, DOUBLE; COMPLEX128 as two doubles
  }
}

}  // namespace

std::uint64_t tensor_data_bytes(const TensorProto& tensor) {
  if (tensor.has_raw_data()) return tensor.raw_data().size();
  if (tensor.data_location() == TensorProto::EXTERNAL) {
    for (const auto& entry : tensor.external_data()) {
      std::uint64_t length = 0;
      const auto& text = entry.value();
      if (entry.key() == "length" && std::from_chars(text.data(), text.data() + text.size(), length).ec == std::errc()) {
        return length;
      }
    }
    std::uint64_t elements = 1;  // no usable length: what the dims declare
    for (const auto dim : tensor.dims()) elements *= static_cast<std::uint64_t>(dim > 0 ? dim : 0);
    const bool complex = tensor.data_type() == TensorProto::COMPLEX64 || tensor.data_type() == TensorProto::COMPLEX128;
    return elements * bytes_per_typed_value(tensor.data_type()) * (complex ? 2 : 1);
  }
  std::uint64_t strings = 0;
  for (const auto& text : tensor.string_data()) strings += text.size();
  const std::uint64_t typed_values = static_cast<std::uint64_t>(tensor.float_data_size()) + tensor.int32_data_size() +
                                     tensor.int64_data_size() + tensor.double_data_size() + tensor.uint64_data_size();
  return strings + typed_values * bytes_per_typed_value(tensor.data_type());
}

}  // namespace onnx_fp16::io
