// Ops that repeat a tensor's values: Expand (broadcast to a shape) and Tile (whole copies
// along each axis). Both read input index k mod extent (Tile) or 0 for a broadcast axis
// (Expand) along each output axis, so they are one offset-table copy each.
#include <string>
#include <vector>

#include "runtime/broadcast.h"
#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// Expand: the input broadcast with `shape` (numpy rules, both ways: a 1 in `shape` keeps the
// input's extent, and `shape` may have fewer dimensions than the input).
void expand_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Shape requested = to_int64_vector(ctx.input(1));
  Shape shape = broadcast_shapes(data.shape(), requested);
  const std::size_t rank = shape.size();
  const std::size_t lead = rank - data.rank();  // output axes the input lacks
  const auto strides = row_major_strides(data.shape());
  std::vector<std::vector<std::int64_t>> offsets(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    const bool repeated = d < lead || data.shape()[d - lead] == 1;
    offsets[d] = strided_offsets(shape[d], 0, repeated ? 0 : 1, repeated ? 0 : strides[d - lead]);
  }
  ctx.set_output(0, copy_by_axis_offsets(data, std::move(shape), offsets));
}

Tensor tile(const KernelContext& ctx, const Tensor& data, const std::vector<std::int64_t>& repeats) {
  const std::size_t rank = data.rank();
  if (repeats.size() != rank) {
    ctx.fail("repeats " + shape_to_string(repeats) + " must have one entry per axis of " +
             shape_to_string(data.shape()));
  }
  const auto strides = row_major_strides(data.shape());
  Shape shape(rank);
  std::vector<std::vector<std::int64_t>> offsets(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    if (repeats[d] < 0) ctx.fail("repeats " + shape_to_string(repeats) + " has a negative entry");
    const std::int64_t extent = data.shape()[d];
    shape[d] = extent * repeats[d];
    offsets[d].resize(static_cast<std::size_t>(shape[d]));
    for (std::int64_t k = 0; k < shape[d]; ++k) offsets[d][static_cast<std::size_t>(k)] = (k % extent) * strides[d];
  }
  return copy_by_axis_offsets(data, std::move(shape), offsets);
}

// Tile: `repeats` copies along each axis (opset 6); opset 1 tiles one axis, `tiles` times.
void tile_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  std::vector<std::int64_t> repeats;
  if (ctx.opset() < 6) {
    repeats.assign(data.rank(), 1);
    repeats[normalize_axis(scalar_to_int64(ctx.input(2)), data.rank())] = scalar_to_int64(ctx.input(1));
  } else {
    repeats = to_int64_vector(ctx.input(1));
  }
  ctx.set_output(0, tile(ctx, data, repeats));
}

}  // namespace

void register_repeat_ops_kernels(KernelRegistry& r) {
  r.add("Expand", 8, expand_kernel);
  r.add("Tile", 1, tile_kernel);
}

}  // namespace onnx_fp16::runtime
