// Reading the values of an onnx::TensorProto whatever field holds them (raw_data or the typed
// fields), for the ORT client (which sends raw bytes) and for comparing results (as doubles).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace test_support {

// Bytes per element of a fixed-size ONNX data type (bool: 1); 0 for strings and types the
// tests do not handle (complex, 4-bit, 8-bit floats).
std::size_t element_size(int data_type);
// Product of the dims (1 for a scalar).
std::int64_t element_count(const onnx::TensorProto& tensor);
// The ONNX name of a data type ("FLOAT16"), for messages.
std::string data_type_name(int data_type);

// The tensor's values as little-endian raw bytes, from raw_data or the typed field the ONNX
// spec assigns to its type. Throws std::runtime_error for strings, external data, unsupported
// types, or a value count that does not match the dims.
std::string raw_bytes(const onnx::TensorProto& tensor);

// A tensor holding `bytes` in raw_data.
onnx::TensorProto make_raw_tensor(const std::string& name, int data_type, const std::vector<std::int64_t>& dims,
                                  std::string bytes);

// Numeric values as doubles (bool as 0/1, float16/bfloat16 decoded exactly). Throws
// std::runtime_error for strings and unsupported types.
std::vector<double> to_doubles(const onnx::TensorProto& tensor);

// Exact decoding of IEEE float16 bits. Deliberately independent of src/half: the tests judge
// the library's conversion with it.
double half_bits_to_double(std::uint16_t bits);

// A float16 tensor as the float32 tensor holding the same values (exact); other tensors are
// returned unchanged.
onnx::TensorProto float16_to_float(const onnx::TensorProto& tensor);

}  // namespace test_support
