#include "runtime/axis_ops.h"

#include <cstring>

#include "onnx_fp16/error.h"

namespace onnx_fp16::runtime {

namespace {

std::size_t product(const Shape& shape, std::size_t begin, std::size_t end) {
  std::size_t result = 1;
  for (std::size_t d = begin; d < end; ++d) result *= static_cast<std::size_t>(shape[d]);
  return result;
}

// Copies `count` elements from src[src_index...] to dst[dst_index...], any element type.
void copy_elements(const Tensor& src, std::size_t src_index, Tensor& dst, std::size_t dst_index, std::size_t count) {
  if (count == 0) return;
  if (src.dtype() == onnx::TensorProto::STRING) {
    const auto from = src.data<std::string>();
    auto to = dst.mutable_data<std::string>();
    std::copy_n(from.begin() + static_cast<std::ptrdiff_t>(src_index), count,
                to.begin() + static_cast<std::ptrdiff_t>(dst_index));
    return;
  }
  const std::size_t size = element_size(src.dtype());
  std::memcpy(dst.mutable_bytes().data() + dst_index * size, src.bytes().data() + src_index * size, count * size);
}

}  // namespace

Tensor take_along_axis(const Tensor& input, std::size_t axis, std::int64_t index) {
  const Shape& shape = input.shape();
  if (axis >= shape.size()) throw Error("axis " + std::to_string(axis) + " is out of range for " + shape_to_string(shape));
  const std::int64_t extent = shape[axis];
  if (index < 0 || index >= extent) {
    throw Error("index " + std::to_string(index) + " is out of range for axis " + std::to_string(axis) + " of " +
                shape_to_string(shape));
  }
  Shape out_shape = shape;
  out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(axis));
  Tensor output = Tensor::uninitialized(input.dtype(), out_shape);
  const std::size_t outer = product(shape, 0, axis);
  const std::size_t inner = product(shape, axis + 1, shape.size());
  for (std::size_t o = 0; o < outer; ++o) {
    copy_elements(input, (o * static_cast<std::size_t>(extent) + static_cast<std::size_t>(index)) * inner, output,
                  o * inner, inner);
  }
  return output;
}

Tensor stack_along_axis(std::span<const Tensor> parts, std::size_t axis) {
  if (parts.empty()) throw Error("nothing to stack");
  const Tensor& first = parts.front();
  for (const auto& part : parts) {
    if (part.dtype() != first.dtype() || part.shape() != first.shape()) {
      throw Error("cannot stack " + data_type_name(part.dtype()) + " " + shape_to_string(part.shape()) + " with " +
                  data_type_name(first.dtype()) + " " + shape_to_string(first.shape()));
    }
  }
  const Shape& shape = first.shape();
  if (axis > shape.size()) throw Error("axis " + std::to_string(axis) + " is out of range for stacking " + shape_to_string(shape));
  Shape out_shape = shape;
  out_shape.insert(out_shape.begin() + static_cast<std::ptrdiff_t>(axis), static_cast<std::int64_t>(parts.size()));
  Tensor output = Tensor::uninitialized(first.dtype(), out_shape);
  const std::size_t outer = product(shape, 0, axis);
  const std::size_t inner = product(shape, axis, shape.size());
  const std::size_t n = parts.size();
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t k = 0; k < n; ++k) copy_elements(parts[k], o * inner, output, (o * n + k) * inner, inner);
  }
  return output;
}

}  // namespace onnx_fp16::runtime
