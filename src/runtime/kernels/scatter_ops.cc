// Writing updates into a copy of data at given indices: ScatterND (blocks addressed by index
// tuples), ScatterElements (one element per index along an axis) and its opset 9-10 name
// Scatter. From opset 16 `reduction` combines an update with the value already there (add,
// mul; max and min from 18) instead of replacing it.
//
// Without a reduction values are copied as stored (float16 bits untouched). With one, the
// output is accumulated in the compute type (float32 for float16/bfloat16) and rounded once
// at the end, so repeated indices add in float32 like the other kernels' accumulations.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Reduction reduction_of(const KernelContext& ctx) {
  if (ctx.opset() < 16) return Reduction::kNone;
  const std::string name = ctx.attr_string("reduction", "none");
  if (name == "none") return Reduction::kNone;
  if (name == "add") return Reduction::kAdd;
  if (name == "mul") return Reduction::kMul;
  if (name == "max") return Reduction::kMax;
  if (name == "min") return Reduction::kMin;
  ctx.fail("unknown reduction '" + name + "'");
}

// max/min with NaN winning either way, as numpy.maximum / minimum.
template <typename C>
bool either_nan(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    return std::isnan(a) || std::isnan(b);
  } else {
    return false;
  }
}

template <typename C>
C combine(Reduction reduction, C current, C update) {
  switch (reduction) {
    case Reduction::kAdd: return wrapping_add(current, update);
    case Reduction::kMul: return wrapping_mul(current, update);
    case Reduction::kMax: return either_nan(current, update) ? current + update : std::max(current, update);
    case Reduction::kMin: return either_nan(current, update) ? current + update : std::min(current, update);
    case Reduction::kNone: break;
  }
  return update;
}

// Updates must have data's element type.
void require_updates_type(const KernelContext& ctx, const Tensor& data, const Tensor& updates) {
  if (updates.dtype() != data.dtype()) {
    ctx.fail("updates are " + data_type_name(updates.dtype()) + ", data " + data_type_name(data.dtype()));
  }
}

// data with block j of `updates` (elements [j * block, (j + 1) * block)) written or combined at
// data elements [targets[j], targets[j] + block), in order.
Tensor scatter(const KernelContext& ctx, const Tensor& data, const Tensor& updates,
               const std::vector<std::int64_t>& targets, std::size_t block, Reduction reduction) {
  require_updates_type(ctx, data, updates);
  if (updates.size() != targets.size() * block) {
    ctx.fail("updates " + shape_to_string(updates.shape()) + " do not match the indices");
  }
  if (reduction == Reduction::kNone) {
    Tensor output = data;  // shares the buffer until written; mutable_data() then copies it
    if (targets.empty() || block == 0) return output;
    dispatch<AllTypes>(data.dtype(), [&]<typename T>(std::type_identity<T>) {
      auto out = output.mutable_data<T>();
      const auto in = updates.data<T>();
      for (std::size_t j = 0; j < targets.size(); ++j) {
        std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(j * block), block,
                    out.begin() + static_cast<std::ptrdiff_t>(targets[j]));
      }
    });
    return output;
  }
  return dispatch<NumericTypes>(data.dtype(), [&]<typename S>(std::type_identity<S>) {
    const InputValues<S> base(data);
    const InputValues<S> in(updates);
    OutputValues<S> out(data.shape());
    std::copy(base.span().begin(), base.span().end(), out.span().begin());
    for (std::size_t j = 0; j < targets.size(); ++j) {
      for (std::size_t t = 0; t < block; ++t) {
        auto& value = out[static_cast<std::size_t>(targets[j]) + t];
        value = combine(reduction, value, in[j * block + t]);
      }
    }
    return std::move(out).finish();
  });
}

// ScatterND: indices [..., k] address blocks data[i0, ..., ik-1, :, ...]; updates have shape
// indices.shape[:-1] + data.shape[k:].
void scatter_nd_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  const Shape& in = data.shape();
  if (indices.rank() < 1) ctx.fail("indices must have rank 1 or more");
  const auto tuple = static_cast<std::size_t>(indices.shape().back());
  if (tuple > data.rank()) ctx.fail("index tuples of length " + std::to_string(tuple) + " exceed data " + shape_to_string(in));
  Shape expected(indices.shape().begin(), indices.shape().end() - 1);
  expected.insert(expected.end(), in.begin() + static_cast<std::ptrdiff_t>(tuple), in.end());
  if (updates.shape() != expected) {
    ctx.fail("updates " + shape_to_string(updates.shape()) + " must have shape " + shape_to_string(expected));
  }
  const auto strides = row_major_strides(in);
  const auto values = to_int64_vector(indices);
  std::vector<std::int64_t> targets(static_cast<std::size_t>(dim_product(indices.shape(), 0, indices.rank() - 1)));
  for (std::size_t j = 0; j < targets.size(); ++j) {
    std::int64_t target = 0;
    for (std::size_t t = 0; t < tuple; ++t) target += wrap_index(values[j * tuple + t], in[t]) * strides[t];
    targets[j] = target;
  }
  const auto block = static_cast<std::size_t>(dim_product(in, tuple, in.size()));
  ctx.set_output(0, scatter(ctx, data, updates, targets, block, reduction_of(ctx)));
}

