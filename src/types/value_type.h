// The element-type view of a value that the conversion needs: what kind of value it is, the
// element type of its (innermost) tensor, and its static size when known.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace onnx_fp16::types {

struct ValueType {
  enum class Kind { Unknown, Tensor, SparseTensor, Sequence, Optional, Map, Other };
  Kind kind = Kind::Unknown;
  std::int32_t elem = 0;                 // onnx::TensorProto::DataType of the innermost tensor
  std::int64_t static_elements = -1;     // element count of a tensor with a fully static shape

  bool known() const { return kind != Kind::Unknown && (elem != 0 || kind == Kind::Other || kind == Kind::Map); }
  bool is_tensor_of(std::int32_t type) const { return kind == Kind::Tensor && elem == type; }
  bool holds(std::int32_t type) const { return kind != Kind::Unknown && elem == type; }
  bool operator==(const ValueType&) const = default;
};

ValueType from_type_proto(const onnx::TypeProto& type);
// Parses schema type strings: "tensor(float)", "seq(tensor(float16))", "optional(tensor(int64))".
ValueType from_type_string(std::string_view text);
// "tensor(float16)" for a tensor element type, as the schemas spell it.
std::string tensor_type_string(std::int32_t elem);
// The schemas' name of an element type ("float16"); empty for none.
std::string_view schema_type_name(std::int32_t elem);
// A short name for messages: "float32", "float16", "int64", ...
std::string elem_name(std::int32_t elem);

}  // namespace onnx_fp16::types
