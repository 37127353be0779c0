#include "runtime/executor.h"

#include <algorithm>
#include <chrono>

#include "graph/domain.h"
#include "graph/graph_index.h"
#include "io/streamed_model.h"
#include "onnx_fp16/error.h"
#include "runtime/feed_validation.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/parallel.h"
#include "runtime/plan_fusion.h"
#include "tensor/memory_limit.h"

namespace onnx_fp16::runtime {

// The values of one running graph, by slot. A subgraph runs in a frame of its own whose
// captures are copies (sharing buffers) of its enclosing frame's values.
struct Executor::Frame {
  std::vector<Tensor> slots;
};

// What all frames of one run share: the live-intermediate accounting.
struct Executor::RunState {
  RunStats stats;
  bool time_nodes = false;  // the caller asked for stats: fill stats.node_times
  const NodeHook* hook = nullptr;
  std::size_t live_tensors = 0;
  std::size_t live_bytes = 0;

  void produced(const Tensor& tensor) {
    ++live_tensors;
    live_bytes += tensor.dtype() == onnx::TensorProto::STRING ? 0 : tensor.byte_size();
    stats.peak_live_tensors = std::max(stats.peak_live_tensors, live_tensors);
    stats.peak_live_bytes = std::max(stats.peak_live_bytes, live_bytes);
  }
  void released(const Tensor& tensor) {
    --live_tensors;
    live_bytes -= tensor.dtype() == onnx::TensorProto::STRING ? 0 : tensor.byte_size();
  }
};

// The SubgraphRunner a kernel gets: runs its node's graph attributes in the node's frame.
class Executor::NodeSubgraphs final : public SubgraphRunner {
 public:
  NodeSubgraphs(const Executor& executor, const CompiledNode& node, const Frame& frame, RunState& state)
      : executor_(executor), node_(node), frame_(frame), state_(state) {}

  std::vector<Tensor> run(std::string_view attribute, std::vector<Tensor> inputs) const override {
    const auto it = node_.subgraphs.find(attribute);
    if (it == node_.subgraphs.end()) throw Error("the node has no graph attribute '" + std::string(attribute) + "'");
    return executor_.run_subgraph(*it->second, std::move(inputs), frame_, state_);
  }

 private:
  const Executor& executor_;
  const CompiledNode& node_;
  const Frame& frame_;
  RunState& state_;
};

namespace {

std::unordered_map<std::string, int> imported_opsets(const onnx::ModelProto& model) {
  std::unordered_map<std::string, int> opsets;
  for (const auto& opset : model.opset_import()) {
    opsets[graph::canonical_domain(opset.domain())] = static_cast<int>(opset.version());
  }
  return opsets;
}

}  // namespace

// The weights go from `model` straight into the plan's tensors (io::borrow_initializers): a copy
// of the whole model first would hold them twice for the evaluator's life (BERT-base: 436 MB
// more) and copy them on one thread.
Executor::Executor(const onnx::ModelProto& model, const EvaluatorOptions& options, const KernelRegistry& registry)
    : Executor(io::borrow_initializers(model), options, registry) {}

Executor::Executor(io::StreamedModel&& borrowed, const EvaluatorOptions& options, const KernelRegistry& registry)
    : Executor(std::move(borrowed.model), options, &borrowed.sources, registry) {}

Executor::Executor(onnx::ModelProto&& model, const EvaluatorOptions& options, const io::PayloadSources* payloads,
                   const KernelRegistry& registry)
    : model_(std::move(model)),
      threads_(effective_threads(options.threads)),
      memory_limit_(options.memory_limit != 0 ? options.memory_limit : physical_memory_bytes()),
      max_loop_iterations_(options.max_loop_iterations),
      keep_(options.keep) {
  if (options.max_loop_iterations < 0) throw Error("max_loop_iterations must be >= 0");
  inputs_ = describe_inputs(model_.graph());
  for (const auto& output : model_.graph().output()) output_names_.push_back(output.name());
  // The structural rules every reader of a model shares (one producer per value, no cycle, no
  // undefined name), checked where they live; the index itself is not needed after.
  const graph::GraphIndex structure_check(model_);
  PlanOptions plan_options;
  plan_options.registry = &registry;
  plan_options.opsets = imported_opsets(model_);
  plan_options.keep = keep_;
  plan_options.payloads = payloads;
  plan_options.threads = threads_;
  main_ = compile_main_graph(model_.graph(), plan_options);
  // The same values in fewer passes over memory (plan_fusion.h).
  fuse_gated_activations(*main_);
  fuse_integer_conv_rescale(*main_);  // before fuse_relu, which would take the chain's Add -> Relu
  fuse_relu(*main_);
  // What kernels derive from weights (packed integer weights) while loading, not in the first run.
  prepare_constants(*main_, registry, threads_);
  // The plan holds the initializers as tensors now; the copies in our model are dead weight.
  for (auto& initializer : *model_.mutable_graph()->mutable_initializer()) {
    initializer.clear_raw_data();
    initializer.clear_float_data();
    initializer.clear_int32_data();
    initializer.clear_int64_data();
    initializer.clear_double_data();
    initializer.clear_uint64_data();
    initializer.clear_string_data();
  }
  math::prepare_blas(threads_);  // OpenBLAS's first-call costs at load, not in the first run
}

Executor::~Executor() = default;

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& feeds, RunStats* stats,
                                            const NodeHook* hook) const {
  validate_feeds(inputs_, feeds);
  std::vector<Tensor> inputs(main_->input_slots.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto feed = feeds.find(inputs_[i].name);
    if (feed != feeds.end()) inputs[i] = feed->second;
  }
  RunState state;
  state.time_nodes = stats != nullptr;
  state.hook = hook;
  const MemoryLimitScope memory_limit(memory_limit_);  // every tensor the kernels allocate on this thread
  const Frame frame = run_graph(*main_, std::move(inputs), nullptr, state);
  std::map<std::string, Tensor> results;
  for (std::size_t i = 0; i < main_->output_slots.size(); ++i) {
    results[output_names_[i]] = frame.slots[main_->output_slots[i]];
  }
  for (const auto& name : keep_) {
    const auto it = std::find(main_->slot_names.begin(), main_->slot_names.end(), name);
    results[name] = frame.slots[it - main_->slot_names.begin()];
  }
  if (stats != nullptr) *stats = state.stats;
  return results;
}

