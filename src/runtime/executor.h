// Runs a compiled model: the engine behind onnx_fp16::Evaluator.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/evaluator.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/graph_plan.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::io {
struct StreamedModel;
}

namespace onnx_fp16::runtime {

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

  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& feeds, RunStats* stats = nullptr) const;

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
