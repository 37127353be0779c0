// Runs a compiled model: the engine behind onnx_fp16::Evaluator.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/evaluator.h>

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/graph_plan.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::io {
struct StreamedModel;
}

namespace onnx_fp16::runtime {

// What a run shows each node it runs, at any depth: the node, its inputs (nullptr where absent)
// and its outputs, once per execution (a Loop body's nodes once per iteration, an If's untaken
// branch never), before anything reads the outputs. A node fused with its readers
// (plan_fusion.h, main graph only) comes once, as its first node with the last one's outputs.
// The hook may replace an output with another tensor of its type and shape (never write into
// one: it may share storage with an input). For what a run computes inside subgraphs, which
// EvaluatorOptions::keep cannot name (the mixed-precision search's node costs, ranges and which
// nodes its samples reach), and for simulated float16 implementations that perturb what nodes
// compute (its rebuild engine's variants).
using NodeHook = std::function<void(const onnx::NodeProto& node, std::span<const Tensor* const> inputs,
                                    std::span<Tensor> outputs)>;

class Executor {
 public:
  // `registry` must outlive the executor. See Evaluator's constructor for what is checked.
  Executor(const onnx::ModelProto& model, const EvaluatorOptions& options,
           const KernelRegistry& registry = KernelRegistry::builtin());
  // The same for a model whose initializers may be deferred (io/streamed_model.h): their bytes
  // go from `payloads` straight into the plan's tensors, which is all that needs them.
  Executor(onnx::ModelProto&& model, const EvaluatorOptions& options, const io::PayloadSources* payloads,
           const KernelRegistry& registry = KernelRegistry::builtin());
  ~Executor();

  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& feeds, RunStats* stats = nullptr,
                                    const NodeHook* hook = nullptr) const;

  // The model it runs: the caller's structure (a GraphIndex of it numbers the nodes as one of
  // the caller's model does, and its NodeProtos are those the hook gets), without the
  // initializers' data, which the plan holds.
  const onnx::ModelProto& model() const { return model_; }

  const std::vector<InputInfo>& inputs() const { return inputs_; }
  const std::vector<std::string>& output_names() const { return output_names_; }

 private:
  // A model whose initializers' bytes are still those of the caller's ModelProto.
  Executor(io::StreamedModel&& borrowed, const EvaluatorOptions& options, const KernelRegistry& registry);

  struct Frame;
  struct RunState;
  class NodeSubgraphs;

  Frame run_graph(const GraphPlan& plan, std::vector<Tensor> inputs, const Frame* parent, RunState& state) const;
  void run_node(const CompiledNode& node, const GraphPlan& plan, Frame& frame, RunState& state) const;
  std::vector<Tensor> run_subgraph(const GraphPlan& plan, std::vector<Tensor> inputs, const Frame& parent,
                                   RunState& state) const;

  onnx::ModelProto model_;  // our copy: the plan points into its nodes
  int threads_ = 1;
  std::size_t memory_limit_ = 0;          // bytes; resolved (never 0)
  std::int64_t max_loop_iterations_ = 0;  // 0: no limit
  std::vector<std::string> keep_;
  std::unique_ptr<GraphPlan> main_;
  std::vector<InputInfo> inputs_;
  std::vector<std::string> output_names_;
};

}  // namespace onnx_fp16::runtime
