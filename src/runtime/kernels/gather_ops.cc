// Reading elements at given indices: Gather (whole slices along one axis), GatherElements
// (one element per index, along one axis) and GatherND (slices addressed by index tuples, with
// leading batch dimensions from opset 12). Negative indices count from the end (the spec allows
// them from opset 11; earlier models never have them, so they are accepted at every opset).
#include <string>
#include <vector>

#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// Gather: output = data[:axis] + indices.shape + data[axis+1:].
void gather_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const std::size_t axis = normalize_axis(ctx.attr_int("axis", 0), data.rank());
  const Shape& in = data.shape();
  const std::int64_t outer = dim_product(in, 0, axis);
  const std::int64_t extent = in[axis];
  const std::int64_t inner = dim_product(in, axis + 1, in.size());
  std::vector<std::int64_t> rows = to_int64_vector(indices);
  for (auto& row : rows) row = wrap_index(row, extent) * inner;
  Shape shape(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(axis));
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), in.begin() + static_cast<std::ptrdiff_t>(axis) + 1, in.end());
  // The output seen as [outer, indices, inner].
  const Shape view{outer, static_cast<std::int64_t>(rows.size()), inner};
  const std::vector<std::vector<std::int64_t>> offsets{strided_offsets(outer, 0, 1, extent * inner), rows,
                                                       strided_offsets(inner, 0, 1, 1)};
  Tensor gathered = copy_by_axis_offsets(data, view, offsets).reshaped(std::move(shape));
  // Data read rounded (an embedding table): the rows copied are rounded, not the whole table.
  if (const ReadRounding* rounding = ctx.input_rounding(0)) gathered = rounded_for_reading(gathered, *rounding, ctx.threads());
  ctx.set_output(0, std::move(gathered));
}

// GatherElements: output (of indices' shape) at position p is data at p with p[axis] replaced
// by indices[p].
void gather_elements_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const std::size_t rank = data.rank();
  if (indices.rank() != rank) {
    ctx.fail("indices " + shape_to_string(indices.shape()) + " must have the rank of data " +
             shape_to_string(data.shape()));
  }
  const std::size_t axis = normalize_axis(ctx.attr_int("axis", 0), rank);
  const auto strides = row_major_strides(data.shape());
  const Shape& shape = indices.shape();
  for (std::size_t d = 0; d < rank; ++d) {
    if (d != axis && shape[d] > data.shape()[d]) {
      ctx.fail("indices " + shape_to_string(shape) + " exceed data " + shape_to_string(data.shape()) + " on axis " +
               std::to_string(d));
    }
  }
  const auto values = to_int64_vector(indices);
  std::vector<std::int64_t> sources(values.size());
  std::vector<std::int64_t> position(rank, 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::int64_t source = wrap_index(values[i], data.shape()[axis]) * strides[axis];
    for (std::size_t d = 0; d < rank; ++d) {
      if (d != axis) source += position[d] * strides[d];
    }
    sources[i] = source;
    for (std::size_t d = rank; d-- > 0;) {  // next position, row-major
      if (++position[d] < shape[d]) break;
      position[d] = 0;
    }
  }
  ctx.set_output(0, take_blocks(data, shape, sources));
}

// GatherND: each index tuple (the last axis of indices) addresses a slice of data after the
// batch_dims leading axes, which data and indices share. Output: indices.shape[:-1] +
// data.shape[batch_dims + tuple length:].
void gather_nd_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const auto batch_dims = static_cast<std::size_t>(ctx.opset() >= 12 ? ctx.attr_int("batch_dims", 0) : 0);
  const Shape& in = data.shape();
  const Shape& index_shape = indices.shape();
  if (indices.rank() < 1 || batch_dims >= indices.rank() || batch_dims >= data.rank()) {
    ctx.fail("batch_dims " + std::to_string(batch_dims) + " does not fit data " + shape_to_string(in) +
             " and indices " + shape_to_string(index_shape));
  }
  const auto tuple = static_cast<std::size_t>(index_shape.back());
  if (tuple > data.rank() - batch_dims) {
    ctx.fail("index tuples of length " + std::to_string(tuple) + " exceed the rank of data " + shape_to_string(in));
  }
  for (std::size_t d = 0; d < batch_dims; ++d) {
    if (index_shape[d] != in[d]) {
      ctx.fail("batch dimensions of data " + shape_to_string(in) + " and indices " + shape_to_string(index_shape) +
               " differ");
    }
  }
  const auto strides = row_major_strides(in);
  const std::int64_t batch_stride = dim_product(in, batch_dims, in.size());
  const std::int64_t block = dim_product(in, batch_dims + tuple, in.size());
  // Tuples per batch entry.
  const std::int64_t per_batch = dim_product(index_shape, batch_dims, index_shape.size() - 1);
  const auto values = to_int64_vector(indices);
  std::vector<std::int64_t> starts(static_cast<std::size_t>(dim_product(index_shape, 0, index_shape.size() - 1)));
  for (std::size_t j = 0; j < starts.size(); ++j) {
    std::int64_t start = static_cast<std::int64_t>(j) / per_batch * batch_stride;
    for (std::size_t t = 0; t < tuple; ++t) {
      start += wrap_index(values[j * tuple + t], in[batch_dims + t]) * strides[batch_dims + t];
    }
    starts[j] = start;
  }
  Shape shape(index_shape.begin(), index_shape.end() - 1);
  shape.insert(shape.end(), in.begin() + static_cast<std::ptrdiff_t>(batch_dims + tuple), in.end());
  ctx.set_output(0, take_blocks(data, std::move(shape), starts, static_cast<std::size_t>(block)));
}

}  // namespace

void register_gather_ops_kernels(KernelRegistry& r) {
  r.add("Gather", 1, gather_kernel);
  r.add_rounding_reader("", "Gather", {0});
  r.add("GatherElements", 11, gather_elements_kernel);
  r.add("GatherND", 11, gather_nd_kernel);
}

}  // namespace onnx_fp16::runtime
