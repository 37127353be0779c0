// Comparing a computed tensor with the expected one, numpy.allclose-style, with a report of how
// far off it is.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <string>

namespace test_support {

// An element matches when |actual - expected| <= atol + rtol * |expected| + scale * max|expected|.
// The scale term (0 by default) measures error against the tensor's magnitude: reduced precision
// makes errors relative to the operands, which a small result of a large computation does not
// show (see the conversion suite for its use).
struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-8;
  double scale = 0.0;
};

struct Comparison {
  bool match = false;
  double max_abs_error = 0.0;  // over finite elements
  double max_rel_error = 0.0;  // over finite elements whose expected value is not 0
  std::size_t mismatches = 0;
  std::string message;         // why they differ (empty when they match)
};

// Shapes must be equal; so must data types (compare a float16 result through float16_to_float).
// Floating-point values match within `tolerance`; NaN matches NaN only, an infinity only the
// same infinity. Integers, bools and strings must be equal.
Comparison compare(const onnx::TensorProto& actual, const onnx::TensorProto& expected, const Tolerance& tolerance);

}  // namespace test_support
