// Ops whose output size depends on the values: Compress (keep the slices a condition marks)
// and NonZero (the coordinates of the elements that are not zero).
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

namespace {

// Compress: the slices along `axis` (negative from opset 11) whose condition is true, or the
// true elements of the flattened input without an axis. A condition shorter than the extent
// drops what it does not cover; entries beyond the extent are ignored, as ONNX Runtime does.
void compress_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& condition = ctx.input(1);
  if (condition.rank() != 1) ctx.fail("condition must be rank 1, got " + shape_to_string(condition.shape()));
  const auto keep = condition.data<bool>();
  const bool flat = !ctx.has_attribute("axis");
  const Tensor source = flat ? data.reshaped({static_cast<std::int64_t>(data.size())}) : data;
  const std::size_t axis = flat ? 0 : normalize_axis(ctx.attr_int("axis"), data.rank());
  const Shape& in = source.shape();
  const std::int64_t extent = in[axis];
  const std::int64_t inner = dim_product(in, axis + 1, in.size());
  std::vector<std::int64_t> selected;
  for (std::int64_t i = 0; i < extent && static_cast<std::size_t>(i) < keep.size(); ++i) {
    if (keep[static_cast<std::size_t>(i)]) selected.push_back(i * inner);
  }
  Shape shape = in;
  shape[axis] = static_cast<std::int64_t>(selected.size());
  // The input seen as [outer, extent, inner]: only the middle axis is selected from.
  const std::int64_t outer = dim_product(in, 0, axis);
  const Shape view{outer, shape[axis], inner};
  const std::vector<std::vector<std::int64_t>> offsets{strided_offsets(outer, 0, 1, extent * inner), selected,
                                                       strided_offsets(inner, 0, 1, 1)};
  ctx.set_output(0, copy_by_axis_offsets(source, view, offsets).reshaped(std::move(shape)));
}

// Whether a value counts as non-zero: numbers != 0 (NaN is non-zero, -0 is zero), bool true,
// strings non-empty (numpy's truth of a string).
template <typename T>
bool is_nonzero(const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    return !value.empty();
  } else {
    return convert_value<bool>(value);
  }
}

// NonZero: [rank, count] int64 coordinates, in row-major order of the elements. A scalar is
// treated as a one-element vector (numpy's nonzero does so), giving [1, count].
void nonzero_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Shape shape = data.rank() == 0 ? Shape{1} : data.shape();
  const std::size_t rank = shape.size();
  std::vector<std::size_t> found;
  dispatch<AllTypes>(data.dtype(), [&]<typename T>(std::type_identity<T>) {
    const auto values = data.data<T>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (is_nonzero(values[i])) found.push_back(i);
    }
  });
  const std::size_t count = found.size();
  Tensor output = Tensor::uninitialized(onnx::TensorProto::INT64,
                                        {static_cast<std::int64_t>(rank), static_cast<std::int64_t>(count)});
  auto out = output.mutable_data<std::int64_t>();
  for (std::size_t k = 0; k < count; ++k) {
    std::size_t rest = found[k];
    for (std::size_t d = rank; d-- > 0;) {
      const auto extent = static_cast<std::size_t>(shape[d]);
      out[d * count + k] = static_cast<std::int64_t>(rest % extent);
      rest /= extent;
    }
  }
  ctx.set_output(0, std::move(output));
}

}  // namespace

void register_selection_ops_kernels(KernelRegistry& r) {
  r.add("Compress", 9, compress_kernel);
  r.add("NonZero", 9, nonzero_kernel);
}

}  // namespace onnx_fp16::runtime
