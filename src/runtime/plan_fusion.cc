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
const Kernel kConvIntegerRescale = conv_integer_rescale_kernel;
const Kernel kConvIntegerRescaleRelu = conv_integer_rescale_relu_kernel;

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
  fused.fused_readers = {second.proto};
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

void fuse_integer_conv_rescale(GraphPlan& plan) {
  const std::vector<int> reads = reads_per_slot(plan);
  std::vector<bool> folded(plan.nodes.size(), false);
  // The node after `at` that reads its one output, if it is an `op` of the default domain at
  // opset `min_opset` or later and that output's only reader: its position; else nodes.size().
  auto sole_reader = [&](std::size_t at, const char* op, int min_opset) {
    const std::size_t r = reader_of(plan, plan.nodes[at].outputs.empty() ? kNoSlot : plan.nodes[at].outputs[0], at + 1);
    if (r == plan.nodes.size()) return r;
    const CompiledNode& reader = plan.nodes[r];
    if (!in_default_domain(*reader.proto) || reader.proto->op_type() != op || reader.opset < min_opset) {
      return plan.nodes.size();
    }
    return sole_link(plan.nodes[at], reader, reads) == kNoSlot ? plan.nodes.size() : r;
  };
  // The input of a binary node that is not `slot` (slot must be exactly one of its two).
  auto other_operand = [](const CompiledNode& node, int slot) {
    if (node.inputs.size() != 2) return kNoSlot;
    if (node.inputs[0] == slot && node.inputs[1] != slot) return node.inputs[1];
    if (node.inputs[1] == slot && node.inputs[0] != slot) return node.inputs[0];
    return kNoSlot;
  };
  for (std::size_t p = 0; p < plan.nodes.size(); ++p) {
    const CompiledNode& conv = plan.nodes[p];
    if (!in_default_domain(*conv.proto) || conv.proto->op_type() != "ConvInteger" || conv.outputs.size() != 1) continue;
    const std::size_t c = sole_reader(p, "Cast", 1);
    if (c == plan.nodes.size()) continue;
    const auto& to = plan.nodes[c].proto->attribute();
    const bool to_float = std::any_of(to.begin(), to.end(), [](const onnx::AttributeProto& a) {
      return a.name() == "to" && a.i() == onnx::TensorProto::FLOAT;
    });
    if (!to_float) continue;
    const std::size_t m = sole_reader(c, "Mul", 7);
    if (m == plan.nodes.size()) continue;
    const int scale = other_operand(plan.nodes[m], plan.nodes[c].outputs[0]);
    if (scale == kNoSlot) continue;
    std::vector<std::size_t> chain = {p, c, m};
    int bias = kNoSlot;
    if (const std::size_t a = sole_reader(m, "Add", 7); a != plan.nodes.size()) {
      bias = other_operand(plan.nodes[a], plan.nodes[m].outputs[0]);
      if (bias != kNoSlot) chain.push_back(a);
    }
    const std::size_t r = sole_reader(chain.back(), "Relu", 6);
    const bool relu = r != plan.nodes.size() && plan.nodes[r].inputs == std::vector<int>{plan.nodes[chain.back()].outputs[0]};
    if (relu) chain.push_back(r);
    // One node at the chain's last place: the ConvInteger's proto and inputs (padded to its four),
    // then the scale and the bias; the last node's outputs; every release but the chain's own values.
    CompiledNode fused;
    fused.proto = conv.proto;
    fused.label = conv.label + " and the Cast, Mul" + std::string(bias != kNoSlot ? ", Add" : "") +
                  (relu ? ", Relu" : "") + " after it, fused";
    fused.kernel = relu ? &kConvIntegerRescaleRelu : &kConvIntegerRescale;
    fused.opset = conv.opset;
    fused.inputs = conv.inputs;
    fused.inputs.resize(4, kNoSlot);
    fused.inputs.push_back(scale);
    fused.inputs.push_back(bias);
    fused.outputs = plan.nodes[chain.back()].outputs;
    std::vector<int> inner;
    for (std::size_t k = 0; k + 1 < chain.size(); ++k) inner.push_back(plan.nodes[chain[k]].outputs[0]);
    for (std::size_t k = 0; k < chain.size(); ++k) {
      const CompiledNode& node = plan.nodes[chain[k]];
      if (k > 0) fused.fused_readers.push_back(node.proto);
      for (const int slot : node.release_after) {
        if (std::find(inner.begin(), inner.end(), slot) == inner.end()) fused.release_after.push_back(slot);
      }
    }
    for (std::size_t k = 0; k + 1 < chain.size(); ++k) folded[chain[k]] = true;
    plan.nodes[chain.back()] = std::move(fused);
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
