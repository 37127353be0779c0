// Joining tensors along an axis and cutting one into parts: Concat and Split. Along the axis a
// tensor is `outer` runs of (extent x inner) contiguous elements, so both are block copies.
#include <algorithm>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// Concat: the inputs agree on type, rank and every dimension but `axis` (required from opset
// 4, 1 by default before; negative from 11).
void concat_kernel(KernelContext& ctx) {
  std::vector<const Tensor*> parts;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) {
    if (ctx.has_input(i)) parts.push_back(&ctx.input(i));
  }
  if (parts.empty()) ctx.fail("needs at least one input");
  const Tensor& first = *parts.front();
  const std::size_t rank = first.rank();
  if (rank == 0) ctx.fail("cannot concatenate scalars");
  const std::size_t axis = normalize_axis(ctx.opset() < 4 ? ctx.attr_int("axis", 1) : ctx.attr_int("axis"), rank);
  Shape shape = first.shape();
  shape[axis] = 0;
  for (const Tensor* part : parts) {
    bool fits = part->dtype() == first.dtype() && part->rank() == rank;
    for (std::size_t d = 0; fits && d < rank; ++d) fits = d == axis || part->shape()[d] == first.shape()[d];
    if (!fits) {
      ctx.fail("cannot concatenate " + data_type_name(part->dtype()) + " " + shape_to_string(part->shape()) +
               " with " + data_type_name(first.dtype()) + " " + shape_to_string(first.shape()) + " on axis " +
               std::to_string(axis));
    }
    shape[axis] += part->shape()[axis];
  }
  const auto outer = static_cast<std::size_t>(dim_product(shape, 0, axis));
  const auto inner = static_cast<std::size_t>(dim_product(shape, axis + 1, rank));
  const auto out_row = static_cast<std::size_t>(shape[axis]) * inner;
  Tensor output = Tensor::uninitialized(first.dtype(), shape);
  if (output.size() > 0) {
    dispatch<AllTypes>(first.dtype(), [&]<typename T>(std::type_identity<T>) {
      auto out = output.mutable_data<T>();
      std::size_t column = 0;  // where the current part starts inside an output row
      for (const Tensor* part : parts) {
        const auto in = part->data<T>();
        const std::size_t row = static_cast<std::size_t>(part->shape()[axis]) * inner;
        for (std::size_t o = 0; o < outer && row > 0; ++o) {
          std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(o * row), row,
                      out.begin() + static_cast<std::ptrdiff_t>(o * out_row + column));
        }
        column += row;
      }
    });
  }
  ctx.set_output(0, std::move(output));
}

// The part sizes of Split: an input from opset 13, an attribute from 2 to 12, either at opset 1;
// equal parts (which must divide the extent exactly) when not given.
std::vector<std::int64_t> split_sizes(const KernelContext& ctx, std::int64_t extent) {
  std::vector<std::int64_t> sizes;
  if (ctx.opset() >= 13 || (ctx.opset() == 1 && ctx.has_input(1))) {
    if (const Tensor* split = ctx.optional_input(1)) sizes = to_int64_vector(*split);
  } else if (ctx.has_attribute("split")) {
    sizes = ctx.attr_ints("split");
  }
  const auto parts = static_cast<std::int64_t>(ctx.output_count());
  if (sizes.empty()) {
    if (parts == 0 || extent % parts != 0) {
      ctx.fail("cannot split extent " + std::to_string(extent) + " into " + std::to_string(parts) + " equal parts");
    }
    return std::vector<std::int64_t>(static_cast<std::size_t>(parts), extent / parts);
  }
  if (static_cast<std::int64_t>(sizes.size()) != parts) {
    ctx.fail("split " + shape_to_string(sizes) + " lists " + std::to_string(sizes.size()) + " parts for " +
             std::to_string(parts) + " outputs");
  }
  std::int64_t total = 0;
  for (const std::int64_t size : sizes) {
    if (size < 0) ctx.fail("split " + shape_to_string(sizes) + " has a negative size");
    total += size;
  }
  if (total != extent) {
    ctx.fail("split " + shape_to_string(sizes) + " does not add up to extent " + std::to_string(extent));
  }
  return sizes;
}

// Split: consecutive parts along `axis` (default 0, negative from opset 11).
void split_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const std::size_t axis = normalize_axis(ctx.attr_int("axis", 0), data.rank());
  const Shape& in = data.shape();
  const auto sizes = split_sizes(ctx, in[axis]);
  const auto outer = dim_product(in, 0, axis);
  const auto inner = dim_product(in, axis + 1, in.size());
  std::int64_t begin = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (ctx.output_wanted(i)) {
      Shape shape = in;
      shape[axis] = sizes[i];
      std::vector<std::int64_t> starts(static_cast<std::size_t>(outer));
      for (std::size_t o = 0; o < starts.size(); ++o) {
        starts[o] = (static_cast<std::int64_t>(o) * in[axis] + begin) * inner;
      }
      ctx.set_output(i, take_blocks(data, std::move(shape), starts, static_cast<std::size_t>(sizes[i] * inner)));
    }
    begin += sizes[i];
  }
}

}  // namespace

void register_concat_split_kernels(KernelRegistry& r) {
  r.add("Concat", 1, concat_kernel);
  r.add("Split", 1, split_kernel);
}

}  // namespace onnx_fp16::runtime
