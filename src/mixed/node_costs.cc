#include "mixed/node_costs.h"

#include <onnx_fp16/error.h>

#include <algorithm>
#include <set>

#include "convert/context.h"
#include "half/half.h"

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

// Multiply-accumulates of the contraction ops, from their input and output shapes (`input(i)`:
// input i's value or nullptr, `out`: the first output's); 0 when the op is not one or a shape
// is missing.
template <typename Input>
double multiply_accumulates(const onnx::NodeProto& node, const Input& input, const Tensor* out) {
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

// The node's FLOPs from its values: 2 per multiply-accumulate of a contraction, else one per
// output element (`output(j)`: output j's value or nullptr); at least 1.
template <typename Input, typename Output>
double flops_of(const onnx::NodeProto& node, const Input& input, const Output& output) {
  double flops = 2 * multiply_accumulates(node, input, output(0));
  if (flops == 0) {
    for (int j = 0; j < node.output_size(); ++j) {
      if (const Tensor* out = output(j)) flops += elements(out->shape());
    }
  }
  return std::max(flops, 1.0);
}

// Whether a node input is a float32 weight: an initializer, or a Constant node's output in
// exports that store weights so (paddle2onnx).
bool is_float32_weight(const ConversionAnalysis& analysis, graph::ValueId v) {
  const convert::Context& ctx = analysis.context();
  if (v == graph::kNone || !ctx.is_float32(v)) return false;
  const graph::Value& value = analysis.index().value(v);
  return value.kind == graph::ValueKind::Initializer ||
         (value.kind == graph::ValueKind::NodeOutput && convert::is_op(ctx.proto(value.producer), "Constant"));
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

std::vector<NodeCost> measure_node_costs(const ConversionAnalysis& analysis, const std::map<std::string, Tensor>& values,
                                         const SubgraphCensus* census) {
  const graph::GraphIndex& index = analysis.index();
  std::vector<NodeCost> costs = census != nullptr ? census->costs() : std::vector<NodeCost>(index.nodes().size());
  for (graph::NodeId n : index.scope(graph::GraphIndex::main_scope()).nodes) {
    const onnx::NodeProto& node = *index.node(n).proto;
    NodeCost& cost = costs[n];
    const auto named = [&](const std::string& name) { return value_of(values, name); };
    cost.flops = flops_of(
        node, [&](int i) { return i < node.input_size() ? named(node.input(i)) : nullptr; },
        [&](int j) { return j < node.output_size() ? named(node.output(j)) : nullptr; });
    cost.weight_bytes = 0;
    for (graph::ValueId v : index.node(n).inputs) {
      if (!is_float32_weight(analysis, v)) continue;
      if (const Tensor* weights = value_of(values, index.value(v).name)) cost.weight_bytes += 4 * elements(weights->shape());
    }
  }
  return costs;
}

SubgraphCensus::SubgraphCensus(const ConversionAnalysis& analysis, std::size_t samples) : analysis_(analysis) {
  const graph::GraphIndex& index = analysis.index();
  const std::size_t count = index.nodes().size();
  main_.assign(count, false);
  for (graph::NodeId n : index.scope(graph::GraphIndex::main_scope()).nodes) main_[n] = true;
  runs_.assign(count, 0);
  flops_.assign(samples, std::vector<double>(count, 0.0));
  weight_bytes_.assign(count, 0.0);
  taken_.assign(samples, std::vector<unsigned char>(count, 0));
}

std::optional<InlinedBranches> SubgraphCensus::taken_branches(std::size_t sample) const {
  const graph::GraphIndex& index = analysis_.index();
  const std::vector<unsigned char>& by_node = taken_.at(sample);
  InlinedBranches branches;
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(by_node.size()); ++n) {
    const unsigned char taken = by_node[n];
    if (taken == 0) continue;
    if (taken != kThen && taken != kElse) return std::nullopt;
    for (graph::ScopeId s : index.node(n).subgraphs) {
      if (index.scope(s).attribute == (taken == kThen ? "then_branch" : "else_branch")) branches[n] = s;
    }
    if (!branches.count(n)) return std::nullopt;
  }
  return branches;
}

std::vector<NodeCost> SubgraphCensus::costs() const {
  std::vector<NodeCost> costs(weight_bytes_.size());
  for (std::size_t n = 0; n < costs.size(); ++n) {
    for (const auto& by_node : flops_) costs[n].flops = std::max(costs[n].flops, by_node[n]);
    costs[n].weight_bytes = weight_bytes_[n];
  }
  return costs;
}

runtime::NodeHook SubgraphCensus::hook(std::size_t sample, const onnx::ModelProto& executed) {
  if (sample >= flops_.size()) throw Error("internal: a census sample out of range");
  if (indexed_.insert(&executed).second) {
    const graph::GraphIndex& index = analysis_.index();
    const graph::GraphIndex mirror(executed);
    if (mirror.nodes().size() != index.nodes().size()) {
      throw Error("internal: the evaluated model's nodes differ from the analysed model's");
    }
    for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index.nodes().size()); ++n) {
      if (mirror.node(n).proto->op_type() != index.node(n).proto->op_type()) {
        throw Error("internal: the evaluated model's node " + index.node_label(n) + " differs from the analysed model's");
      }
      if (!main_[n]) node_of_[mirror.node(n).proto] = n;
      if (!index.node(n).subgraphs.empty()) holder_of_[mirror.node(n).proto] = n;
    }
  }
  return [this, sample](const onnx::NodeProto& node, std::span<const Tensor* const> inputs, std::span<Tensor> outputs) {
    if (const auto it = node_of_.find(&node); it != node_of_.end()) record(it->second, sample, inputs, outputs);
    if (const auto it = holder_of_.find(&node); it != holder_of_.end()) {
      const Tensor* condition = inputs.empty() ? nullptr : inputs[0];
      const bool readable = node.op_type() == "If" && condition != nullptr && condition->defined() &&
                            condition->dtype() == onnx::TensorProto::BOOL && condition->size() == 1;
      taken_[sample][it->second] |= !readable ? kOther : condition->data<bool>()[0] ? kThen : kElse;
    }
  };
}

