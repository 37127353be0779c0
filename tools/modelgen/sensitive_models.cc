#include "modelgen/sensitive_models.h"

#include <algorithm>
#include <stdexcept>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {
namespace {

int find_node(const onnx::GraphProto& graph, const std::string& name) {
  for (int i = 0; i < graph.node_size(); ++i) {
    if (graph.node(i).name() == name) return i;
  }
  throw std::invalid_argument("no node named '" + name + "' in the graph");
}

// Index of the node that writes `tensor`, or -1 for a graph input or initializer.
int producer_of(const onnx::GraphProto& graph, const std::string& tensor) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& outputs = graph.node(i).output();
    if (std::find(outputs.begin(), outputs.end(), tensor) != outputs.end()) return i;
  }
  for (const auto& input : graph.input()) {
    if (input.name() == tensor) return -1;
  }
  throw std::invalid_argument("no tensor named '" + tensor + "' in the graph");
}

// Replaces the node list by: nodes [0, at), `inserted`, nodes [at, end) (topological order
// kept when `inserted` reads only what [0, at) writes).
void insert_nodes(onnx::GraphProto& graph, int at, std::vector<onnx::NodeProto> inserted) {
  std::vector<onnx::NodeProto> nodes(graph.node().begin(), graph.node().end());
  nodes.insert(nodes.begin() + at, std::make_move_iterator(inserted.begin()), std::make_move_iterator(inserted.end()));
  graph.clear_node();
  for (auto& node : nodes) *graph.add_node() = std::move(node);
}

// Every reader of `from` (at index >= `first`) reads `to` instead.
void rewire_readers(onnx::GraphProto& graph, const std::string& from, const std::string& to, int first) {
  for (int i = first; i < graph.node_size(); ++i) {
    auto* node = graph.mutable_node(i);
    for (auto& input : *node->mutable_input()) {
      if (input == from) input = to;
    }
  }
  for (const auto& output : graph.output()) {
    if (output.name() == from) throw std::invalid_argument("cannot plant on graph output '" + from + "'");
  }
}

// Builds the region's nodes in a scratch graph (so GraphBuilder's attribute helpers apply),
// then moves them into place.
struct RegionNodes {
  onnx::GraphProto scratch;
  GraphBuilder builder{&scratch};
  std::vector<std::string> planted;

  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                        const std::string& name, bool must_keep) {
    if (must_keep) planted.push_back(name);
    return builder.node(op, inputs, {output}, name);
  }
  std::vector<onnx::NodeProto> take() { return {scratch.node().begin(), scratch.node().end()}; }
};

// Inserts `region` right after the writer of `tensor` and points the old readers at `result`.
void splice_after(onnx::GraphProto& graph, const std::string& tensor, RegionNodes& region, const std::string& result) {
  const int at = producer_of(graph, tensor) + 1;
  rewire_readers(graph, tensor, result, at);
  insert_nodes(graph, at, region.take());
}

}  // namespace

std::vector<std::string> plant_cube_normalization(onnx::ModelProto& model, const std::string& tensor,
                                                  const std::string& region, int channels) {
  onnx::GraphProto& graph = *model.mutable_graph();
  const std::string p = region + ".";
  add_scalar_initializer(graph, p + "gain", 24.0f);
  add_scalar_initializer(graph, p + "exponent", 3.0f);
  add_scalar_initializer(graph, p + "epsilon", 1.0f);
  add_scalar_initializer(graph, p + "rescale", static_cast<float>(channels) / 8.0f);
  add_int64_initializer(graph, p + "axes", {1}, {1});
  RegionNodes r;
  r.node("Mul", {tensor, p + "gain"}, p + "scaled", region + "/scale", false);
  r.node("Pow", {p + "scaled", p + "exponent"}, p + "cubed", "planted/" + region + "/pow", true);
  r.node("ReduceSum", {p + "cubed", p + "axes"}, p + "sum", "planted/" + region + "/sum", true);
  r.node("Add", {p + "sum", p + "epsilon"}, p + "sum_eps", "planted/" + region + "/epsilon", true);
  r.node("Div", {p + "cubed", p + "sum_eps"}, p + "share", "planted/" + region + "/normalize", true);
  r.node("Mul", {p + "share", p + "rescale"}, p + "rescaled", region + "/rescale", false);
  r.node("Add", {tensor, p + "rescaled"}, p + "out", region + "/residual", false);
  splice_after(graph, tensor, r, p + "out");
  return r.planted;
}

