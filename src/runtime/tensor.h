// The evaluator's tensor (the public onnx_fp16::Tensor) and small readers that kernels share:
// shape-like inputs as int64 values, scalars as numbers.
#pragma once

#include <onnx_fp16/tensor.h>

#include <cstdint>
#include <vector>

namespace onnx_fp16::runtime {

using onnx_fp16::BFloat16;
using onnx_fp16::DataType;
using onnx_fp16::Float16;
using onnx_fp16::Shape;
using onnx_fp16::Tensor;

// The values of an integer tensor (any width, signed or not) as int64: shapes, axes, indices,
// pads. Throws onnx_fp16::Error for other element types.
std::vector<std::int64_t> to_int64_vector(const Tensor& tensor);

// Any numeric or bool tensor's values as double (float16/bfloat16 exactly, int64 beyond 2^53
// rounded): for parameters such as Clip bounds, not for bulk data.
std::vector<double> to_double_vector(const Tensor& tensor);

// The one value of a single-element tensor (any shape holding one element). Throws
// onnx_fp16::Error otherwise.
double scalar_to_double(const Tensor& tensor);
std::int64_t scalar_to_int64(const Tensor& tensor);
bool scalar_to_bool(const Tensor& tensor);

// An axis attribute in [-rank, rank) as an index in [0, rank). Throws onnx_fp16::Error.
std::size_t normalize_axis(std::int64_t axis, std::size_t rank);

}  // namespace onnx_fp16::runtime
