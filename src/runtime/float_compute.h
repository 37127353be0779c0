// The float16 contract, in code: kernels read float16/bfloat16 values as float32, compute and
// accumulate in float32 (float64 tensors in double), and round once, to nearest even, when
// they write a float16/bfloat16 output (docs/evaluator.md explains why).
//
// A kernel is written once over compute_t<S> and gets every float type from these two helpers:
//
//   InputValues<S> x(ctx.input(0));                 // float16 -> float32 copy; others: no copy
//   OutputValues<S> y(x_shape);                     // float32 scratch for float16; others: the output itself
//   for (i...) y[i] = f(x[i]);                      // compute in compute_t<S>
//   ctx.set_output(0, std::move(y).finish());       // rounds float32 -> float16 here, once
//
// For integer, bool and string storage both are plain views (compute_t<S> == S).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/tensor.h"
#include "tensor/buffer_pool.h"

namespace onnx_fp16::runtime {

// float16 / bfloat16 bits <-> float32, in bulk (F16C where the CPU has it). `out` has in.size()
// elements. Rounding is IEEE round to nearest even; overflow gives +-inf; NaN stays NaN.
void widen_to_float(std::span<const Float16> in, std::span<float> out);
void widen_to_float(std::span<const BFloat16> in, std::span<float> out);
void round_from_float(std::span<const float> in, std::span<Float16> out);
void round_from_float(std::span<const float> in, std::span<BFloat16> out);

// A tensor's values in the compute type of storage type S.
template <typename S>
class InputValues {
 public:
  explicit InputValues(const Tensor& tensor) {
    const auto stored = tensor.data<S>();
    if constexpr (std::is_same_v<compute_t<S>, S>) {
      values_ = stored;
    } else {
      // Uninitialised (not a std::vector): every value is written next, and zero-filling a
      // large buffer first would cost a full extra pass over memory. From the buffer pool: the
      // next run reuses it instead of faulting fresh pages in.
      widened_ = buffers::Scratch<float>(stored.size());
      const std::span<float> widened(widened_.get(), stored.size());
      widen_to_float(stored, widened);
      values_ = widened;
    }
  }
  InputValues(const InputValues&) = delete;
  InputValues& operator=(const InputValues&) = delete;

  std::span<const compute_t<S>> span() const { return values_; }
  const compute_t<S>& operator[](std::size_t i) const { return values_[i]; }
  std::size_t size() const { return values_.size(); }

 private:
  buffers::Scratch<float> widened_;  // float16/bfloat16 values widened; empty otherwise
  std::span<const compute_t<S>> values_;
};

// An output tensor of storage type S, written in its compute type; finish() rounds once.
template <typename S>
class OutputValues {
 public:
  explicit OutputValues(Shape shape) : tensor_(Tensor::uninitialized(data_type_of<S>, std::move(shape))) {
    if constexpr (std::is_same_v<compute_t<S>, S>) {
      values_ = tensor_.mutable_data<S>();
    } else {
      scratch_ = buffers::Scratch<float>(tensor_.size());  // uninitialised: the kernel writes every value
      values_ = std::span<float>(scratch_.get(), tensor_.size());
    }
  }
  OutputValues(const OutputValues&) = delete;
  OutputValues& operator=(const OutputValues&) = delete;

  std::span<compute_t<S>> span() { return values_; }
  compute_t<S>& operator[](std::size_t i) { return values_[i]; }
  std::size_t size() const { return values_.size(); }
  const Shape& shape() const { return tensor_.shape(); }

  // The tensor, with float16/bfloat16 values rounded from the float32 ones.
  Tensor finish() && {
    if constexpr (!std::is_same_v<compute_t<S>, S>) {
      round_from_float(std::span<const float>(scratch_.get(), tensor_.size()), tensor_.mutable_data<S>());
    }
    return std::move(tensor_);
  }

 private:
  Tensor tensor_;
  buffers::Scratch<float> scratch_;  // float32 values of a float16/bfloat16 output
  std::span<compute_t<S>> values_;
};

// Any float tensor's values as float32 (float16, bfloat16, float32; float64 narrowed): for
// kernels that compute in float32 whatever the input (parameters, scales).
std::vector<float> to_float_vector(const Tensor& tensor);

// A tensor of float type `type` (FLOAT16, BFLOAT16, FLOAT, DOUBLE) holding `values` rounded to
// it once.
Tensor make_float_tensor(DataType type, Shape shape, std::span<const float> values);
Tensor make_float_tensor(DataType type, Shape shape, std::span<const double> values);

}  // namespace onnx_fp16::runtime
