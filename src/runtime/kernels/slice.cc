// Slice: a strided window per axis, bounds clamped like Python's slices. Parameters are
// attributes before opset 10 (no steps), inputs from 10 (int32 or int64, axes and steps
// optional).
#include <algorithm>
#include <string>
#include <vector>

#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

struct SliceParameters {
  std::vector<std::int64_t> starts, ends, axes, steps;
};

SliceParameters slice_parameters(const KernelContext& ctx, std::size_t rank) {
  SliceParameters p;
  if (ctx.opset() < 10) {
    p.starts = ctx.attr_ints("starts");
    p.ends = ctx.attr_ints("ends");
    if (ctx.has_attribute("axes")) p.axes = ctx.attr_ints("axes");
  } else {
    p.starts = to_int64_vector(ctx.input(1));
    p.ends = to_int64_vector(ctx.input(2));
    if (const Tensor* axes = ctx.optional_input(3)) p.axes = to_int64_vector(*axes);
    if (const Tensor* steps = ctx.optional_input(4)) p.steps = to_int64_vector(*steps);
  }
  if (p.axes.empty() && !(ctx.opset() >= 10 && ctx.has_input(3))) {
    for (std::size_t d = 0; d < p.starts.size(); ++d) p.axes.push_back(static_cast<std::int64_t>(d));
  }
  if (p.steps.empty() && !(ctx.opset() >= 10 && ctx.has_input(4))) p.steps.assign(p.starts.size(), 1);
  const std::size_t n = p.starts.size();
  if (p.ends.size() != n || p.axes.size() != n || p.steps.size() != n || n > rank) {
    ctx.fail("starts, ends, axes and steps must have one entry per sliced axis (got " + std::to_string(n) + ", " +
             std::to_string(p.ends.size()) + ", " + std::to_string(p.axes.size()) + ", " +
             std::to_string(p.steps.size()) + ") for rank " + std::to_string(rank));
  }
  return p;
}

// The first index and the element count of one axis' slice. Negative start/end count from the
// end; then, for step > 0 both clamp to [0, extent], for step < 0 start clamps to [0, extent-1]
// and end to [-1, extent-1] (so that end = -1 after clamping means "through index 0").
std::pair<std::int64_t, std::int64_t> slice_range(std::int64_t start, std::int64_t end, std::int64_t step,
                                                  std::int64_t extent) {
  if (extent == 0) return {0, 0};
  if (start < 0) start += extent;
  if (end < 0) end += extent;
  if (step > 0) {
    start = std::clamp<std::int64_t>(start, 0, extent);
    end = std::clamp<std::int64_t>(end, 0, extent);
    return {start, end > start ? (end - start + step - 1) / step : 0};
  }
  start = std::clamp<std::int64_t>(start, 0, extent - 1);
  end = std::clamp<std::int64_t>(end, -1, extent - 1);
  return {start, start > end ? (start - end - step - 1) / -step : 0};
}

void slice_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const std::size_t rank = data.rank();
  const SliceParameters p = slice_parameters(ctx, rank);
  const auto strides = row_major_strides(data.shape());
  Shape shape = data.shape();
  std::vector<std::int64_t> first(rank, 0), step(rank, 1);
  std::vector<bool> sliced(rank, false);
  for (std::size_t i = 0; i < p.starts.size(); ++i) {
    const std::size_t axis = normalize_axis(p.axes[i], rank);
    if (sliced[axis]) ctx.fail("axis " + std::to_string(p.axes[i]) + " is sliced twice");
    sliced[axis] = true;
    if (p.steps[i] == 0) ctx.fail("step 0 on axis " + std::to_string(p.axes[i]));
    const auto [start, count] = slice_range(p.starts[i], p.ends[i], p.steps[i], shape[axis]);
    first[axis] = start;
    step[axis] = p.steps[i];
    shape[axis] = count;
  }
  std::vector<std::vector<std::int64_t>> offsets(rank);
  for (std::size_t d = 0; d < rank; ++d) offsets[d] = strided_offsets(shape[d], first[d], step[d], strides[d]);
  ctx.set_output(0, copy_by_axis_offsets(data, std::move(shape), offsets));
}

}  // namespace

void register_slice_kernels(KernelRegistry& r) { r.add("Slice", 1, slice_kernel); }

}  // namespace onnx_fp16::runtime
