#include "types/value_type.h"

#include <array>
#include <utility>

namespace onnx_fp16::types {

namespace {

// Schema spelling <-> TensorProto::DataType.
constexpr std::array<std::pair<std::string_view, std::int32_t>, 16> kSchemaNames{{
    {"float", onnx::TensorProto::FLOAT},     {"uint8", onnx::TensorProto::UINT8},
    {"int8", onnx::TensorProto::INT8},       {"uint16", onnx::TensorProto::UINT16},
    {"int16", onnx::TensorProto::INT16},     {"int32", onnx::TensorProto::INT32},
    {"int64", onnx::TensorProto::INT64},     {"string", onnx::TensorProto::STRING},
    {"bool", onnx::TensorProto::BOOL},       {"float16", onnx::TensorProto::FLOAT16},
    {"double", onnx::TensorProto::DOUBLE},   {"uint32", onnx::TensorProto::UINT32},
    {"uint64", onnx::TensorProto::UINT64},   {"complex64", onnx::TensorProto::COMPLEX64},
    {"complex128", onnx::TensorProto::COMPLEX128}, {"bfloat16", onnx::TensorProto::BFLOAT16},
}};

std::int32_t elem_from_schema_name(std::string_view name) {
  for (const auto& [text, type] : kSchemaNames) {
    if (text == name) return type;
  }
  return 0;
}

std::int64_t static_elements(const onnx::TypeProto_Tensor& tensor) {
  if (!tensor.has_shape()) return -1;
  std::int64_t count = 1;
  for (const auto& dim : tensor.shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 0) return -1;
    count *= dim.dim_value();
  }
  return count;
}

}  // namespace

ValueType from_type_proto(const onnx::TypeProto& type) {
  ValueType result;
  switch (type.value_case()) {
    case onnx::TypeProto::kTensorType:
      result.kind = ValueType::Kind::Tensor;
      result.elem = type.tensor_type().elem_type();
      result.static_elements = static_elements(type.tensor_type());
      if (result.elem == 0) result.kind = ValueType::Kind::Unknown;
      break;
    case onnx::TypeProto::kSparseTensorType:
      result.kind = ValueType::Kind::SparseTensor;
      result.elem = type.sparse_tensor_type().elem_type();
      break;
    case onnx::TypeProto::kSequenceType:
      result.kind = ValueType::Kind::Sequence;
      result.elem = from_type_proto(type.sequence_type().elem_type()).elem;
      break;
    case onnx::TypeProto::kOptionalType:
      result.kind = ValueType::Kind::Optional;
      result.elem = from_type_proto(type.optional_type().elem_type()).elem;
      break;
    case onnx::TypeProto::kMapType:
      result.kind = ValueType::Kind::Map;
      result.elem = from_type_proto(type.map_type().value_type()).elem;
      break;
    default:
      break;
  }
  return result;
}

ValueType from_type_string(std::string_view text) {
  auto unwrap = [&](std::string_view prefix) {
    return text.substr(prefix.size(), text.size() - prefix.size() - 1);
  };
  ValueType result;
  if (text.starts_with("tensor(") && text.ends_with(")")) {
    result.kind = ValueType::Kind::Tensor;
    result.elem = elem_from_schema_name(unwrap("tensor("));
  } else if (text.starts_with("seq(") && text.ends_with(")")) {
    result = from_type_string(unwrap("seq("));
    result.kind = ValueType::Kind::Sequence;
  } else if (text.starts_with("optional(") && text.ends_with(")")) {
    result = from_type_string(unwrap("optional("));
    result.kind = ValueType::Kind::Optional;
  } else if (text.starts_with("sparse_tensor(") && text.ends_with(")")) {
    result.kind = ValueType::Kind::SparseTensor;
    result.elem = elem_from_schema_name(unwrap("sparse_tensor("));
  } else if (text.starts_with("map(")) {
    result.kind = ValueType::Kind::Map;
  }
  result.static_elements = -1;
  return result;
}

std::string tensor_type_string(std::int32_t elem) {
  for (const auto& [text, type] : kSchemaNames) {
    if (type == elem) return "tensor(" + std::string(text) + ")";
  }
  return "tensor(?)";
}

std::string_view schema_type_name(std::int32_t elem) {
  for (const auto& [text, type] : kSchemaNames) {
    if (type == elem) return text;
  }
  return {};
}


std::string elem_name(std::int32_t elem) {
  if (elem == onnx::TensorProto::FLOAT) return "float32";
  if (elem == onnx::TensorProto::DOUBLE) return "float64";
  for (const auto& [text, type] : kSchemaNames) {
    if (type == elem) return std::string(text);
  }
  return "type " + std::to_string(elem);
}

}  // namespace onnx_fp16::types
