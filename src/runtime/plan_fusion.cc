#include "runtime/plan_fusion.h"

#include <algorithm>
#include <vector>

#include "graph/domain.h"
#include "runtime/kernels/gated_activation.h"

namespace onnx_fp16::runtime {

namespace {

const Kernel kGatedActivation = gated_activation_kernel;

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

}  // namespace

void fuse_gated_activations(GraphPlan& plan) {
  const std::vector<int> reads = reads_per_slot(plan);
  std::vector<bool> folded(plan.nodes.size(), false);
  for (std::size_t a = 0; a < plan.nodes.size(); ++a) {
    const CompiledNode& activation = plan.nodes[a];
    const onnx::NodeProto& proto = *activation.proto;
    if (!in_default_domain(proto) || !is_gating_activation(proto.op_type())) continue;
    if (activation.inputs.size() != 1 || activation.outputs.size() != 1) continue;
    const int x = activation.inputs[0];
    const int gate = activation.outputs[0];
    if (x == kNoSlot || gate == kNoSlot || reads[gate] != 1) continue;
    const std::size_t m = reader_of(plan, gate, a + 1);
    if (m == plan.nodes.size()) continue;
    CompiledNode& mul = plan.nodes[m];
    if (!in_default_domain(*mul.proto) || mul.proto->op_type() != "Mul" || mul.opset < 7) continue;
    const bool x_times_gate = mul.inputs == std::vector<int>{x, gate} || mul.inputs == std::vector<int>{gate, x};
    // The gate must be freed at the Mul: a kept value (or a graph output) is never freed.
    const bool gate_freed_there = std::find(mul.release_after.begin(), mul.release_after.end(), gate) !=
                                  mul.release_after.end();
    if (!x_times_gate || !gate_freed_there || mul.outputs.size() != 1) continue;
    CompiledNode fused;
    fused.proto = activation.proto;
    fused.fused_reader = mul.proto;
    fused.label = activation.label + " and " + mul.label + ", fused";
    fused.kernel = &kGatedActivation;
    fused.opset = activation.opset;
    fused.inputs = {x};
    fused.outputs = mul.outputs;
    fused.release_after = activation.release_after;
    for (const int slot : mul.release_after) {
      if (slot != gate) fused.release_after.push_back(slot);
    }
    mul = std::move(fused);
    folded[a] = true;
  }
  std::vector<CompiledNode> nodes;
  nodes.reserve(plan.nodes.size());
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    if (!folded[i]) nodes.push_back(std::move(plan.nodes[i]));
  }
  plan.nodes = std::move(nodes);
}

}  // namespace onnx_fp16::runtime
