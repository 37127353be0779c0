// Tensor storage and its conversions to and from onnx::TensorProto.
#include <onnx_fp16/tensor.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <new>

#include "onnx_fp16/error.h"
#include "tensor/buffer_pool.h"
#include "tensor/raw_data.h"
#include "tensor/memory_limit.h"

namespace onnx_fp16 {

struct Tensor::Storage {
  void* bytes = nullptr;
  std::size_t byte_count = 0;
  std::vector<std::string> strings;

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (bytes != nullptr) buffers::release(bytes, byte_count);
  }
};

bool is_supported_data_type(int type) {
  return element_size(type) != 0 || type == onnx::TensorProto::STRING;
}

std::size_t element_size(int type) {
  switch (type) {
    case onnx::TensorProto::FLOAT: return 4;
    case onnx::TensorProto::DOUBLE: return 8;
    case onnx::TensorProto::FLOAT16: return 2;
    case onnx::TensorProto::BFLOAT16: return 2;
    case onnx::TensorProto::INT8: return 1;
    case onnx::TensorProto::INT16: return 2;
    case onnx::TensorProto::INT32: return 4;
    case onnx::TensorProto::INT64: return 8;
    case onnx::TensorProto::UINT8: return 1;
    case onnx::TensorProto::UINT16: return 2;
    case onnx::TensorProto::UINT32: return 4;
    case onnx::TensorProto::UINT64: return 8;
    case onnx::TensorProto::BOOL: return 1;
    default: return 0;
  }
}

std::string data_type_name(int type) {
  if (onnx::TensorProto::DataType_IsValid(type)) {
    return onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(type));
  }
  return "data type " + std::to_string(type);
}

