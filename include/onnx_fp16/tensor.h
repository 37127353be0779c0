// A tensor as the evaluator holds it: an ONNX element type, a shape, and the values in
// contiguous row-major order. float16 and bfloat16 values are stored as their 16-bit patterns
// (never widened), which is what makes float16 evaluation faithful (docs/evaluator.md).
//
// Copies are cheap: they share the value buffer. Writing through mutable_data() first gives the
// tensor a buffer of its own when another tensor shares it (copy on write), so a shared buffer
// is never changed behind anyone's back.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace onnx_fp16 {

using DataType = onnx::TensorProto::DataType;
using Shape = std::vector<std::int64_t>;

// The stored form of one float16 / bfloat16 value: its bits. Distinct types (not uint16_t) so
// that a span of float16 values cannot be taken for a span of uint16 integers.
struct Float16 {
  std::uint16_t bits = 0;
};
struct BFloat16 {
  std::uint16_t bits = 0;
};

// The element type whose values are stored as T; UNDEFINED for any other T.
template <typename T>
inline constexpr DataType data_type_of = onnx::TensorProto::UNDEFINED;
template <> inline constexpr DataType data_type_of<float> = onnx::TensorProto::FLOAT;
template <> inline constexpr DataType data_type_of<double> = onnx::TensorProto::DOUBLE;
template <> inline constexpr DataType data_type_of<Float16> = onnx::TensorProto::FLOAT16;
template <> inline constexpr DataType data_type_of<BFloat16> = onnx::TensorProto::BFLOAT16;
template <> inline constexpr DataType data_type_of<std::int8_t> = onnx::TensorProto::INT8;
template <> inline constexpr DataType data_type_of<std::int16_t> = onnx::TensorProto::INT16;
template <> inline constexpr DataType data_type_of<std::int32_t> = onnx::TensorProto::INT32;
template <> inline constexpr DataType data_type_of<std::int64_t> = onnx::TensorProto::INT64;
template <> inline constexpr DataType data_type_of<std::uint8_t> = onnx::TensorProto::UINT8;
template <> inline constexpr DataType data_type_of<std::uint16_t> = onnx::TensorProto::UINT16;
template <> inline constexpr DataType data_type_of<std::uint32_t> = onnx::TensorProto::UINT32;
template <> inline constexpr DataType data_type_of<std::uint64_t> = onnx::TensorProto::UINT64;
template <> inline constexpr DataType data_type_of<bool> = onnx::TensorProto::BOOL;
template <> inline constexpr DataType data_type_of<std::string> = onnx::TensorProto::STRING;

// Whether tensors of this element type can be held (complex and 4/8-bit types cannot).
bool is_supported_data_type(int type);
// Bytes per element; 0 for STRING and unsupported types.
std::size_t element_size(int type);
// The ONNX name of an element type ("FLOAT16"), for messages.
std::string data_type_name(int type);
// "[2,3,N]"-style text of a shape, for messages.
std::string shape_to_string(std::span<const std::int64_t> shape);
// Product of the dimensions (1 for a scalar). Throws onnx_fp16::Error for a negative dimension.
std::size_t element_count(std::span<const std::int64_t> shape);

class Tensor {
 public:
  // No value (defined() is false): an omitted optional input, an output not yet produced.
  Tensor() = default;
  // A tensor of zeros (false, empty strings).
  Tensor(DataType type, Shape shape);
  // A tensor whose values the caller writes next: skips the zero fill (strings are still empty).
  static Tensor uninitialized(DataType type, Shape shape);

  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  static Tensor from_vector(Shape shape, std::vector<std::string> values);
  template <typename T>
  static Tensor scalar(T value) {
    return from_vector<T>({}, std::vector<T>{value});
  }

  // From raw_data or the typed field the spec assigns to the type (float16/bfloat16 bits in
  // int32_data). Throws onnx_fp16::Error naming the tensor for external or segmented data, an
  // unsupported type, or a value count that does not match the dims.
  static Tensor from_proto(const onnx::TensorProto& proto);
  // Numbers in raw_data (little-endian), strings in string_data.
  onnx::TensorProto to_proto(const std::string& name = {}) const;

  bool defined() const { return type_ != onnx::TensorProto::UNDEFINED; }
  DataType dtype() const { return type_; }
  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  // Number of elements.
  std::size_t size() const { return size_; }
  // Bytes of value storage (0 for strings).
  std::size_t byte_size() const { return size_ * element_size(type_); }

  // The values as T, which must be the element type's storage type (data_type_of<T> == dtype()),
  // else onnx_fp16::Error.
  template <typename T>
  std::span<const T> data() const {
    check_type(data_type_of<T>);
    return {static_cast<const T*>(data_), size_};
  }
  template <typename T>
  std::span<T> mutable_data() {
    check_type(data_type_of<T>);
    make_storage_unique();
    return {static_cast<T*>(data_), size_};
  }
  // The value bytes of a non-string tensor.
  std::span<const std::byte> bytes() const;
  std::span<std::byte> mutable_bytes();

  // The same values under another shape with the same element count (shares the buffer).
  Tensor reshaped(Shape shape) const;
  bool shares_storage_with(const Tensor& other) const { return storage_ != nullptr && storage_ == other.storage_; }

 private:
  struct Storage;

  void check_type(DataType requested) const;
  void check_value_count(std::size_t count) const;
  void make_storage_unique();
  void allocate(bool zero_fill);

  DataType type_ = onnx::TensorProto::UNDEFINED;
  Shape shape_;
  std::size_t size_ = 0;
  std::shared_ptr<Storage> storage_;
  void* data_ = nullptr;  // into storage_: aligned bytes, or the std::string array
};

template <typename T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  static_assert(data_type_of<T> != onnx::TensorProto::UNDEFINED, "not an element storage type");
  if constexpr (std::is_same_v<T, std::string>) {
    return from_vector(std::move(shape), std::vector<std::string>(values));
  } else {
    Tensor tensor = uninitialized(data_type_of<T>, std::move(shape));
    tensor.check_value_count(values.size());
    auto out = tensor.mutable_data<T>();
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return tensor;
  }
}

}  // namespace onnx_fp16
