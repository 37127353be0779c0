#include "runtime/kernels/nn_quantize.h"

#include <string>

namespace onnx_fp16::runtime::nn {

ParameterLayout parameter_layout(const KernelContext& ctx, const Shape& shape, std::size_t parameter_count,
                                 std::int64_t axis) {
  ParameterLayout layout;
  if (parameter_count <= 1) return layout;
  const std::size_t a = normalize_axis(axis, shape.size());
  if (static_cast<std::size_t>(shape[a]) != parameter_count) {
    ctx.fail(std::to_string(parameter_count) + " per-axis parameters for axis " + std::to_string(a) + " of shape " +
             shape_to_string(shape));
  }
  layout.count = parameter_count;
  for (std::size_t d = a + 1; d < shape.size(); ++d) layout.inner *= static_cast<std::size_t>(shape[d]);
  return layout;
}

}  // namespace onnx_fp16::runtime::nn
