#include "modelgen/gpt_model.h"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {
namespace {

std::string layer_name(int layer, const std::string& what) { return "layers." + std::to_string(layer) + "." + what; }

// Builds the graph; one method per part of the network, each returning its output tensor name.
class DecoderWriter {
 public:
  DecoderWriter(onnx::ModelProto& model, const GptSpec& spec)
      : graph_(*model.mutable_graph()), builder_(&graph_), spec_(spec), heads_(spec.hidden_size / spec.head_size) {}

  void write() {
    builder_.input("input_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
    shared_constants();
    std::string hidden = embeddings();
    causal_mask();
    for (int layer = 0; layer < spec_.layers; ++layer) hidden = block(layer, hidden);
    const std::string normed = layer_norm("final_norm", hidden);
    add_random_initializer(graph_, "lm_head.weight", {spec_.hidden_size, spec_.vocab_size},
                           1.0f / std::sqrt(static_cast<float>(spec_.hidden_size)), spec_.seed);
    builder_.node("MatMul", {normed, "lm_head.weight"}, {"logits"}, "lm_head/matmul");
    builder_.output("logits", onnx::TensorProto::FLOAT, {"batch", "sequence", std::int64_t{spec_.vocab_size}});
  }

 private:
  void shared_constants() {
    add_int64_initializer(graph_, "heads_shape", {4}, {0, 0, heads_, spec_.head_size});
    add_int64_initializer(graph_, "hidden_shape", {3}, {0, 0, spec_.hidden_size});
    add_int64_initializer(graph_, "zero_i64", {}, {0});
    add_int64_initializer(graph_, "one_i64", {}, {1});
    add_scalar_initializer(graph_, "one", 1.0f);
    add_scalar_initializer(graph_, "half", 0.5f);
    add_scalar_initializer(graph_, "gelu_cubic", 0.044715f);
    add_scalar_initializer(graph_, "gelu_scale", std::sqrt(2.0f / std::numbers::pi_v<float>));
    add_scalar_initializer(graph_, "three", 3.0f);
    add_scalar_initializer(graph_, "sqrt_head_size", std::sqrt(static_cast<float>(spec_.head_size)));
    add_scalar_initializer(graph_, "mask_fill", -10000.0f);
  }

  std::string embeddings() {
    const std::int64_t h = spec_.hidden_size;
    add_random_initializer(graph_, "embeddings.token.weight", {spec_.vocab_size, h}, 0.05f, spec_.seed);
    add_random_initializer(graph_, "embeddings.position.weight", {spec_.max_positions, h}, 0.05f, spec_.seed);
    builder_.node("Gather", {"embeddings.token.weight", "input_ids"}, {"embeddings.token"}, "embeddings/token_gather");
    // Shape with start=1: the sequence length as a 1-element tensor, for the mask's shape too.
    auto& shape = builder_.node("Shape", {"input_ids"}, {"sequence_length_1d"}, "embeddings/sequence_length");
    attr_int(shape, "start", 1);
    attr_int(shape, "end", 2);
    builder_.node("Squeeze", {"sequence_length_1d"}, {"sequence_length"}, "embeddings/sequence_scalar");
    builder_.node("Range", {"zero_i64", "sequence_length", "one_i64"}, {"position_ids"}, "embeddings/position_ids");
    builder_.node("Gather", {"embeddings.position.weight", "position_ids"}, {"embeddings.position"},
                  "embeddings/position_gather");
    builder_.node("Add", {"embeddings.token", "embeddings.position"}, {"embeddings.sum"}, "embeddings/add");
    return "embeddings.sum";
  }

  // [S, S] bool, true on and below the diagonal: where a query may look.
  void causal_mask() {
    auto& concat = builder_.node("Concat", {"sequence_length_1d", "sequence_length_1d"}, {"mask.shape"}, "mask/shape");
    attr_int(concat, "axis", 0);
    auto& fill = builder_.node("ConstantOfShape", {"mask.shape"}, {"mask.ones"}, "mask/ones");
    onnx::TensorProto value;
    value.set_data_type(onnx::TensorProto::BOOL);
    value.add_dims(1);
    value.add_int32_data(1);
    attr_tensor(fill, "value", value);
    auto& trilu = builder_.node("Trilu", {"mask.ones"}, {"mask.causal"}, "mask/trilu");
    attr_int(trilu, "upper", 0);
  }

  std::string block(int layer, const std::string& input) {
    const std::string attention = self_attention(layer, layer_norm(layer_name(layer, "attention_norm"), input));
    const std::string residual = layer_name(layer, "attention_residual");
    builder_.node("Add", {input, attention}, {residual}, residual);
    const std::string mlp = feed_forward(layer, layer_norm(layer_name(layer, "mlp_norm"), residual));
    const std::string output = layer_name(layer, "output");
    builder_.node("Add", {residual, mlp}, {output}, output);
    return output;
  }

  std::string self_attention(int layer, const std::string& input) {
    const std::int64_t h = spec_.hidden_size;
    const std::string prefix = layer_name(layer, "attention.");
    const std::string q = split_heads(prefix + "query", linear(prefix + "query", input, h, h), {0, 2, 1, 3});
    const std::string k = split_heads(prefix + "key", linear(prefix + "key", input, h, h), {0, 2, 3, 1});
    const std::string v = split_heads(prefix + "value", linear(prefix + "value", input, h, h), {0, 2, 1, 3});
    builder_.node("MatMul", {q, k}, {prefix + "scores"}, prefix + "scores");
    builder_.node("Div", {prefix + "scores", "sqrt_head_size"}, {prefix + "scaled"}, prefix + "scale");
    builder_.node("Where", {"mask.causal", prefix + "scaled", "mask_fill"}, {prefix + "masked"}, prefix + "mask");
    auto& softmax = builder_.node("Softmax", {prefix + "masked"}, {prefix + "probs"}, prefix + "softmax");
    attr_int(softmax, "axis", -1);
    builder_.node("MatMul", {prefix + "probs", v}, {prefix + "context_heads"}, prefix + "context");
    auto& merge = builder_.node("Transpose", {prefix + "context_heads"}, {prefix + "context_t"}, prefix + "merge_transpose");
    attr_ints(merge, "perm", {0, 2, 1, 3});
    builder_.node("Reshape", {prefix + "context_t", "hidden_shape"}, {prefix + "context"}, prefix + "merge_reshape");
    return linear(prefix + "output", prefix + "context", h, h);
  }

  std::string split_heads(const std::string& prefix, const std::string& input, const std::vector<std::int64_t>& perm) {
    builder_.node("Reshape", {input, "heads_shape"}, {prefix + ".heads"}, prefix + "/split_heads");
    auto& transpose = builder_.node("Transpose", {prefix + ".heads"}, {prefix + ".heads_t"}, prefix + "/transpose");
    attr_ints(transpose, "perm", perm);
    return prefix + ".heads_t";
  }

  std::string feed_forward(int layer, const std::string& input) {
    const std::string prefix = layer_name(layer, "mlp.");
    const int width = 4 * spec_.hidden_size;
    const std::string up = linear(prefix + "up", input, spec_.hidden_size, width);
    return linear(prefix + "down", gelu(prefix + "gelu", up), width, spec_.hidden_size);
  }

  // GPT-2's Gelu: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), as exported (Pow included).
  std::string gelu(const std::string& prefix, const std::string& x) {
    builder_.node("Pow", {x, "three"}, {prefix + ".cube"}, prefix + "/pow");
    builder_.node("Mul", {prefix + ".cube", "gelu_cubic"}, {prefix + ".cubic"}, prefix + "/mul_cubic");
    builder_.node("Add", {x, prefix + ".cubic"}, {prefix + ".inner"}, prefix + "/add_inner");
    builder_.node("Mul", {prefix + ".inner", "gelu_scale"}, {prefix + ".scaled"}, prefix + "/mul_scale");
    builder_.node("Tanh", {prefix + ".scaled"}, {prefix + ".tanh"}, prefix + "/tanh");
    builder_.node("Add", {prefix + ".tanh", "one"}, {prefix + ".plus_one"}, prefix + "/add_one");
    builder_.node("Mul", {x, prefix + ".plus_one"}, {prefix + ".mul"}, prefix + "/mul");
    builder_.node("Mul", {prefix + ".mul", "half"}, {prefix}, prefix + "/mul_half");
    return prefix;
  }

  std::string linear(const std::string& prefix, const std::string& input, std::int64_t in, std::int64_t out) {
    add_random_initializer(graph_, prefix + ".weight", {in, out}, 1.0f / std::sqrt(static_cast<float>(in)), spec_.seed);
    add_random_initializer(graph_, prefix + ".bias", {out}, 0.02f, spec_.seed);
    builder_.node("MatMul", {input, prefix + ".weight"}, {prefix + ".matmul"}, prefix + "/matmul");
    builder_.node("Add", {prefix + ".matmul", prefix + ".bias"}, {prefix + ".out"}, prefix + "/add");
    return prefix + ".out";
  }

  std::string layer_norm(const std::string& prefix, const std::string& input) {
    const std::int64_t h = spec_.hidden_size;
    add_filled_initializer(graph_, prefix + ".weight", {h}, 1.0f);
    add_filled_initializer(graph_, prefix + ".bias", {h}, 0.0f);
    const std::string result = prefix + ".out";
    auto& node = builder_.node("LayerNormalization", {input, prefix + ".weight", prefix + ".bias"}, {result}, prefix);
    attr_int(node, "axis", -1);
    attr_float(node, "epsilon", 1e-5f);
    return result;
  }

  onnx::GraphProto& graph_;
  GraphBuilder builder_;
  GptSpec spec_;
  std::int64_t heads_;
};

}  // namespace

onnx::ModelProto gpt_model(const GptSpec& spec) {
  if (spec.head_size <= 0 || spec.hidden_size % spec.head_size != 0) {
    throw std::invalid_argument("gpt_model: hidden_size must be a multiple of head_size");
  }
  onnx::ModelProto model = make_model(17, 8);
  model.mutable_graph()->set_name("gpt_decoder");
  model.set_doc_string("Synthetic GPT-2-shaped decoder: hidden " + std::to_string(spec.hidden_size) + ", " +
                       std::to_string(spec.layers) + " layers, " + std::to_string(spec.hidden_size / spec.head_size) +
                       " heads, vocabulary " + std::to_string(spec.vocab_size) + ", causal mask (Trilu + Where)");
  DecoderWriter(model, spec).write();
  return model;
}

}  // namespace modelgen
