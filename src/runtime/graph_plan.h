// A graph compiled for execution: values numbered into slots, nodes in topological order with
// their kernels, constants converted, subgraphs compiled with their outer-scope reads, and for
// every value the node after which it is freed. Built once when a model is loaded; running it
// (executor.cc) only follows the plan.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/kernel.h"
#include "runtime/kernel_registry.h"
#include "runtime/read_rounding.h"
#include "runtime/tensor.h"

namespace onnx_fp16::io {
class PayloadSources;
}

namespace onnx_fp16::runtime {

inline constexpr int kNoSlot = -1;

struct GraphPlan;

struct CompiledNode {
  const onnx::NodeProto* proto = nullptr;
  // The nodes fused into this one, in order (plan_fusion.h): the Mul of a gated activation, the
  // Relu after a Conv, the Cast, Mul, Add and Relu after a ConvInteger; empty: none.
  std::vector<const onnx::NodeProto*> fused_readers;
  std::string label;  // "node 'name' (Op)", for messages
  const Kernel* kernel = nullptr;
  int opset = 0;
  std::vector<int> inputs;         // a slot per listed input; kNoSlot where the name is empty
  std::vector<int> outputs;        // a slot per listed output; kNoSlot where the name is empty
  // By listed input: whether its kernel reads it rounded itself (KernelRegistry::add_rounding_
  // reader); empty for a fused node (its inputs are rounded into copies).
  std::vector<bool> reads_rounded;
  std::vector<int> release_after;  // slots whose last reader (or unread producer) is this node
  std::map<std::string, Tensor> attribute_tensors;
  std::map<std::string, std::unique_ptr<GraphPlan>, std::less<>> subgraphs;  // by attribute name
  // What its kernel derived from its constant inputs (KernelContext::from_constants).
  std::unique_ptr<DerivedFromConstants> derived = std::make_unique<DerivedFromConstants>();
};

struct GraphPlan {
  std::string label;                       // "main graph", "node 'l' (Loop) body"
  std::vector<std::string> slot_names;     // for messages
  std::vector<bool> produced_by_node;      // per slot: counted as a live intermediate
  std::vector<int> input_slots;            // graph inputs, in order
  std::vector<int> output_slots;           // graph outputs, in order
  std::vector<std::pair<int, Tensor>> constants;  // initializers someone reads (or defaults of inputs)
  std::vector<bool> constant_slots;               // by slot: one of `constants`
  std::vector<std::pair<int, int>> captures;      // (slot here, slot in the enclosing plan)
  std::vector<CompiledNode> nodes;                // in execution order
  std::vector<int> release_at_start;              // inputs no node reads
};

// Initializers a plan of the same model already holds, by proto: a plan compiled with them
// takes those tensors (their storage shared) instead of reading its own copy, and adds the
// ones it read. The mixed-precision search's engines of one model (one per flat model its
// samples run) thereby hold its weights once.
using LoadedInitializers = std::unordered_map<const onnx::TensorProto*, Tensor>;

struct PlanOptions {
  const KernelRegistry* registry = nullptr;
  std::unordered_map<std::string, int> opsets;  // normalized domain -> imported version
  std::vector<std::string> keep;                // main-graph values never freed
  // Where deferred initializers' bytes are (io/streamed_model.h); nullptr: the model has none.
  const io::PayloadSources* payloads = nullptr;
  // Threads that read deferred bytes into the plan's tensors. Their pages are fresh: on the
  // virtual machines measured, the first touch of memory the host has not backed recently costs
  // 1.8 ms per MB on one thread and 1.0 on two (BERT-base's 436 MB of weights).
  int threads = 1;
  // Shared with other plans of the same model (nullptr: none); see LoadedInitializers.
  LoadedInitializers* loaded = nullptr;
};

// Other nodes to compile as the main graph's (the mixed-precision search runs a model whose If
// nodes each take one branch as if that branch's nodes were the main graph's, mixed/
// inlined_branches.h): `nodes` in place of graph.node() (sorted by what they read), and the
// initializers of `initializer_graphs` beside graph.initializer(). Their names must not clash.
struct FlatNodes {
  std::vector<const onnx::NodeProto*> nodes;
  std::vector<const onnx::GraphProto*> initializer_graphs;
};

// Compiles the main graph (with `flat`, those nodes instead of its own). Throws
// onnx_fp16::Error for an unsupported operator, a name nothing defines, a value defined twice, a
// cycle, or a value to keep that does not exist.
std::unique_ptr<GraphPlan> compile_main_graph(const onnx::GraphProto& graph, const PlanOptions& options,
                                              const FlatNodes* flat = nullptr);

// What a kernel run gets besides its node and inputs.
struct NodeRunOptions {
  int threads = 1;
  const SubgraphRunner* subgraphs = nullptr;  // nullptr: the node has no graph attributes to run
  std::int64_t max_loop_iterations = 0;       // 0: no limit
  // By listed input: how the node reads it (read_rounding.h); empty: as given. The mixed-precision
  // search's simulation of a converted constant.
  std::span<const ReadRounding> read_rounding{};
};

// Runs the preparers of the plan's nodes (KernelRegistry::add_preparer) on their constant inputs
// (the others absent), so that what kernels derive from constants is computed while the model
// loads instead of in its first run. A preparer's error is dropped: the run reports it.
void prepare_constants(const GraphPlan& plan, const KernelRegistry& registry, int threads);

// Runs one compiled node of `plan` on `inputs` (one per listed input, nullptr where the name is
// empty) and returns its outputs, one per listed output, each defined where the node names one.
// An input options.read_rounding rounds reaches the kernel as it is, with the rounding to apply,
// where the kernel reads it rounded itself (CompiledNode::reads_rounded), else as a rounded copy.
// A kernel's error comes back prefixed with the node's label; a missing output is an error
// naming it. The one way the executor and the mixed-precision engine run a node.
std::vector<Tensor> run_compiled_node(const CompiledNode& node, const GraphPlan& plan, std::vector<const Tensor*> inputs,
                                      const NodeRunOptions& options);

}  // namespace onnx_fp16::runtime
