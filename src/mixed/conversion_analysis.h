// The conversion's own view of a model, built once and asked again and again "with these nodes
// kept, which values are float16 and which ports read through a Cast?". It runs the same
// policy and plan as convert_float_to_float16 (src/convert), so what the incremental engine
// simulates is exactly what the converted model computes. Nothing in it changes after
// construction: each answer is a value (convert::Plan) the caller holds.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/convert.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "convert/context.h"
#include "convert/plan.h"
#include "graph/graph_index.h"
#include "io/payload_sources.h"
#include "onnx_fp16/tensor.h"

namespace onnx_fp16::mixed {

class ConversionAnalysis {
 public:
  // Copies `model` and runs ONNX shape inference on the copy once (unless the options disable it).
  // `payloads`: where the deferred initializers of a streamed model (io/streamed_model.h) are
  // read from; it must outlive the analysis. Null for a model that holds all its data.
  ConversionAnalysis(const onnx::ModelProto& model, Float16Options options, const io::PayloadSources* payloads = nullptr);
  ConversionAnalysis(const ConversionAnalysis&) = delete;  // the context points into the members
  ConversionAnalysis& operator=(const ConversionAnalysis&) = delete;

  // The analysed copy: shape-inferred, never converted.
  const onnx::ModelProto& model() const { return *model_; }
  // Why ONNX shape inference failed on the model (empty: it ran, or was disabled).
  const std::string& shape_inference_error() const { return shape_inference_error_; }
  const graph::GraphIndex& index() const { return *index_; }
  const Float16Options& options() const { return options_; }
  const convert::Context& context() const { return *ctx_; }

  // The policy and the plan with the nodes for which `kept[node]` is true left in float32
  // (NodeIds of index(); kept.size() == node count). A pure function of `kept`. The plan says
  // precisions only (convert::PlanDetail::PrecisionsOnly: no names; the search never rewrites
  // with it).
  convert::Plan decide(const std::vector<bool>& kept) const;
  // decide() with nothing kept by the search: the full conversion.
  const convert::Plan& full_conversion() const { return full_conversion_; }

  graph::NodeId node_id(const onnx::NodeProto& node) const;

  // Where the weights of the model and of every conversion of it are read from (null: in them).
  const io::PayloadSources* payloads() const { return payloads_; }
  // An initializer's values, read from its file when it is deferred.
  Tensor initializer_values(const onnx::TensorProto& initializer) const;

 private:
  std::unique_ptr<onnx::ModelProto> model_;
  const io::PayloadSources* payloads_;
  std::string shape_inference_error_;
  Float16Options options_;
  std::unique_ptr<graph::GraphIndex> index_;
  std::unique_ptr<convert::Context> ctx_;
  convert::Decisions each_node_;  // convert::decide_each_node's, made once: every decide() starts from it
  convert::Plan full_conversion_;
  std::unordered_map<const onnx::NodeProto*, graph::NodeId> ids_;
};

}  // namespace onnx_fp16::mixed
