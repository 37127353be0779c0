#include "runtime/elementwise.h"

#include <optional>

namespace onnx_fp16::runtime {

Shape second_operand_shape(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (ctx.opset() >= 7) return b.shape();
  std::optional<std::int64_t> axis;
  if (ctx.has_attribute("axis")) axis = ctx.attr_int("axis");
  return legacy_broadcast_shape(a.shape(), b.shape(), ctx.attr_int("broadcast", 0) != 0, axis);
}

void require_same_type(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) {
    ctx.fail("inputs have different element types (" + data_type_name(a.dtype()) + " and " +
             data_type_name(b.dtype()) + ")");
  }
}

}  // namespace onnx_fp16::runtime