// Calls visit(i, target) for every element i of `indices` (shape `shape`, rank of `data_shape`)
// in order: target is the data offset of i's position with its `axis` coordinate replaced by
// indices[i]. Reads int32 or int64 indices in place and walks the positions row by row: a
// detector's RoI pooling scatters 12.5M elements (1000 x 256 x 7 x 7) through here, and a
// copy of the indices plus a table of targets were 200 MB of fresh memory a call.
template <typename Visit>
void for_each_scatter_target(const Tensor& indices, const Shape& data_shape, std::size_t axis, Visit&& visit) {
  const Shape& shape = indices.shape();
  const std::size_t rank = shape.size();
  if (indices.size() == 0) return;
  const auto strides = row_major_strides(data_shape);
  const std::int64_t extent = data_shape[axis];
  const std::int64_t axis_stride = strides[axis];
  const auto inner = static_cast<std::size_t>(shape[rank - 1]);
  // The last dimension's stride, unless it is the axis (then the index gives the coordinate).
  const std::int64_t inner_stride = rank - 1 == axis ? 0 : strides[rank - 1];
  dispatch<IntTypes>(indices.dtype(), [&]<typename I>(std::type_identity<I>) {
    const I* values = indices.data<I>().data();
    std::vector<std::int64_t> position(rank, 0);
    std::int64_t row_base = 0;  // data offset of the row's position, axis and last coordinate left out
    for (std::size_t i = 0; i < indices.size(); i += inner) {
      for (std::size_t j = 0; j < inner; ++j) {
        const std::int64_t index = static_cast<std::int64_t>(values[i + j]);
        const std::int64_t wrapped = index >= 0 && index < extent ? index : wrap_index(index, extent);
        visit(i + j, row_base + static_cast<std::int64_t>(j) * inner_stride + wrapped * axis_stride);
      }
      for (std::size_t d = rank - 1; d-- > 0;) {  // next row, row-major
        const std::int64_t step = d == axis ? 0 : strides[d];
        if (++position[d] < shape[d]) {
          row_base += step;
          break;
        }
        row_base -= step * (shape[d] - 1);
        position[d] = 0;
      }
    }
  });
}

// ScatterElements / Scatter: updates[p] goes to data at p with p[axis] replaced by indices[p].
void scatter_elements_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  const std::size_t rank = data.rank();
  if (rank == 0 || indices.rank() != rank || updates.shape() != indices.shape()) {
    ctx.fail("indices " + shape_to_string(indices.shape()) + " and updates " + shape_to_string(updates.shape()) +
             " must have one shape, of the rank of data " + shape_to_string(data.shape()));
  }
  const std::size_t axis = normalize_axis(ctx.attr_int("axis", 0), rank);
  const Shape& shape = indices.shape();
  for (std::size_t d = 0; d < rank; ++d) {
    if (d != axis && shape[d] > data.shape()[d]) {
      ctx.fail("indices " + shape_to_string(shape) + " exceed data " + shape_to_string(data.shape()) + " on axis " +
               std::to_string(d));
    }
  }
  const Reduction reduction = reduction_of(ctx);
  if (reduction != Reduction::kNone) {
    std::vector<std::int64_t> targets(indices.size());
    for_each_scatter_target(indices, data.shape(), axis, [&](std::size_t i, std::int64_t t) { targets[i] = t; });
    ctx.set_output(0, scatter(ctx, data, updates, targets, 1, reduction));
    return;
  }
  // Without a reduction: each update is written in order (a repeated target keeps the last).
  require_updates_type(ctx, data, updates);
  Tensor output = data;  // shares the buffer until written; mutable_data() then copies it
  if (indices.size() == 0) {
    ctx.set_output(0, std::move(output));
    return;
  }
  dispatch<AllTypes>(data.dtype(), [&]<typename T>(std::type_identity<T>) {
    T* out = output.mutable_data<T>().data();
    const T* in = updates.data<T>().data();
    for_each_scatter_target(indices, data.shape(), axis, [&](std::size_t i, std::int64_t t) { out[t] = in[i]; });
  });
  ctx.set_output(0, std::move(output));
}

}  // namespace

void register_scatter_ops_kernels(KernelRegistry& r) {
  r.add("ScatterND", 11, scatter_nd_kernel);
  r.add("ScatterElements", 11, scatter_elements_kernel);
  // Scatter was renamed ScatterElements at opset 11 and deprecated there.
  r.add("Scatter", 9, scatter_elements_kernel, 10);
}

}  // namespace onnx_fp16::runtime
