#include "mixed/node_costs.h"

#include <algorithm>
#include <set>

#include "convert/context.h"

namespace onnx_fp16::mixed {

namespace {

double elements(const Shape& shape) {
  double count = 1;
  for (const auto d : shape) count *= static_cast<double>(d);
  return count;
}

const Tensor* value_of(const std::map<std::string, Tensor>& values, const std::string& name) {
  if (name.empty()) return nullptr;
  auto it = values.find(name);
  return it == values.end() || !it->second.defined() ? nullptr : &it->second;
}

// Multiply-accumulates of the contraction ops, from their input and output shapes; 0 when the
// op is not one or a shape is missing.
double multiply_accumulates(const onnx::NodeProto& node, const std::map<std::string, Tensor>& values) {
  auto input = [&](int i) { return i < node.input_size() ? value_of(values, node.input(i)) : nullptr; };
  const Tensor* out = node.output_size() > 0 ? value_of(values, node.output(0)) : nullptr;
  const std::string& op = node.op_type();
  if (!is_contraction(op)) return 0;
  if (op == "MatMul" || op == "MatMulInteger" || op == "FusedMatMul" || op == "Gemm") {
    const Tensor* a = input(0);
    if (a == nullptr || out == nullptr || a->rank() == 0) return 0;
    double k = static_cast<double>(a->shape().back());
    if (op == "Gemm" && a->rank() == 2) {
      for (const auto& attr : node.attribute()) {
        if (attr.name() == "transA" && attr.i() != 0) k = static_cast<double>(a->shape()[0]);
      }
    }
    return elements(out->shape()) * k;
  }
  if (op == "Conv" || op == "ConvInteger" || op == "NhwcConv" || op == "QLinearConv") {
    const Tensor* w = input(op == "QLinearConv" ? 3 : 1);
    if (w == nullptr || out == nullptr || w->rank() == 0 || w->shape()[0] == 0) return 0;
    return elements(out->shape()) * elements(w->shape()) / static_cast<double>(w->shape()[0]);
  }
  if (op == "ConvTranspose") {
    const Tensor* x = input(0);
    const Tensor* w = input(1);
    if (x == nullptr || w == nullptr || w->rank() == 0 || w->shape()[0] == 0) return 0;
    return elements(x->shape()) * elements(w->shape()) / static_cast<double>(w->shape()[0]);
  }
  if (op == "LSTM" || op == "GRU" || op == "RNN") {
    const Tensor* x = input(0);
    const Tensor* w = input(1);
    const Tensor* r = input(2);
    if (x == nullptr || w == nullptr || r == nullptr || x->rank() < 2) return 0;
    return static_cast<double>(x->shape()[0]) * static_cast<double>(x->shape()[1]) *
           (elements(w->shape()) + elements(r->shape()));
  }
  return 0;
}

}  // namespace

bool is_contraction(const std::string& op_type) {
  static const std::set<std::string> kContractions{"MatMul", "MatMulInteger", "FusedMatMul", "Gemm",
                                                   "Conv",   "ConvInteger",   "NhwcConv",    "QLinearConv",
                                                   "ConvTranspose", "LSTM", "GRU", "RNN"};
  return kContractions.count(op_type) > 0;
}

std::vector<std::string> costed_value_names(const ConversionAnalysis& analysis) {
  std::set<std::string> names;
  for (const auto& node : analysis.model().graph().node()) {
    for (const auto& name : node.input()) {
      if (!name.empty()) names.insert(name);
    }
    for (const auto& name : node.output()) {
      if (!name.empty()) names.insert(name);
    }
  }
  return {names.begin(), names.end()};
}

std::vector<NodeCost> measure_node_costs(const ConversionAnalysis& analysis, const std::map<std::string, Tensor>& values) {
  const graph::GraphIndex& index = analysis.index();
  const convert::Context& ctx = analysis.context();
  std::vector<NodeCost> costs(index.nodes().size());
  for (graph::NodeId n : index.scope(graph::GraphIndex::main_scope()).nodes) {
    const onnx::NodeProto& node = *index.node(n).proto;
    NodeCost& cost = costs[n];
    cost.flops = 2 * multiply_accumulates(node, values);
    if (cost.flops == 0) {
      for (const auto& name : node.output()) {
        if (const Tensor* out = value_of(values, name)) cost.flops += elements(out->shape());
      }
    }
    cost.flops = std::max(cost.flops, 1.0);
    for (graph::ValueId v : index.node(n).inputs) {
      if (v == graph::kNone || !ctx.is_float32(v)) continue;
      // Weights are initializers, or Constant nodes in exports that store them so (paddle2onnx).
      const graph::Value& value = index.value(v);
      const bool weight = value.kind == graph::ValueKind::Initializer ||
                          (value.kind == graph::ValueKind::NodeOutput && convert::is_op(ctx.proto(value.producer), "Constant"));
      if (!weight) continue;
      if (const Tensor* weights = value_of(values, index.value(v).name)) cost.weight_bytes += 4 * elements(weights->shape());
    }
  }
  return costs;
}

}  // namespace onnx_fp16::mixed
