#include "mixed/conversion_analysis.h"

#include <onnx_fp16/error.h>

#include "convert/policy.h"
#include "types/type_inference.h"

namespace onnx_fp16::mixed {

ConversionAnalysis::ConversionAnalysis(const onnx::ModelProto& model, Float16Options options)
    : model_(std::make_unique<onnx::ModelProto>(model)), options_(std::move(options)) {
  if (!options_.disable_shape_infer) shape_inference_error_ = types::run_onnx_shape_inference(*model_);
  index_ = std::make_unique<graph::GraphIndex>(*model_);
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index_->nodes().size()); ++n) {
    ids_.emplace(index_->node(n).proto, n);
  }
  options_.block_node = [this](const onnx::NodeProto& node) {
    const graph::NodeId id = node_id(node);
    return kept_ != nullptr && (*kept_)[id];
  };
  const std::int32_t target =
      options_.target == TargetType::Float16 ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::BFLOAT16;
  ctx_ = std::make_unique<convert::Context>(convert::Context{*index_, options_, target, {}, {}, {}});
  ctx_->signatures.reserve(index_->nodes().size());
  for (const auto& node : index_->nodes()) {
    ctx_->signatures.push_back(types::port_signature(*node.proto, index_->opset(node.proto->domain())));
  }
  ctx_->types = types::infer_value_types(*index_, ctx_->signatures);
  decide(std::vector<bool>(index_->nodes().size(), false));
}

void ConversionAnalysis::decide(const std::vector<bool>& kept) {
  if (kept.size() != index_->nodes().size()) throw Error("internal: a kept-node list of the wrong size");
  kept_ = &kept;
  ctx_->decisions.clear();
  convert::decide_nodes(*ctx_);
  plan_ = convert::make_plan(*ctx_);
  kept_ = nullptr;
}

graph::NodeId ConversionAnalysis::node_id(const onnx::NodeProto& node) const {
  auto it = ids_.find(&node);
  if (it == ids_.end()) throw Error("internal: node '" + node.name() + "' is not in the analysed model");
  return it->second;
}

}  // namespace onnx_fp16::mixed
