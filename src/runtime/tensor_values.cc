// The small readers of runtime/tensor.h: parameters that arrive as tensors.
#include "onnx_fp16/error.h"
#include "runtime/element_types.h"
#include "runtime/tensor.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

void throw_unsupported_type(DataType type) {
  throw Error("element type " + data_type_name(type) + " is not supported");
}

std::vector<std::int64_t> to_int64_vector(const Tensor& tensor) {
  return dispatch<IntTypes>(tensor.dtype(), [&]<typename S>(std::type_identity<S>) {
    const auto values = tensor.data<S>();
    return std::vector<std::int64_t>(values.begin(), values.end());
  });
}

std::vector<double> to_double_vector(const Tensor& tensor) {
  return dispatch<NumericAndBoolTypes>(tensor.dtype(), [&]<typename S>(std::type_identity<S>) {
    std::vector<double> result;
    result.reserve(tensor.size());
    for (const S value : tensor.data<S>()) result.push_back(convert_value<double>(value));
    return result;
  });
}

namespace {
void require_one_element(const Tensor& tensor) {
  if (tensor.size() != 1) {
    throw Error("expected a single value, got a tensor of shape " + shape_to_string(tensor.shape()));
  }
}
}  // namespace

double scalar_to_double(const Tensor& tensor) {
  require_one_element(tensor);
  return to_double_vector(tensor)[0];
}

std::int64_t scalar_to_int64(const Tensor& tensor) {
  require_one_element(tensor);
  if (type_in(tensor.dtype(), IntTypes{})) return to_int64_vector(tensor)[0];
  return dispatch<concat_types<FloatTypes, TypeList<bool>>>(tensor.dtype(), [&]<typename S>(std::type_identity<S>) {
    return convert_value<std::int64_t>(tensor.data<S>()[0]);
  });
}

bool scalar_to_bool(const Tensor& tensor) {
  require_one_element(tensor);
  return dispatch<NumericAndBoolTypes>(tensor.dtype(), [&]<typename S>(std::type_identity<S>) {
    return convert_value<bool>(tensor.data<S>()[0]);
  });
}

std::size_t normalize_axis(std::int64_t axis, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) {
    throw Error("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

}  // namespace onnx_fp16::runtime
