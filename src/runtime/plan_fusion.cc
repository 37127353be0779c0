#include "runtime/plan_fusion.h"

#include <algorithm>
#include <vector>

#include "graph/domain.h"
#include "runtime/kernels/fused_kernels.h"

namespace onnx_fp16::runtime {

namespace {

const Kernel kGatedActivation = gated_activation_kernel;
const Kernel kConvRelu = conv_relu_kernel;
const Kernel kAddRelu = add_relu_kernel;

bool in_default_domain(const onnx::NodeProto& node) { return graph::canonical_domain(node.domain()).empty(); }

// How many inputs of nodes read each slot (a subgraph's capture counts as a read).
std::vector<int> reads_per_slot(const GraphPlan& plan) {
  std::vector<int> reads(plan.slot_names.size(), 0);
  for (const auto& node : plan.nodes) {
    for (const int slot : node.inputs) {
      if (slot != kNoSlot) ++reads[slot];
    }
    for (const auto& [name, subgraph] : node.subgraphs) {
      for (const auto& [inner, outer] : subgraph->captures) ++reads[outer];
    }
  }
  return reads;
}

// The position of the node whose inputs include `slot`, from `from` on.
std::size_t reader_of(const GraphPlan& plan, int slot, std::size_t from) {
  for (std::size_t i = from; i < plan.nodes.size(); ++i) {
    const auto& inputs = plan.nodes[i].inputs;
    if (std::find(inputs.begin(), inputs.end(), slot) != inputs.end()) return i;
  }
  return plan.nodes.size();
}

bool freed_at(const CompiledNode& node, int slot) {
  return std::find(node.release_after.begin(), node.release_after.end(), slot) != node.release_after.end();
}

// `reader`'s producer if it is `producer`'s only reader of its one output, which is neither
// kept nor a graph output (those are never freed): that output's slot; kNoSlot otherwise.
int sole_link(const CompiledNode& producer, const CompiledNode& reader, const std::vector<int>& reads) {
  if (producer.outputs.size() != 1 || reader.outputs.size() != 1) return kNoSlot;
  const int middle = producer.outputs[0];
  if (middle == kNoSlot || reads[middle] != 1 || !freed_at(reader, middle)) return kNoSlot;
  return middle;
}

// The node that replaces `first` and `second` at second's place: first's proto (the kernel
// reads its attributes), `kernel` on `inputs`, second's outputs, both nodes' releases but the
// value between them, which is never made.
CompiledNode fused_pair(const CompiledNode& first, const CompiledNode& second, int middle, const Kernel& kernel,
                        std::vector<int> inputs) {
  CompiledNode fused;
  fused.proto = first.proto;
  fused.fused_reader = second.proto;
  fused.label = first.label + " and " + second.label + ", fused";
  fused.kernel = &kernel;
  fused.opset = first.opset;
  fused.inputs = std::move(inputs);
  fused.outputs = second.outputs;
  fused.release_after = first.release_after;
  for (const int slot : second.release_after) {
    if (slot != middle) fused.release_after.push_back(slot);
  }
  return fused;
}

void drop_folded(GraphPlan& plan, const std::vector<bool>& folded) {
  std::vector<CompiledNode> nodes;
  nodes.reserve(plan.nodes.size());
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    if (!folded[i]) nodes.push_back(std::move(plan.nodes[i]));
  }
  plan.nodes = std::move(nodes);
}

}  // namespace

void fuse_gated_activations(GraphPlan& plan) {
  const std::vector<int> reads = reads_per_slot(plan);
  std::vector<bool> folded(plan.nodes.size(), false);
  for (std::size_t a = 0; a < plan.nodes.size(); ++a) {
    const CompiledNode& activation = plan.nodes[a];
    if (!in_default_domain(*activation.proto) || !is_gating_activation(activation.proto->op_type())) continue;
    if (activation.inputs.size() != 1 || activation.inputs[0] == kNoSlot || activation.outputs.size() != 1) continue;
    const int x = activation.inputs[0];
    const std::size_t m = reader_of(plan, activation.outputs[0], a + 1);
    if (m == plan.nodes.size()) continue;
    CompiledNode& mul = plan.nodes[m];
    if (!in_default_domain(*mul.proto) || mul.proto->op_type() != "Mul" || mul.opset < 7) continue;
    const int gate = sole_link(activation, mul, reads);
    if (gate == kNoSlot) continue;
    if (mul.inputs != std::vector<int>{x, gate} && mul.inputs != std::vector<int>{gate, x}) continue;
    mul = fused_pair(activation, mul, gate, kGatedActivation, {x});
    folded[a] = true;
  }
  drop_folded(plan, folded);
}

void fuse_relu(GraphPlan& plan) {
  const std::vector<int> reads = reads_per_slot(plan);
  std::vector<bool> folded(plan.nodes.size(), false);
  for (std::size_t p = 0; p < plan.nodes.size(); ++p) {
    const CompiledNode& producer = plan.nodes[p];
    const std::string& op = producer.proto->op_type();
    const Kernel* kernel = op == "Conv" ? &kConvRelu : op == "Add" ? &kAddRelu : nullptr;
    if (kernel == nullptr || !in_default_domain(*producer.proto) || producer.outputs.size() != 1) continue;
    const std::size_t r = reader_of(plan, producer.outputs[0], p + 1);
    if (r == plan.nodes.size()) continue;
    CompiledNode& relu = plan.nodes[r];
    if (!in_default_domain(*relu.proto) || relu.proto->op_type() != "Relu") continue;
    const int y = sole_link(producer, relu, reads);
    if (y == kNoSlot || relu.inputs != std::vector<int>{y}) continue;
    relu = fused_pair(producer, relu, y, *kernel, producer.inputs);
    folded[p] = true;
  }
  drop_folded(plan, folded);
}

}  // namespace onnx_fp16::runtime
