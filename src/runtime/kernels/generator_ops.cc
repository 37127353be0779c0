// Ops that make new tensors from a few parameters: Range (an arithmetic sequence), EyeLike (ones
// on a diagonal) and OneHot (an on value at each index, an off value elsewhere).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

namespace {

using RangeTypes = TypeList<float, double, std::int16_t, std::int32_t, std::int64_t>;

// Range: max(ceil((limit - start) / delta), 0) values start + i * delta, computed in the input
// type (as ONNX Runtime does; the count in double, as numpy.arange does for floats).
void range_kernel(KernelContext& ctx) {
  const Tensor& start_t = ctx.input(0);
  const Tensor& limit_t = ctx.input(1);
  const Tensor& delta_t = ctx.input(2);
  for (const Tensor* t : {&start_t, &limit_t, &delta_t}) {
    if (t->dtype() != start_t.dtype() || t->size() != 1) {
      ctx.fail("start, limit and delta must be scalars of one type");
    }
  }
  dispatch<RangeTypes>(start_t.dtype(), [&]<typename T>(std::type_identity<T>) {
    const T start = start_t.data<T>()[0];
    const T limit = limit_t.data<T>()[0];
    const T delta = delta_t.data<T>()[0];
    if (delta == T{0}) ctx.fail("delta must not be 0");
    std::int64_t count = 0;
    if constexpr (std::is_integral_v<T>) {
      // Exact in 128 bits: ceil(a / b) for b != 0.
      const __int128 span = static_cast<__int128>(limit) - static_cast<__int128>(start);
      const __int128 step = delta;
      __int128 n = span / step;
      if (n * step != span && ((span > 0) == (step > 0))) ++n;
      if (n > std::numeric_limits<std::int64_t>::max()) ctx.fail("the range has more than 2^63 elements");
      count = static_cast<std::int64_t>(std::max<__int128>(n, 0));
    } else {
      const double n = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
      if (!std::isfinite(n) && n > 0) ctx.fail("the range has no end");
      // 2^63 is a double; anything from it on would not convert to a count (undefined behaviour).
      if (n >= 0x1.0p63) ctx.fail("the range has more than 2^63 elements (" + std::to_string(n) + ")");
      count = n > 0 ? static_cast<std::int64_t>(n) : 0;
    }
    Tensor output = Tensor::uninitialized(start_t.dtype(), {count});
    auto out = output.mutable_data<T>();
    for (std::int64_t i = 0; i < count; ++i) {
      out[static_cast<std::size_t>(i)] = wrapping_add(start, wrapping_mul(static_cast<T>(i), delta));
    }
    ctx.set_output(0, std::move(output));
  });
}

// EyeLike: a matrix of the input's shape, with ones where column - row == k; element type
// `dtype` or the input's.
void eye_like_kernel(KernelContext& ctx) {
  const Tensor& input = ctx.input(0);
  if (input.rank() != 2) ctx.fail("needs a rank 2 input, got " + shape_to_string(input.shape()));
  const auto type = static_cast<DataType>(ctx.attr_int("dtype", input.dtype()));
  const std::int64_t k = ctx.attr_int("k", 0);
  const std::int64_t rows = input.shape()[0];
  const std::int64_t columns = input.shape()[1];
  Tensor output(type, input.shape());  // zeros
  dispatch<NumericAndBoolTypes>(type, [&]<typename T>(std::type_identity<T>) {
    auto out = output.mutable_data<T>();
    const T one = convert_value<T>(1.0f);
    for (std::int64_t row = std::max<std::int64_t>(0, -k); row < rows && row + k < columns; ++row) {
      out[static_cast<std::size_t>(row * columns + row + k)] = one;
    }
  });
  ctx.set_output(0, std::move(output));
}

// OneHot: output = indices' shape with a `depth` axis inserted at `axis` (default -1, the
// last); values[1] where that axis' index equals the index (negative indices count from depth),
// values[0] elsewhere. Indices of float type are truncated; ones outside [-depth, depth) select
// nothing.
void one_hot_kernel(KernelContext& ctx) {
  const Tensor& indices = ctx.input(0);
  const Tensor& values = ctx.input(2);
  const std::int64_t depth = scalar_to_int64(ctx.input(1));
  if (depth < 0) ctx.fail("depth must not be negative, got " + std::to_string(depth));
  if (values.size() != 2) ctx.fail("values must hold [off, on], got shape " + shape_to_string(values.shape()));
  const std::int64_t rank = static_cast<std::int64_t>(indices.rank());
  std::int64_t axis = ctx.attr_int("axis", -1);
  if (axis < -rank - 1 || axis > rank) ctx.fail("axis " + std::to_string(axis) + " is out of range");
  if (axis < 0) axis += rank + 1;
  const auto split = static_cast<std::size_t>(axis);
  Shape shape = indices.shape();
  shape.insert(shape.begin() + axis, depth);
  const auto inner = static_cast<std::size_t>(dim_product(indices.shape(), split, indices.rank()));
  std::vector<std::int64_t> hot = dispatch<NumericTypes>(indices.dtype(), [&]<typename T>(std::type_identity<T>) {
    std::vector<std::int64_t> result;
    for (const T value : indices.data<T>()) result.push_back(convert_value<std::int64_t>(value));
    return result;
  });
  Tensor output = Tensor::uninitialized(values.dtype(), shape);
  dispatch<AllTypes>(values.dtype(), [&]<typename T>(std::type_identity<T>) {
    const auto off_on = values.data<T>();
    auto out = output.mutable_data<T>();
    std::fill(out.begin(), out.end(), off_on[0]);
    const auto d = static_cast<std::size_t>(depth);
    for (std::size_t p = 0; p < hot.size(); ++p) {
      std::int64_t index = hot[p];
      if (index < 0) index += depth;
      if (index < 0 || index >= depth) continue;
      // Position p of indices is (outer, inner); its output is at (outer, index, inner).
      const std::size_t outer = p / inner;
      out[(outer * d + static_cast<std::size_t>(index)) * inner + p % inner] = off_on[1];
    }
  });
  ctx.set_output(0, std::move(output));
}

}  // namespace

void register_generator_ops_kernels(KernelRegistry& r) {
  r.add("Range", 11, range_kernel);
  r.add("EyeLike", 9, eye_like_kernel);
  r.add("OneHot", 9, one_hot_kernel);
}

}  // namespace onnx_fp16::runtime
