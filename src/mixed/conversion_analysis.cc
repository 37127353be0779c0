#include "mixed/conversion_analysis.h"

#include <onnx_fp16/error.h>

#include <utility>

#include "convert/policy.h"
#include "io/streamed_model.h"
#include "types/type_inference.h"

namespace onnx_fp16::mixed {

ConversionAnalysis::ConversionAnalysis(const onnx::ModelProto& model, Float16Options options,
                                       const io::PayloadSources* payloads)
    : model_(std::make_unique<onnx::ModelProto>(model)), payloads_(payloads), options_(std::move(options)) {
  if (!options_.disable_shape_infer) shape_inference_error_ = types::run_onnx_shape_inference(*model_);
  index_ = std::make_unique<graph::GraphIndex>(std::as_const(*model_));  // read-only: the analysis never edits
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index_->nodes().size()); ++n) {
    ids_.emplace(index_->node(n).proto, n);
  }
  ctx_ = std::make_unique<convert::Context>(convert::make_context(*index_, options_));
  each_node_ = convert::decide_each_node(*ctx_);
  full_conversion_ = decide(std::vector<bool>(index_->nodes().size(), false));
}

convert::Plan ConversionAnalysis::decide(const std::vector<bool>& kept) const {
  if (kept.size() != index_->nodes().size()) throw Error("internal: a kept-node list of the wrong size");
  return convert::make_plan(*ctx_, convert::decide_nodes(*ctx_, each_node_, kept), convert::PlanDetail::PrecisionsOnly);
}

Tensor ConversionAnalysis::initializer_values(const onnx::TensorProto& initializer) const {
  if (!io::is_deferred(initializer)) return Tensor::from_proto(initializer);
  if (payloads_ == nullptr) throw Error("internal: initializer '" + initializer.name() + "' is deferred without its files");
  return io::read_deferred_tensor(initializer, *payloads_);
}

graph::NodeId ConversionAnalysis::node_id(const onnx::NodeProto& node) const {
  auto it = ids_.find(&node);
  if (it == ids_.end()) throw Error("internal: node '" + node.name() + "' is not in the analysed model");
  return it->second;
}

}  // namespace onnx_fp16::mixed