Executor::Frame Executor::run_graph(const GraphPlan& plan, std::vector<Tensor> inputs, const Frame* parent,
                                    RunState& state) const {
  Frame frame;
  frame.slots.resize(plan.slot_names.size());
  for (const auto& [slot, tensor] : plan.constants) frame.slots[slot] = tensor;
  for (const auto& [slot, outer] : plan.captures) frame.slots[slot] = parent->slots[outer];
  if (inputs.size() > plan.input_slots.size()) {
    throw Error(plan.label + " takes " + std::to_string(plan.input_slots.size()) + " inputs, given " +
                std::to_string(inputs.size()));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].defined()) frame.slots[plan.input_slots[i]] = std::move(inputs[i]);
  }
  for (const int slot : plan.release_at_start) frame.slots[slot] = Tensor();
  if (parent != nullptr || !state.time_nodes) {
    for (const auto& node : plan.nodes) run_node(node, plan, frame, state);
    return frame;
  }
  // The main graph, for a caller that asked for stats: each node timed (two clock reads, ~50 ns,
  // against kernels of microseconds; its name and op type copied).
  state.stats.node_times.reserve(plan.nodes.size());
  for (const auto& node : plan.nodes) {
    const auto start = std::chrono::steady_clock::now();
    run_node(node, plan, frame, state);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::string op_type = node.proto->op_type();
    for (const auto* reader : node.fused_readers) op_type += "+" + reader->op_type();
    state.stats.node_times.push_back({node.proto->name(), std::move(op_type), took.count()});
  }
  return frame;
}

void Executor::run_node(const CompiledNode& node, const GraphPlan& plan, Frame& frame, RunState& state) const {
  std::vector<const Tensor*> inputs;
  inputs.reserve(node.inputs.size());
  for (const int slot : node.inputs) {
    if (slot == kNoSlot) {
      inputs.push_back(nullptr);
      continue;
    }
    if (!frame.slots[slot].defined()) {
      throw Error(node.label + ": input '" + plan.slot_names[slot] + "' has no value (" + plan.label +
                  " input not fed, or freed too early)");
    }
    inputs.push_back(&frame.slots[slot]);
  }
  const NodeSubgraphs subgraphs(*this, node, frame, state);
  std::vector<const Tensor*> hooked_inputs;
  if (state.hook != nullptr) hooked_inputs = inputs;
  std::vector<Tensor> outputs = run_compiled_node(
      node, plan, std::move(inputs),
      {.threads = threads_, .subgraphs = &subgraphs, .max_loop_iterations = max_loop_iterations_});
  if (state.hook != nullptr) (*state.hook)(*node.proto, hooked_inputs, outputs);
  state.stats.nodes_run += 1 + node.fused_readers.size();  // the model's nodes, fused or not
  for (std::size_t i = 0; i < node.outputs.size(); ++i) {
    const int slot = node.outputs[i];
    if (slot == kNoSlot) continue;
    frame.slots[slot] = std::move(outputs[i]);
    state.produced(frame.slots[slot]);
  }
  if (state.live_bytes > memory_limit_) {
    throw Error(node.label + ": the run's intermediate tensors need " + byte_text(state.live_bytes) +
                " at once, over the memory limit of " + byte_text(memory_limit_) +
                " (EvaluatorOptions::memory_limit, --memory-limit)");
  }
  for (const int slot : node.release_after) {
    if (!frame.slots[slot].defined()) continue;
    if (plan.produced_by_node[slot]) state.released(frame.slots[slot]);
    frame.slots[slot] = Tensor();
  }
}

std::vector<Tensor> Executor::run_subgraph(const GraphPlan& plan, std::vector<Tensor> inputs, const Frame& parent,
                                           RunState& state) const {
  if (inputs.size() != plan.input_slots.size()) {
    throw Error(plan.label + " takes " + std::to_string(plan.input_slots.size()) + " inputs, given " +
                std::to_string(inputs.size()));
  }
  Frame frame = run_graph(plan, std::move(inputs), &parent, state);
  std::vector<Tensor> outputs;
  outputs.reserve(plan.output_slots.size());
  for (const int slot : plan.output_slots) outputs.push_back(frame.slots[slot]);
  // The frame ends: what it still holds is no longer live (the outputs live on in the caller).
  for (std::size_t slot = 0; slot < frame.slots.size(); ++slot) {
    if (plan.produced_by_node[slot] && frame.slots[slot].defined()) state.released(frame.slots[slot]);
  }
  return outputs;
}

}  // namespace onnx_fp16::runtime
