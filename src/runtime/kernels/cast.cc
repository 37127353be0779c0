// Cast and CastLike: every pair of supported element types (runtime/tensor_cast.h has the rules,
// runtime/value_conversion.h the numeric ones).
#include "runtime/kernel_registry.h"
#include "runtime/tensor_cast.h"

namespace onnx_fp16::runtime {

namespace {

// Cast's `to`: an element type number, or its name at opset 1 ("FLOAT").
DataType cast_target(const KernelContext& ctx) {
  const auto* to = ctx.find_attribute("to");
  if (to != nullptr && to->type() == onnx::AttributeProto::STRING) {
    onnx::TensorProto::DataType type{};
    if (!onnx::TensorProto::DataType_Parse(to->s(), &type)) ctx.fail("unknown element type '" + to->s() + "'");
    return type;
  }
  const auto type = ctx.attr_int("to");
  if (!onnx::TensorProto::DataType_IsValid(static_cast<int>(type))) {
    ctx.fail("unknown element type " + std::to_string(type));
  }
  return static_cast<DataType>(type);
}

}  // namespace

void register_cast_kernels(KernelRegistry& r) {
  r.add("Cast", 1, [](KernelContext& ctx) { ctx.set_output(0, cast_tensor(ctx.input(0), cast_target(ctx))); });
  r.add("CastLike", 15,
        [](KernelContext& ctx) { ctx.set_output(0, cast_tensor(ctx.input(0), ctx.input(1).dtype())); });
}

}  // namespace onnx_fp16::runtime
