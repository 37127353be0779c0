#include "support/tensor_compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <vector>

#include "support/tensor_data.h"

namespace test_support {
namespace {

using onnx::TensorProto;

bool is_floating(int data_type) {
  return data_type == TensorProto::FLOAT || data_type == TensorProto::DOUBLE || data_type == TensorProto::FLOAT16 ||
         data_type == TensorProto::BFLOAT16;
}

std::string dims_text(const TensorProto& tensor) {
  std::string text = "[";
  for (int i = 0; i < tensor.dims_size(); ++i) text += (i ? "," : "") + std::to_string(tensor.dims(i));
  return text + "]";
}

Comparison mismatch(std::string message) {
  Comparison result;
  result.message = std::move(message);
  return result;
}

Comparison compare_strings(const TensorProto& actual, const TensorProto& expected) {
  Comparison result;
  for (int i = 0; i < expected.string_data_size() && i < actual.string_data_size(); ++i) {
    if (actual.string_data(i) != expected.string_data(i)) {
      if (result.mismatches++ == 0) {
        result.message = "first at index " + std::to_string(i) + ": got '" + actual.string_data(i) + "', expected '" +
                         expected.string_data(i) + "'";
      }
    }
  }
  if (actual.string_data_size() != expected.string_data_size()) return mismatch("different numbers of strings");
  result.match = result.mismatches == 0;
  if (!result.match) result.message = std::to_string(result.mismatches) + " strings differ, " + result.message;
  return result;
}

// Integers and bools must be equal bit for bit (doubles would blur int64 beyond 2^53); the
// doubles only serve the message.
Comparison compare_exact(const TensorProto& actual, const TensorProto& expected) {
  const std::string actual_bytes = raw_bytes(actual);
  const std::string expected_bytes = raw_bytes(expected);
  const std::size_t size = element_size(expected.data_type());
  const std::vector<double> actual_values = to_doubles(actual);
  const std::vector<double> expected_values = to_doubles(expected);
  Comparison result;
  for (std::size_t i = 0; i * size < expected_bytes.size(); ++i) {
    if (std::memcmp(actual_bytes.data() + i * size, expected_bytes.data() + i * size, size) == 0) continue;
    const double error = std::abs(actual_values[i] - expected_values[i]);
    result.max_abs_error = std::max(result.max_abs_error, error);
    if (result.mismatches++ == 0) {
      std::ostringstream first;
      first << "first at index " << i << ": got " << actual_values[i] << ", expected " << expected_values[i];
      result.message = first.str();
    }
  }
  result.match = result.mismatches == 0;
  if (!result.match) {
    result.message = std::to_string(result.mismatches) + " of " + std::to_string(expected_values.size()) +
                     " values differ, " + result.message;
  }
  return result;
}

Comparison compare_floating(const TensorProto& actual, const TensorProto& expected, const Tolerance& tolerance) {
  const std::vector<double> got = to_doubles(actual);
  const std::vector<double> want = to_doubles(expected);
  double largest = 0.0;
  for (const double value : want) {
    if (std::isfinite(value)) largest = std::max(largest, std::abs(value));
  }
  Comparison result;
  double worst_excess = -1.0;  // how far the worst element is beyond what it is allowed
  std::string worst;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double a = got[i];
    const double e = want[i];
    bool ok = false;
    double allowed = 0.0;
    double error = 0.0;
    if (std::isnan(e) || std::isnan(a)) {
      ok = std::isnan(e) && std::isnan(a);
    } else if (std::isinf(e) || std::isinf(a)) {
      ok = a == e;
    } else {
      error = std::abs(a - e);
      allowed = tolerance.atol + tolerance.rtol * std::abs(e) + tolerance.scale * largest;
      ok = error <= allowed;
      result.max_abs_error = std::max(result.max_abs_error, error);
      if (e != 0.0) result.max_rel_error = std::max(result.max_rel_error, error / std::abs(e));
    }
    if (ok) continue;
    ++result.mismatches;
    // Non-finite mismatches rank above any finite one.
    const double excess = std::isfinite(error) && std::isfinite(a) && std::isfinite(e) ? error - allowed : INFINITY;
    if (excess > worst_excess || worst.empty()) {
      worst_excess = excess;
      std::ostringstream text;
      text << "worst at index " << i << ": got " << a << ", expected " << e;
      if (std::isfinite(error) && std::isfinite(a) && std::isfinite(e)) text << " (error " << error << ", allowed " << allowed << ")";
      worst = text.str();
    }
  }
  result.match = result.mismatches == 0;
  if (!result.match) {
    std::ostringstream text;
    text << result.mismatches << " of " << want.size() << " values differ, " << worst << "; max abs error "
         << result.max_abs_error << ", max rel error " << result.max_rel_error << ", largest expected magnitude "
         << largest;
    result.message = text.str();
  }
  return result;
}

}  // namespace

Comparison compare(const TensorProto& actual, const TensorProto& expected, const Tolerance& tolerance) {
  if (actual.data_type() != expected.data_type()) {
    return mismatch("data type " + data_type_name(actual.data_type()) + ", expected " + data_type_name(expected.data_type()));
  }
  if (!std::equal(actual.dims().begin(), actual.dims().end(), expected.dims().begin(), expected.dims().end())) {
    return mismatch("shape " + dims_text(actual) + ", expected " + dims_text(expected));
  }
  try {
    if (expected.data_type() == TensorProto::STRING) return compare_strings(actual, expected);
    if (is_floating(expected.data_type())) return compare_floating(actual, expected, tolerance);
    return compare_exact(actual, expected);
  } catch (const std::exception& e) {
    return mismatch(e.what());
  }
}

}  // namespace test_support