std::string shape_to_string(std::span<const std::int64_t> shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

std::size_t element_count(std::span<const std::int64_t> shape) {
  std::size_t count = 1;
  for (const auto dim : shape) {
    if (dim < 0) throw Error("negative dimension in shape " + shape_to_string(shape));
    if (dim != 0 && count > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(dim)) {
      throw Error("shape " + shape_to_string(shape) + " has too many elements");
    }
    count *= static_cast<std::size_t>(dim);
  }
  return count;
}

Tensor::Tensor(DataType type, Shape shape) : type_(type), shape_(std::move(shape)) {
  allocate(/*zero_fill=*/true);
}

Tensor Tensor::uninitialized(DataType type, Shape shape) {
  Tensor tensor;
  tensor.type_ = type;
  tensor.shape_ = std::move(shape);
  tensor.allocate(/*zero_fill=*/false);
  return tensor;
}

Tensor Tensor::from_vector(Shape shape, std::vector<std::string> values) {
  Tensor tensor(onnx::TensorProto::STRING, std::move(shape));
  tensor.check_value_count(values.size());
  tensor.storage_->strings = std::move(values);
  tensor.data_ = tensor.storage_->strings.data();
  return tensor;
}

void Tensor::allocate(bool zero_fill) {
  if (!is_supported_data_type(type_)) throw Error("tensors of element type " + data_type_name(type_) + " are not supported");
  size_ = element_count(shape_);
  storage_ = std::make_shared<Storage>();
  if (type_ == onnx::TensorProto::STRING) {
    storage_->strings.resize(size_);
    data_ = storage_->strings.data();
    return;
  }
  storage_->byte_count = size_ * element_size(type_);
  if (storage_->byte_count > tensor_memory_limit()) {
    throw Error("a " + data_type_name(type_) + " tensor of shape " + shape_to_string(shape_) + " needs " +
                byte_text(storage_->byte_count) + ", over the memory limit of " +
                byte_text(tensor_memory_limit()) +
                " (EvaluatorOptions::memory_limit, --memory-limit)");
  }
  if (storage_->byte_count > 0) {
    storage_->bytes = buffers::acquire(storage_->byte_count);
    if (zero_fill) std::memset(storage_->bytes, 0, storage_->byte_count);
  }
  data_ = storage_->bytes;
}

void Tensor::check_type(DataType requested) const {
  if (requested != type_) {
    throw Error("a " + data_type_name(type_) + " tensor read as " + data_type_name(requested));
  }
}

void Tensor::check_value_count(std::size_t count) const {
  if (count != size_) {
    throw Error(std::to_string(count) + " values for shape " + shape_to_string(shape_) + " (" + std::to_string(size_) +
                " elements)");
  }
}

void Tensor::make_storage_unique() {
  if (storage_ == nullptr || storage_.use_count() == 1) return;
  auto copy = std::make_shared<Storage>();
  if (type_ == onnx::TensorProto::STRING) {
    copy->strings = storage_->strings;
    data_ = copy->strings.data();
  } else {
    copy->byte_count = storage_->byte_count;
    if (copy->byte_count > 0) {
      copy->bytes = buffers::acquire(copy->byte_count);
      std::memcpy(copy->bytes, storage_->bytes, copy->byte_count);
    }
    data_ = copy->bytes;
  }
  storage_ = std::move(copy);
}

std::span<const std::byte> Tensor::bytes() const {
  if (type_ == onnx::TensorProto::STRING) throw Error("a STRING tensor has no value bytes");
  return {static_cast<const std::byte*>(data_), byte_size()};
}

std::span<std::byte> Tensor::mutable_bytes() {
  if (type_ == onnx::TensorProto::STRING) throw Error("a STRING tensor has no value bytes");
  make_storage_unique();
  return {static_cast<std::byte*>(data_), byte_size()};
}

Tensor Tensor::reshaped(Shape shape) const {
  if (element_count(shape) != size_) {
    throw Error("cannot reshape " + shape_to_string(shape_) + " (" + std::to_string(size_) + " elements) to " +
                shape_to_string(shape));
  }
  Tensor tensor = *this;
  tensor.shape_ = std::move(shape);
  return tensor;
}

// ---- TensorProto ------------------------------------------------------------------------

namespace {

std::string tensor_label(const onnx::TensorProto& proto) {
  return proto.name().empty() ? std::string("a tensor") : "tensor '" + proto.name() + "'";
}

// Copies a typed repeated field into storage of type T, checking the count.
template <typename T, typename Field>
void copy_field(const Field& field, std::span<T> out, const onnx::TensorProto& proto) {
  if (static_cast<std::size_t>(field.size()) != out.size()) {
    throw Error(tensor_label(proto) + " holds " + std::to_string(field.size()) + " values for shape " +
                shape_to_string(std::vector<std::int64_t>(proto.dims().begin(), proto.dims().end())));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
      out[i].bits = static_cast<std::uint16_t>(field[static_cast<int>(i)]);
    } else if constexpr (std::is_same_v<T, bool>) {
      out[i] = field[static_cast<int>(i)] != 0;
    } else {
      out[i] = static_cast<T>(field[static_cast<int>(i)]);
    }
  }
}

void read_typed_fields(const onnx::TensorProto& proto, Tensor& tensor) {
  switch (tensor.dtype()) {
    case onnx::TensorProto::FLOAT: return copy_field(proto.float_data(), tensor.mutable_data<float>(), proto);
    case onnx::TensorProto::DOUBLE: return copy_field(proto.double_data(), tensor.mutable_data<double>(), proto);
    case onnx::TensorProto::FLOAT16: return copy_field(proto.int32_data(), tensor.mutable_data<Float16>(), proto);
    case onnx::TensorProto::BFLOAT16: return copy_field(proto.int32_data(), tensor.mutable_data<BFloat16>(), proto);
    case onnx::TensorProto::INT8: return copy_field(proto.int32_data(), tensor.mutable_data<std::int8_t>(), proto);
    case onnx::TensorProto::INT16: return copy_field(proto.int32_data(), tensor.mutable_data<std::int16_t>(), proto);
    case onnx::TensorProto::INT32: return copy_field(proto.int32_data(), tensor.mutable_data<std::int32_t>(), proto);
    case onnx::TensorProto::INT64: return copy_field(proto.int64_data(), tensor.mutable_data<std::int64_t>(), proto);
    case onnx::TensorProto::UINT8: return copy_field(proto.int32_data(), tensor.mutable_data<std::uint8_t>(), proto);
    case onnx::TensorProto::UINT16: return copy_field(proto.int32_data(), tensor.mutable_data<std::uint16_t>(), proto);
    case onnx::TensorProto::UINT32: return copy_field(proto.uint64_data(), tensor.mutable_data<std::uint32_t>(), proto);
    case onnx::TensorProto::UINT64: return copy_field(proto.uint64_data(), tensor.mutable_data<std::uint64_t>(), proto);
    case onnx::TensorProto::BOOL: return copy_field(proto.int32_data(), tensor.mutable_data<bool>(), proto);
    case onnx::TensorProto::STRING: {
      auto out = tensor.mutable_data<std::string>();
      if (static_cast<std::size_t>(proto.string_data_size()) != out.size()) {
        throw Error(tensor_label(proto) + " holds " + std::to_string(proto.string_data_size()) + " strings for " +
                    std::to_string(out.size()) + " elements");
      }
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = proto.string_data(static_cast<int>(i));
      return;
    }
    default: throw Error(tensor_label(proto) + " has unsupported element type " + data_type_name(tensor.dtype()));
  }
}

}  // namespace

