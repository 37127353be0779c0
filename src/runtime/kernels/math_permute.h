// Reordering a tensor's dimensions, for kernels that bring operands into a matrix layout before
// a product (FusedMatMul's batch transposes, Einsum's contractions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/tensor.h"

namespace onnx_fp16::runtime::math {

// The shape with its dimensions reordered: result[i] = shape[perm[i]].
inline Shape permuted_shape(const Shape& shape, std::span<const std::size_t> perm) {
  Shape out(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) out[i] = shape[perm[i]];
  return out;
}

// The values of a row-major tensor of `shape`, rearranged as the tensor whose dimension i is the
// input's dimension perm[i] (numpy.transpose(x, perm)).
template <typename T>
std::vector<T> permute_values(std::span<const T> in, const Shape& shape, std::span<const std::size_t> perm) {
  const std::size_t rank = shape.size();
  std::vector<std::size_t> in_strides(rank, 1);
  for (std::size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * static_cast<std::size_t>(shape[d]);
  std::vector<std::size_t> strides(rank);  // input stride of each output dimension
  std::vector<std::size_t> dims(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    strides[i] = in_strides[perm[i]];
    dims[i] = static_cast<std::size_t>(shape[perm[i]]);
  }
  std::vector<T> out(in.size());
  if (in.empty()) return out;
  std::vector<std::size_t> index(rank, 0);
  std::size_t from = 0;
  for (std::size_t to = 0; to < out.size(); ++to) {
    out[to] = in[from];
    for (std::size_t d = rank; d-- > 0;) {
      from += strides[d];
      if (++index[d] < dims[d]) break;
      from -= strides[d] * dims[d];
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace onnx_fp16::runtime::math
