// numpy.allclose and error statistics over two tensors (include/onnx_fp16/compare.h).
#include <onnx_fp16/compare.h>

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/tensor.h"

namespace onnx_fp16 {
namespace {

bool is_string(const Tensor& t) { return t.dtype() == onnx::TensorProto::STRING; }

TensorDifference compare_strings(const Tensor& a, const Tensor& b) {
  TensorDifference d;
  d.count = a.size();
  const auto x = a.data<std::string>();
  const auto y = b.data<std::string>();
  for (std::size_t i = 0; i < x.size(); ++i) d.not_close += x[i] != y[i] ? 1 : 0;
  d.close = d.not_close == 0;
  return d;
}

}  // namespace

TensorDifference compare_tensors(const Tensor& actual, const Tensor& expected, const Tolerance& tolerance) {
  TensorDifference d;
  if (!actual.defined() || !expected.defined()) {
    d.problem = "a tensor has no value";
    return d;
  }
  if (actual.shape() != expected.shape()) {
    d.problem = "shapes differ: " + shape_to_string(actual.shape()) + " vs " + shape_to_string(expected.shape());
    return d;
  }
  if (is_string(actual) || is_string(expected)) {
    if (is_string(actual) && is_string(expected)) return compare_strings(actual, expected);
    d.problem = "cannot compare " + data_type_name(actual.dtype()) + " with " + data_type_name(expected.dtype());
    return d;
  }
  // Widened to double: exact for float16/bfloat16/float32 and integers up to 2^53, so the
  // tolerance test sees the stored values themselves.
  const std::vector<double> a = runtime::to_double_vector(actual);
  const std::vector<double> b = runtime::to_double_vector(expected);
  d.count = a.size();
  double dot = 0, norm_a = 0, norm_b = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      // numpy.isclose: non-finite values are close only when equal (so NaN never is).
      if (x != y) {
        ++d.nonfinite_mismatches;
        ++d.not_close;
      }
      continue;
    }
    const double error = std::fabs(x - y);
    if (!(error <= tolerance.atol + tolerance.rtol * std::fabs(y))) ++d.not_close;
    if (error > d.max_abs_error) {
      d.max_abs_error = error;
      d.max_abs_error_index = i;
    }
    const double relative = y != 0 ? error / std::fabs(y) : (error != 0 ? std::numeric_limits<double>::infinity() : 0.0);
    if (relative > d.max_rel_error) d.max_rel_error = relative;
    dot += x * y;
    norm_a += x * x;
    norm_b += y * y;
  }
  if (norm_a == 0 && norm_b == 0) {
    d.cosine_similarity = 1;
  } else if (norm_a == 0 || norm_b == 0) {
    d.cosine_similarity = 0;
  } else {
    d.cosine_similarity = dot / (std::sqrt(norm_a) * std::sqrt(norm_b));
  }
  d.close = d.not_close == 0;
  return d;
}

}  // namespace onnx_fp16
