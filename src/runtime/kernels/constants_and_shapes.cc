// Values that come from attributes or from shapes: Constant, ConstantOfShape, Shape, Size, and
// Identity (which passes its input on, sharing the buffer).
#include <algorithm>

#include "runtime/element_types.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// Constant: exactly one of its value attributes (value_* from opset 12).
void constant_kernel(KernelContext& ctx) {
  if (ctx.has_attribute("value")) return ctx.set_output(0, ctx.attr_tensor("value"));
  if (ctx.has_attribute("value_float")) return ctx.set_output(0, Tensor::scalar(ctx.attr_float("value_float")));
  if (ctx.has_attribute("value_int")) return ctx.set_output(0, Tensor::scalar(ctx.attr_int("value_int")));
  if (ctx.has_attribute("value_string")) {
    return ctx.set_output(0, Tensor::from_vector({}, std::vector<std::string>{ctx.attr_string("value_string")}));
  }
  if (ctx.has_attribute("value_floats")) {
    const auto values = ctx.attr_floats("value_floats");
    return ctx.set_output(0, Tensor::from_vector<float>({static_cast<std::int64_t>(values.size())}, values));
  }
  if (ctx.has_attribute("value_ints")) {
    const auto values = ctx.attr_ints("value_ints");
    return ctx.set_output(0, Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(values.size())}, values));
  }
  if (ctx.has_attribute("value_strings")) {
    auto values = ctx.attr_strings("value_strings");
    const auto count = static_cast<std::int64_t>(values.size());
    return ctx.set_output(0, Tensor::from_vector({count}, std::move(values)));
  }
  if (ctx.has_attribute("sparse_value")) ctx.fail("sparse constants are not supported");
  ctx.fail("has no value attribute");
}

// ConstantOfShape: a tensor of the input's shape filled with `value` (default float32 0).
void constant_of_shape_kernel(KernelContext& ctx) {
  const auto dims = to_int64_vector(ctx.input(0));
  const Tensor value = ctx.has_attribute("value") ? ctx.attr_tensor("value") : Tensor::scalar(0.0f);
  if (value.size() != 1) ctx.fail("'value' must hold one element, it has shape " + shape_to_string(value.shape()));
  dispatch<AllTypes>(value.dtype(), [&]<typename S>(std::type_identity<S>) {
    Tensor out = Tensor::uninitialized(value.dtype(), dims);
    std::fill_n(out.mutable_data<S>().begin(), out.size(), value.data<S>()[0]);
    ctx.set_output(0, std::move(out));
  });
}

// Shape, with opset 15's start/end: clamped like Python slice bounds.
void shape_kernel(KernelContext& ctx) {
  const Shape& shape = ctx.input(0).shape();
  const auto rank = static_cast<std::int64_t>(shape.size());
  auto clamp = [rank](std::int64_t index) { return std::clamp(index < 0 ? index + rank : index, std::int64_t{0}, rank); };
  const std::int64_t start = clamp(ctx.attr_int("start", 0));
  const std::int64_t end = clamp(ctx.attr_int("end", rank));
  const std::vector<std::int64_t> dims(shape.begin() + start, shape.begin() + std::max(start, end));
  ctx.set_output(0, Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(dims.size())}, dims));
}

}  // namespace

void register_constants_and_shapes_kernels(KernelRegistry& r) {
  r.add("Constant", 1, constant_kernel);
  r.add("ConstantOfShape", 9, constant_of_shape_kernel);
  r.add("Shape", 1, shape_kernel);
  r.add("Size", 1, [](KernelContext& ctx) {
    ctx.set_output(0, Tensor::scalar(static_cast<std::int64_t>(ctx.input(0).size())));
  });
  r.add("Identity", 1, [](KernelContext& ctx) { ctx.set_output(0, ctx.input(0)); });
}

}  // namespace onnx_fp16::runtime
