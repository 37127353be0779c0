#include "runtime/plan_fusion.h"

#include <algorithm>
#include <string_view>
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

// The position of the node after `at` that reads its one output, if that node is an `op` of the
// default domain at opset `min_opset` or later and `at`'s output reaches nothing else
// (sole_link); plan.nodes.size() otherwise.
std::size_t sole_reader(const GraphPlan& plan, const std::vector<int>& reads, std::size_t at, std::string_view op,
                        int min_opset) {
  const CompiledNode& producer = plan.nodes[at];
  if (producer.outputs.size() != 1) return plan.nodes.size();
  const std::size_t r = reader_of(plan, producer.outputs[0], at + 1);
  if (r == plan.nodes.size()) return r;
  const CompiledNode& reader = plan.nodes[r];
  if (!in_default_domain(*reader.proto) || reader.proto->op_type() != op || reader.opset < min_opset) return plan.nodes.size();
  return sole_link(producer, reader, reads) == kNoSlot ? plan.nodes.size() : r;
}

// The node that replaces `chain` (each node the sole reader of the one before) at the last one's
// place: the first's proto (the kernel reads its attributes), `kernel` on `inputs`, the last's
// outputs, the others' protos in fused_readers, every node's releases but the values between
// them, which are never made.
CompiledNode fused_chain(const std::vector<const CompiledNode*>& chain, const Kernel& kernel, std::vector<int> inputs) {
  const CompiledNode& first = *chain.front();
  CompiledNode fused;
  fused.proto = first.proto;
  fused.label = first.label + " and ";
  for (std::size_t k = 1; k < chain.size(); ++k) {
    fused.fused_readers.push_back(chain[k]->proto);
    fused.label += chain[k]->label + ", ";
  }
  fused.label += "fused";
  fused.kernel = &kernel;
  fused.opset = first.opset;
  fused.inputs = std::move(inputs);
  fused.outputs = chain.back()->outputs;
  std::vector<int> between;
  for (std::size_t k = 0; k + 1 < chain.size(); ++k) between.push_back(chain[k]->outputs[0]);
  for (const CompiledNode* node : chain) {
    for (const int slot : node->release_after) {
      if (std::find(between.begin(), between.end(), slot) == between.end()) fused.release_after.push_back(slot);
    }
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
    const std::size_t m = sole_reader(plan, reads, a, "Mul", 7);
    if (m == plan.nodes.size()) continue;
    CompiledNode& mul = plan.nodes[m];
    const int gate = activation.outputs[0];
    if (mul.inputs != std::vector<int>{x, gate} && mul.inputs != std::vector<int>{gate, x}) continue;
    mul = fused_chain({&activation, &mul}, kGatedActivation, {x});
    folded[a] = true;
  }
  drop_folded(plan, folded);
}

void fuse_integer_conv_rescale(GraphPlan& plan) {
  const std::vector<int> reads = reads_per_slot(plan);
  std::vector<bool> folded(plan.nodes.size(), false);
  const std::size_t none = plan.nodes.size();
  // The input of a binary node that is not `slot` (slot must be exactly one of its two).
  auto other_operand = [](const CompiledNode& node, int slot) {
    if (node.inputs.size() != 2) return kNoSlot;
    if (node.inputs[0] == slot && node.inputs[1] != slot) return node.inputs[1];
    if (node.inputs[1] == slot && node.inputs[0] != slot) return node.inputs[0];
    return kNoSlot;
  };
  for (std::size_t p = 0; p < plan.nodes.size(); ++p) {
    const CompiledNode& conv = plan.nodes[p];
    if (!in_default_domain(*conv.proto) || conv.proto->op_type() != "ConvInteger") continue;
    const std::size_t c = sole_reader(plan, reads, p, "Cast", 1);
    if (c == none) continue;
    const auto& to = plan.nodes[c].proto->attribute();
    const bool to_float = std::any_of(to.begin(), to.end(), [](const onnx::AttributeProto& a) {
      return a.name() == "to" && a.i() == onnx::TensorProto::FLOAT;
    });
    if (!to_float) continue;
    const std::size_t m = sole_reader(plan, reads, c, "Mul", 7);
    if (m == none) continue;
    const int scale = other_operand(plan.nodes[m], plan.nodes[c].outputs[0]);
    if (scale == kNoSlot) continue;
    std::vector<std::size_t> chain = {p, c, m};
    int bias = kNoSlot;
    if (const std::size_t a = sole_reader(plan, reads, m, "Add", 7); a != none) {
      bias = other_operand(plan.nodes[a], plan.nodes[m].outputs[0]);
      if (bias != kNoSlot) chain.push_back(a);
    }
    const std::size_t r = sole_reader(plan, reads, chain.back(), "Relu", 6);
    const bool relu = r != none && plan.nodes[r].inputs == std::vector<int>{plan.nodes[chain.back()].outputs[0]};
    if (relu) chain.push_back(r);
    // The ConvInteger's inputs (padded to its four), then the scale and the bias.
    std::vector<int> inputs = conv.inputs;
    inputs.resize(4, kNoSlot);
    inputs.push_back(scale);
    inputs.push_back(bias);
    std::vector<const CompiledNode*> nodes;
    for (const std::size_t k : chain) nodes.push_back(&plan.nodes[k]);
    CompiledNode fused = fused_chain(nodes, relu ? kConvIntegerRescaleRelu : kConvIntegerRescale, std::move(inputs));
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
    if (kernel == nullptr || !in_default_domain(*producer.proto)) continue;
    const std::size_t r = sole_reader(plan, reads, p, "Relu", 1);
    if (r == plan.nodes.size()) continue;
    CompiledNode& relu = plan.nodes[r];
    if (relu.inputs != std::vector<int>{producer.outputs[0]}) continue;
    relu = fused_chain({&producer, &relu}, *kernel, producer.inputs);
    folded[p] = true;
  }
  drop_folded(plan, folded);
}

}  // namespace onnx_fp16::runtime