std::vector<std::string> plant_naive_softmax(onnx::ModelProto& model, const std::string& softmax_node,
                                             const std::string& region, float shift) {
  onnx::GraphProto& graph = *model.mutable_graph();
  const int at = find_node(graph, softmax_node);
  const onnx::NodeProto softmax = graph.node(at);
  if (softmax.op_type() != "Softmax") throw std::invalid_argument("'" + softmax_node + "' is not a Softmax");
  const std::string p = region + ".";
  add_scalar_initializer(graph, p + "shift", shift);
  add_int64_initializer(graph, p + "axes", {1}, {-1});
  RegionNodes r;
  r.node("Add", {softmax.input(0), p + "shift"}, p + "shifted", region + "/shift", false);
  r.node("Exp", {p + "shifted"}, p + "exp", "planted/" + region + "/exp", true);
  r.node("ReduceSum", {p + "exp", p + "axes"}, p + "sum", "planted/" + region + "/sum", true);
  r.node("Div", {p + "exp", p + "sum"}, softmax.output(0), "planted/" + region + "/normalize", true);
  std::vector<onnx::NodeProto> nodes(graph.node().begin(), graph.node().end());
  nodes.erase(nodes.begin() + at);
  graph.clear_node();
  for (auto& node : nodes) *graph.add_node() = std::move(node);
  insert_nodes(graph, at, r.take());
  return r.planted;
}

std::vector<std::string> plant_offset_cancellation(onnx::ModelProto& model, const std::string& tensor,
                                                   const std::string& region, float offset) {
  onnx::GraphProto& graph = *model.mutable_graph();
  const std::string p = region + ".";
  add_scalar_initializer(graph, p + "offset", offset);
  RegionNodes r;
  r.node("Add", {tensor, p + "offset"}, p + "shifted", "planted/" + region + "/add_offset", true);
  r.node("Sub", {p + "shifted", p + "offset"}, p + "out", "planted/" + region + "/sub_offset", true);
  splice_after(graph, tensor, r, p + "out");
  return r.planted;
}

std::vector<std::string> plant_offset_centering(onnx::ModelProto& model, const std::string& tensor,
                                                const std::string& region, float offset) {
  onnx::GraphProto& graph = *model.mutable_graph();
  const std::string p = region + ".";
  add_scalar_initializer(graph, p + "offset", offset);
  RegionNodes r;
  r.node("Add", {tensor, p + "offset"}, p + "shifted", "planted/" + region + "/add_offset", true);
  // The mean's own float16 rounding (up to 0.125 at 300) is the same for a whole row: a shift
  // that LayerNorm, and a pre-LayerNorm network's final LayerNorm, remove. So it may convert.
  auto& mean = r.node("ReduceMean", {p + "shifted"}, p + "mean", region + "/mean", false);
  attr_ints(mean, "axes", {-1});
  attr_int(mean, "keepdims", 1);
  r.node("Sub", {p + "shifted", p + "mean"}, p + "out", "planted/" + region + "/center", true);
  splice_after(graph, tensor, r, p + "out");
  return r.planted;
}

SensitiveModel sensitive_resnet_model(const ResNetSpec& spec) {
  SensitiveModel result{resnet50_model(spec), {}, {}};
  const std::string tensor = "layer2." + std::to_string(spec.stage_blocks[1] - 1) + ".out";
  result.planted = plant_cube_normalization(result.model, tensor, "cube_norm", 512);
  result.description = "cube normalisation (Pow 3, ReduceSum, Div; values up to ~1e7) after '" + tensor + "'";
  return result;
}

SensitiveModel sensitive_bert_model(const TransformerSpec& spec) {
  SensitiveModel result{transformer_model(spec), {}, {}};
  const int layers = plan_transformer(spec).layers;
  if (layers < 2) throw std::invalid_argument("sensitive_bert_model needs at least 2 layers");
  const int softmax_layer = layers / 2 - 1;
  const int cancel_layer = std::max(softmax_layer + 1, 3 * layers / 4 - 1);
  const std::string softmax = "layers." + std::to_string(softmax_layer) + ".attention.softmax";
  const std::string stream = "layers." + std::to_string(cancel_layer) + ".output";
  result.planted = plant_naive_softmax(result.model, softmax, "naive_softmax");
  for (auto& name : plant_offset_cancellation(result.model, stream, "offset_cancel")) result.planted.push_back(name);
  result.description = "naive softmax Exp(x + 13) / sum in '" + softmax + "'; (x + 512) - 512 on '" + stream + "'";
  return result;
}

SensitiveModel sensitive_gpt_model(const GptSpec& spec) {
  SensitiveModel result{gpt_model(spec), {}, {}};
  if (spec.layers < 2) throw std::invalid_argument("sensitive_gpt_model needs at least 2 layers");
  const std::string stream = "layers." + std::to_string(spec.layers / 2 - 1) + ".output";
  const std::string softmax = "layers." + std::to_string(spec.layers - 1) + ".attention.softmax";
  result.planted = plant_offset_centering(result.model, stream, "offset_center");
  for (auto& name : plant_naive_softmax(result.model, softmax, "naive_softmax")) result.planted.push_back(name);
  result.description = "x + 300 - mean(x + 300) on '" + stream + "'; naive softmax Exp(x + 13) / sum in '" + softmax + "'";
  return result;
}

}  // namespace modelgen
