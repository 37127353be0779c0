#include "support/tensor_data.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace test_support {
namespace {

// The wire format and raw_data are little-endian; the tests copy host values as they are.
static_assert(std::endian::native == std::endian::little, "the test support assumes a little-endian host");

using onnx::TensorProto;

template <typename Stored, typename Field>
std::string narrow_field(const Field& values) {
  std::string bytes(values.size() * sizeof(Stored), '\0');
  for (int i = 0; i < values.size(); ++i) {
    const Stored value = static_cast<Stored>(values[i]);
    std::memcpy(bytes.data() + i * sizeof(Stored), &value, sizeof(Stored));
  }
  return bytes;
}

std::string typed_field_bytes(const TensorProto& tensor) {
  switch (tensor.data_type()) {
    case TensorProto::FLOAT: return narrow_field<float>(tensor.float_data());
    case TensorProto::DOUBLE: return narrow_field<double>(tensor.double_data());
    case TensorProto::INT64: return narrow_field<std::int64_t>(tensor.int64_data());
    case TensorProto::UINT64: return narrow_field<std::uint64_t>(tensor.uint64_data());
    case TensorProto::UINT32: return narrow_field<std::uint32_t>(tensor.uint64_data());
    case TensorProto::INT32: return narrow_field<std::int32_t>(tensor.int32_data());
    case TensorProto::INT16: return narrow_field<std::int16_t>(tensor.int32_data());
    case TensorProto::INT8: return narrow_field<std::int8_t>(tensor.int32_data());
    case TensorProto::UINT16:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16: return narrow_field<std::uint16_t>(tensor.int32_data());
    case TensorProto::UINT8:
    case TensorProto::BOOL: return narrow_field<std::uint8_t>(tensor.int32_data());
    default: throw std::runtime_error("tensor '" + tensor.name() + "': unsupported data type " + data_type_name(tensor.data_type()));
  }
}

template <typename T>
void append_as_doubles(const std::string& bytes, std::vector<double>& out) {
  const std::size_t count = bytes.size() / sizeof(T);
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    T value;
    std::memcpy(&value, bytes.data() + i * sizeof(T), sizeof(T));
    out.push_back(static_cast<double>(value));
  }
}

double bfloat16_bits_to_double(std::uint16_t bits) {
  return static_cast<double>(std::bit_cast<float>(std::uint32_t(bits) << 16));
}

}  // namespace

std::size_t element_size(int data_type) {
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
    case TensorProto::FLOAT: return 4;
    case TensorProto::INT64:
    case TensorProto::UINT64:
    case TensorProto::DOUBLE: return 8;
    default: return 0;
  }
}

std::int64_t element_count(const TensorProto& tensor) {
  std::int64_t count = 1;
  for (const auto dim : tensor.dims()) count *= dim;
  return count;
}

std::string data_type_name(int data_type) {
  if (TensorProto::DataType_IsValid(data_type)) return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(data_type));
  return "type " + std::to_string(data_type);
}

std::string raw_bytes(const TensorProto& tensor) {
  if (tensor.data_location() == TensorProto::EXTERNAL) {
    throw std::runtime_error("tensor '" + tensor.name() + "': external data is not supported here");
  }
  const std::size_t size = element_size(tensor.data_type());
  if (size == 0) {
    throw std::runtime_error("tensor '" + tensor.name() + "': no raw bytes for data type " + data_type_name(tensor.data_type()));
  }
  std::string bytes = tensor.has_raw_data() ? tensor.raw_data() : typed_field_bytes(tensor);
  const auto expected = static_cast<std::size_t>(element_count(tensor)) * size;
  if (bytes.size() != expected) {
    throw std::runtime_error("tensor '" + tensor.name() + "': holds " + std::to_string(bytes.size()) + " bytes, its dims need " +
                             std::to_string(expected));
  }
  return bytes;
}

TensorProto make_raw_tensor(const std::string& name, int data_type, const std::vector<std::int64_t>& dims, std::string bytes) {
  TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(data_type);
  for (const auto dim : dims) tensor.add_dims(dim);
  tensor.set_raw_data(std::move(bytes));
  return tensor;
}

double half_bits_to_double(std::uint16_t bits) {
  const double sign = (bits & 0x8000) ? -1.0 : 1.0;
  const int exponent = (bits >> 10) & 0x1F;
  const int mantissa = bits & 0x3FF;
  if (exponent == 0x1F) return mantissa == 0 ? sign * std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);  // zero or subnormal
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

std::vector<double> to_doubles(const TensorProto& tensor) {
  const std::string bytes = raw_bytes(tensor);
  std::vector<double> out;
  switch (tensor.data_type()) {
    case TensorProto::FLOAT: append_as_doubles<float>(bytes, out); break;
    case TensorProto::DOUBLE: append_as_doubles<double>(bytes, out); break;
    case TensorProto::INT64: append_as_doubles<std::int64_t>(bytes, out); break;
    case TensorProto::UINT64: append_as_doubles<std::uint64_t>(bytes, out); break;
    case TensorProto::INT32: append_as_doubles<std::int32_t>(bytes, out); break;
    case TensorProto::UINT32: append_as_doubles<std::uint32_t>(bytes, out); break;
    case TensorProto::INT16: append_as_doubles<std::int16_t>(bytes, out); break;
    case TensorProto::UINT16: append_as_doubles<std::uint16_t>(bytes, out); break;
    case TensorProto::INT8: append_as_doubles<std::int8_t>(bytes, out); break;
    case TensorProto::UINT8: append_as_doubles<std::uint8_t>(bytes, out); break;
    case TensorProto::BOOL:
      for (const char byte : bytes) out.push_back(byte != 0 ? 1.0 : 0.0);
      break;
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16: {
      const bool is_half = tensor.data_type() == TensorProto::FLOAT16;
      out.reserve(bytes.size() / 2);
      for (std::size_t i = 0; i < bytes.size(); i += 2) {
        std::uint16_t bits;
        std::memcpy(&bits, bytes.data() + i, 2);
        out.push_back(is_half ? half_bits_to_double(bits) : bfloat16_bits_to_double(bits));
      }
      break;
    }
    default: throw std::runtime_error("tensor '" + tensor.name() + "': not numeric: " + data_type_name(tensor.data_type()));
  }
  return out;
}

TensorProto float16_to_float(const TensorProto& tensor) {
  if (tensor.data_type() != TensorProto::FLOAT16) return tensor;
  const std::vector<double> values = to_doubles(tensor);
  std::string bytes(values.size() * sizeof(float), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto value = static_cast<float>(values[i]);  // exact: every float16 is a float32
    std::memcpy(bytes.data() + i * sizeof(float), &value, sizeof(float));
  }
  return make_raw_tensor(tensor.name(), TensorProto::FLOAT, {tensor.dims().begin(), tensor.dims().end()}, std::move(bytes));
}

}  // namespace test_support