Tensor Tensor::from_proto(const onnx::TensorProto& proto) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    throw Error(tensor_label(proto) + " keeps its values in an external file; load the model with load_model()");
  }
  if (proto.has_segment()) throw Error(tensor_label(proto) + " is segmented, which is not supported");
  const auto type = static_cast<DataType>(proto.data_type());
  if (!is_supported_data_type(type)) {
    throw Error(tensor_label(proto) + " has unsupported element type " + data_type_name(type));
  }
  // The data must be there before the tensor is allocated: a 56-byte file declaring a
  // [2^31, 4] shape with no data asked for 8.6 GB (found by fuzz_tensor_files). Every element
  // takes at least one byte of raw data or one entry of a typed field; the exact checks follow.
  const Shape shape(proto.dims().begin(), proto.dims().end());
  const std::size_t elements = element_count(shape);
  const std::size_t available = proto.raw_data().size() + static_cast<std::size_t>(proto.float_data_size()) +
                                static_cast<std::size_t>(proto.int32_data_size()) + static_cast<std::size_t>(proto.string_data_size()) +
                                static_cast<std::size_t>(proto.int64_data_size()) + static_cast<std::size_t>(proto.double_data_size()) +
                                static_cast<std::size_t>(proto.uint64_data_size());
  if (elements > available) {
    throw Error(tensor_label(proto) + " declares shape " + shape_to_string(shape) + " (" + std::to_string(elements) +
                " elements) but holds data for at most " + std::to_string(available));
  }
  Tensor tensor = uninitialized(type, shape);
  if (proto.has_raw_data() && type != onnx::TensorProto::STRING) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != tensor.byte_size()) {
      throw Error(tensor_label(proto) + " has " + std::to_string(raw.size()) + " bytes of raw data for shape " +
                  shape_to_string(tensor.shape()) + " of " + data_type_name(type) + " (" +
                  std::to_string(tensor.byte_size()) + " bytes)");
    }
    auto out = tensor.mutable_bytes();
    if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
    // A bool byte other than 0/1 would be an invalid C++ bool.
    if (type == onnx::TensorProto::BOOL) {
      for (auto& b : out) b = b != std::byte{0} ? std::byte{1} : std::byte{0};
    }
    return tensor;
  }
  read_typed_fields(proto, tensor);
  return tensor;
}

namespace tensor_detail {

std::optional<Tensor> allocate_for_raw_data(const onnx::TensorProto& proto) {
  const auto type = static_cast<DataType>(proto.data_type());
  if (proto.data_location() == onnx::TensorProto::EXTERNAL || proto.has_segment() || !proto.has_raw_data() ||
      element_size(type) == 0 || type == onnx::TensorProto::BOOL) {
    return std::nullopt;
  }
  // As from_proto: the bytes must be there before anything is allocated.
  std::size_t elements = 1;
  for (const auto dim : proto.dims()) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && elements > proto.raw_data().size() / static_cast<std::size_t>(dim)) return std::nullopt;
    elements *= static_cast<std::size_t>(dim);
  }
  if (elements * element_size(type) != proto.raw_data().size()) return std::nullopt;
  return Tensor::uninitialized(type, Shape(proto.dims().begin(), proto.dims().end()));
}

}  // namespace tensor_detail

onnx::TensorProto Tensor::to_proto(const std::string& name) const {
  if (!defined()) throw Error("tensor '" + name + "' has no value");
  onnx::TensorProto proto;
  if (!name.empty()) proto.set_name(name);
  proto.set_data_type(type_);
  for (const auto dim : shape_) proto.add_dims(dim);
  if (type_ == onnx::TensorProto::STRING) {
    for (const auto& value : data<std::string>()) proto.add_string_data(value);
  } else {
    const auto raw = bytes();
    proto.mutable_raw_data()->assign(reinterpret_cast<const char*>(raw.data()), raw.size());
  }
  return proto;
}

}  // namespace onnx_fp16
