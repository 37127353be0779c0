// The arithmetic of linear quantization, shared by QuantizeLinear, DynamicQuantizeLinear and
// the QLinear* ops: round half to even, add the zero point, saturate to the 8-bit range.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/kernel.h"

namespace onnx_fp16::runtime::nn {

// saturate(round_half_even(value) + zero_point) in Q (uint8 / int8 / int32...). NaN gives the
// zero point (the rounding of NaN is undefined; 0 is what onnxruntime gives).
template <typename Q>
Q quantize_value(double value, std::int64_t zero_point) {
  const double rounded = std::isnan(value) ? 0.0 : std::nearbyint(value);  // the default mode: half to even
  const double shifted = rounded + static_cast<double>(zero_point);
  constexpr auto low = static_cast<double>(std::numeric_limits<Q>::min());
  constexpr auto high = static_cast<double>(std::numeric_limits<Q>::max());
  return static_cast<Q>(std::min(std::max(shifted, low), high));
}

// How a per-tensor or per-axis parameter (scale, zero point) applies to a tensor of `shape`:
// value i uses parameter (i / inner) % count. `parameter_count` 1 is per tensor; otherwise it
// must match the size of `axis` (normalised, from the node's axis attribute).
struct ParameterLayout {
  std::size_t count = 1;
  std::size_t inner = 1;
  std::size_t index(std::size_t i) const { return count == 1 ? 0 : (i / inner) % count; }
};
ParameterLayout parameter_layout(const KernelContext& ctx, const Shape& shape, std::size_t parameter_count,
                                 std::int64_t axis);

}  // namespace onnx_fp16::runtime::nn
