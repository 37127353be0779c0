#include "convert/context.h"

#include "types/type_inference.h"

namespace onnx_fp16::convert {

Precision target_precision(TargetType target) {
  return target == TargetType::Float16 ? Precision::Float16 : Precision::BFloat16;
}

Context make_context(const graph::GraphIndex& index, const Float16Options& options) {
  types::GraphTypes typed = types::type_graph(index);
  return Context{index, options, target_precision(options.target), std::move(typed.values), std::move(typed.signatures)};
}

}  // namespace onnx_fp16::convert
