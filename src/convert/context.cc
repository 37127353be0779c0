#include "convert/context.h"

#include "types/type_inference.h"

namespace onnx_fp16::convert {

std::int32_t target_elem_type(TargetType target) {
  return target == TargetType::Float16 ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::BFLOAT16;
}

Context make_context(const graph::GraphIndex& index, const Float16Options& options) {
  types::GraphTypes typed = types::type_graph(index);
  return Context{index, options, target_elem_type(options.target), std::move(typed.values), std::move(typed.signatures)};
}

}  // namespace onnx_fp16::convert