void SubgraphCensus::record(graph::NodeId n, std::size_t sample, std::span<const Tensor* const> inputs,
                            std::span<Tensor> outputs) {
  const onnx::NodeProto& node = *analysis_.index().node(n).proto;
  const auto input = [&](int i) {
    return i < static_cast<int>(inputs.size()) && inputs[i] != nullptr && inputs[i]->defined() ? inputs[i] : nullptr;
  };
  const auto output = [&](int j) {
    return j < static_cast<int>(outputs.size()) && outputs[j].defined() ? &outputs[j] : nullptr;
  };
  flops_[sample][n] += flops_of(node, input, output);
  const std::vector<graph::ValueId>& ports = analysis_.index().node(n).inputs;
  if (runs_[n]++ == 0) {  // weights are the same on every run
    for (std::size_t i = 0; i < ports.size() && i < inputs.size(); ++i) {
      if (input(static_cast<int>(i)) != nullptr && is_float32_weight(analysis_, ports[i])) {
        weight_bytes_[n] += 4 * elements(inputs[i]->shape());
      }
    }
  }
  for (std::size_t i = 0; i < ports.size() && i < inputs.size(); ++i) {
    if (input(static_cast<int>(i)) != nullptr) scan(analysis_.index().value(ports[i]).name, *inputs[i]);
  }
  const std::vector<graph::ValueId>& results = analysis_.index().node(n).outputs;
  for (std::size_t j = 0; j < results.size() && j < outputs.size(); ++j) {
    if (results[j] != graph::kNone && outputs[j].defined()) scan(analysis_.index().value(results[j]).name, outputs[j]);
  }
}

void SubgraphCensus::scan(const std::string& name, const Tensor& value) {
  if (value.dtype() != onnx::TensorProto::FLOAT || value.size() == 0) return;
  const void* storage = value.data<float>().data();
  auto [seen, first] = scanned_.try_emplace(name, storage);
  if (!first && seen->second == storage) return;  // the same tensor again (a weight, a loop's constant)
  seen->second = storage;
  const double largest = half::largest_finite_magnitude(value.data<float>());
  double& range = max_abs_[name];
  range = std::max(range, largest);
}

}  // namespace onnx_fp16::mixed
