// Comparing tensors as numpy.allclose does, with the error statistics a float16 conversion is
// judged by. Used by `onnx-fp16 compare` and the mixed-precision search's validation.
#pragma once

#include <onnx_fp16/tensor.h>

#include <cstddef>
#include <string>

namespace onnx_fp16 {

// numpy's defaults.
struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-8;
};

struct TensorDifference {
  // Empty when the tensors could be compared; else why not (shapes differ, a string tensor
  // against a number tensor, an undefined tensor). Then `close` is false and the numbers are 0.
  std::string problem;
  std::size_t count = 0;       // elements compared
  std::size_t not_close = 0;   // elements failing |a - b| <= atol + rtol * |b|
  std::size_t nonfinite_mismatches = 0;  // NaN in either, or an infinity the other lacks
  // Over the elements finite in both: the largest |a - b|, the largest |a - b| / |b| (infinite
  // where b is 0 and a is not), and the cosine similarity of a and b as vectors (1 when both are
  // all zeros, 0 when only one is). Zero elements: 0, 0, 1.
  double max_abs_error = 0;
  double max_rel_error = 0;
  double cosine_similarity = 1;
  std::size_t max_abs_error_index = 0;  // row-major index of the largest |a - b|
  bool close = false;                   // numpy.allclose(a, b, rtol, atol) and shapes equal
};

// Compares `actual` (a) with `expected` (b) element by element, like numpy.allclose(a, b)
// (asymmetric: the tolerance scales with |b|; NaN is never close; equal infinities are close),
// but without broadcasting: the shapes must be equal. Element types may differ (a float16
// output against a float32 reference): values are compared as double, float16 and bfloat16
// through their exact float32 values; bools as 0/1. Strings compare equal or not.
TensorDifference compare_tensors(const Tensor& actual, const Tensor& expected, const Tolerance& tolerance = {});

inline bool allclose(const Tensor& actual, const Tensor& expected, const Tolerance& tolerance = {}) {
  return compare_tensors(actual, expected, tolerance).close;
}

}  // namespace onnx_fp16
