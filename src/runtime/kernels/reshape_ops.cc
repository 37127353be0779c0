// Ops that change only a tensor's shape, never its values or their order: Reshape, Squeeze,
// Unsqueeze, Flatten. The output shares the input's buffer (Tensor::reshaped), so they cost no
// copy whatever the element type.
#include <optional>
#include <string>
#include <vector>

#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// Reshape: the shape is an attribute before opset 5 and an input from 5. A 0 copies the input's
// dimension at the same position, except with allowzero=1 (opset 14), where it is a real 0;
// one -1 takes what the other dimensions leave.
void reshape_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const auto requested = ctx.opset() < 5 ? ctx.attr_ints("shape") : to_int64_vector(ctx.input(1));
  const bool allow_zero = ctx.opset() >= 14 && ctx.attr_int("allowzero", 0) != 0;
  Shape shape(requested.size());
  std::optional<std::size_t> inferred;
  for (std::size_t i = 0; i < requested.size(); ++i) {
    const std::int64_t dim = requested[i];
    if (dim == 0 && !allow_zero) {
      if (i >= data.rank()) {
        ctx.fail("shape " + shape_to_string(requested) + " copies dimension " + std::to_string(i) + " of a rank " +
                 std::to_string(data.rank()) + " input");
      }
      shape[i] = data.shape()[i];
    } else if (dim == -1) {
      if (inferred) ctx.fail("shape " + shape_to_string(requested) + " has more than one -1");
      inferred = i;
      shape[i] = 1;
    } else if (dim < 0) {
      ctx.fail("shape " + shape_to_string(requested) + " has a negative dimension");
    } else {
      shape[i] = dim;
    }
  }
  const auto size = static_cast<std::int64_t>(data.size());
  if (inferred) {
    const std::int64_t known = dim_product(shape, 0, shape.size());
    if (known == 0 || size % known != 0) {
      ctx.fail("cannot infer the -1 of shape " + shape_to_string(requested) + " for " + std::to_string(size) + " elements");
    }
    shape[*inferred] = size / known;
  }
  if (dim_product(shape, 0, shape.size()) != size) {
    ctx.fail("cannot reshape " + shape_to_string(data.shape()) + " to " + shape_to_string(requested) + " (" +
             shape_to_string(shape) + ")");
  }
  ctx.set_output(0, data.reshaped(std::move(shape)));
}

// Axes as Squeeze/Unsqueeze take them: an attribute before opset 13, an input from 13.
std::optional<std::vector<std::int64_t>> axes_operand(const KernelContext& ctx) {
  if (ctx.opset() < 13) {
    if (!ctx.has_attribute("axes")) return std::nullopt;
    return ctx.attr_ints("axes");
  }
  const Tensor* axes = ctx.optional_input(1);
  if (axes == nullptr) return std::nullopt;
  return to_int64_vector(*axes);
}

// Squeeze: removes the listed axes (each of size 1), or every size-1 axis when none are listed.
// An empty list counts as none listed, as ONNX Runtime reads it (models with one exist).
void squeeze_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Shape& in = data.shape();
  std::vector<bool> drop(in.size(), false);
  if (const auto axes = axes_operand(ctx); axes && !axes->empty()) {
    for (const std::int64_t axis : *axes) {
      const std::size_t a = normalize_axis(axis, in.size());
      if (in[a] != 1) ctx.fail("cannot squeeze axis " + std::to_string(axis) + " of shape " + shape_to_string(in));
      drop[a] = true;
    }
  } else {
    for (std::size_t d = 0; d < in.size(); ++d) drop[d] = in[d] == 1;
  }
  Shape shape;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (!drop[d]) shape.push_back(in[d]);
  }
  ctx.set_output(0, data.reshaped(std::move(shape)));
}

// Unsqueeze: inserts size-1 axes at the listed positions of the output (negative ones count
// from the output's end, from opset 11); their order does not matter, repeats are errors.
void unsqueeze_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const auto axes = axes_operand(ctx);
  if (!axes) ctx.fail("needs axes");
  const std::size_t rank = data.rank() + axes->size();
  std::vector<bool> inserted(rank, false);
  for (const std::int64_t axis : *axes) {
    const std::size_t a = normalize_axis(axis, rank);
    if (inserted[a]) ctx.fail("axis " + std::to_string(axis) + " is listed twice");
    inserted[a] = true;
  }
  Shape shape;
  std::size_t next = 0;
  for (std::size_t d = 0; d < rank; ++d) shape.push_back(inserted[d] ? 1 : data.shape()[next++]);
  ctx.set_output(0, data.reshaped(std::move(shape)));
}

// Flatten: [d0 ... d(axis-1)] and [d(axis) ...] become the two dimensions; axis in [-rank, rank]
// (negative from opset 11).
void flatten_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const auto rank = static_cast<std::int64_t>(data.rank());
  std::int64_t axis = ctx.attr_int("axis", 1);
  if (axis < -rank || axis > rank) {
    ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  const auto split = static_cast<std::size_t>(axis);
  const Shape& in = data.shape();
  ctx.set_output(0, data.reshaped({dim_product(in, 0, split), dim_product(in, split, in.size())}));
}

}  // namespace

void register_reshape_ops_kernels(KernelRegistry& r) {
  r.add("Reshape", 1, reshape_kernel);
  r.add("Squeeze", 1, squeeze_kernel);
  r.add("Unsqueeze", 1, unsqueeze_kernel);
  r.add("Flatten", 1, flatten_kernel);
}

}  // namespace onnx_fp16::runtime
