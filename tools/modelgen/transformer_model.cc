#include "modelgen/transformer_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {
namespace {

// Weights of one encoder layer: two LayerNorms, Q/K/V/output projections, a 4x FFN.
std::uint64_t layer_weight_count(std::uint64_t hidden) {
  return 12 * hidden * hidden + 13 * hidden;
}

int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

int pick_hidden_size(std::uint64_t layer_budget_bytes, int head_size) {
  static constexpr std::array<int, 14> ladder = {64, 128, 256, 384, 512, 768, 1024, 1280, 1600, 2048, 2560, 3072, 4096, 5120};
  int chosen = round_up(ladder.front(), head_size);
  for (int width : ladder) {
    const int hidden = round_up(width, head_size);
    if (12 * layer_weight_count(hidden) * sizeof(float) <= layer_budget_bytes) chosen = hidden;
  }
  return chosen;
}

// Names that read like an exporter's: "layers.3.attention.query.weight".
std::string layer_name(int layer, const std::string& what) { return "layers." + std::to_string(layer) + "." + what; }

// Builds the graph; one method per part of the network, each returning its output tensor name.
class EncoderWriter {
 public:
  EncoderWriter(onnx::ModelProto& model, const TransformerShape& shape, std::uint64_t seed)
      : graph_(*model.mutable_graph()), builder_(&graph_), shape_(shape), seed_(seed) {}

  void write() {
    builder_.input("input_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
    builder_.input("attention_mask", onnx::TensorProto::INT64, {"batch", "sequence"});
    shared_constants();
    std::string hidden = embeddings();
    mask_bias_ = attention_mask_bias();
    for (int layer = 0; layer < shape_.layers; ++layer) hidden = encoder_layer(layer, hidden);
    layer_norm("final_norm", hidden, "last_hidden_state");
    builder_.output("last_hidden_state", onnx::TensorProto::FLOAT, {"batch", "sequence", std::int64_t{shape_.hidden_size}});
  }

 private:
  // Constants every layer reads: one copy each, as exporters deduplicate them.
  void shared_constants() {
    const std::int64_t h = shape_.hidden_size;
    add_int64_initializer(graph_, "heads_shape", {4}, {0, 0, shape_.heads, shape_.head_size});
    add_int64_initializer(graph_, "hidden_shape", {3}, {0, 0, h});
    add_int64_initializer(graph_, "sequence_axis", {}, {1});
    add_int64_initializer(graph_, "zero_i64", {}, {0});
    add_int64_initializer(graph_, "one_i64", {}, {1});
    add_int64_initializer(graph_, "mask_axes", {2}, {1, 2});
    add_scalar_initializer(graph_, "one", 1.0f);
    add_scalar_initializer(graph_, "half", 0.5f);
    add_scalar_initializer(graph_, "sqrt_two", std::sqrt(2.0f));
    add_scalar_initializer(graph_, "sqrt_head_size", std::sqrt(static_cast<float>(shape_.head_size)));
    // -10000 rather than -inf or -1e9: BERT's value, and one that float16 can hold.
    add_scalar_initializer(graph_, "mask_fill", -10000.0f);
  }

  // Word embeddings gathered by id plus position embeddings gathered by Range(0, sequence).
  std::string embeddings() {
    const std::int64_t h = shape_.hidden_size;
    add_random_initializer(graph_, "embeddings.word.weight", {shape_.vocab_size, h}, 0.05f, seed_);
    add_random_initializer(graph_, "embeddings.position.weight", {shape_.max_positions, h}, 0.05f, seed_);
    builder_.node("Gather", {"embeddings.word.weight", "input_ids"}, {"embeddings.word"}, "embeddings/word_gather");
    builder_.node("Shape", {"input_ids"}, {"input_ids_shape"}, "embeddings/shape");
    builder_.node("Gather", {"input_ids_shape", "sequence_axis"}, {"sequence_length"}, "embeddings/sequence_length");
    builder_.node("Range", {"zero_i64", "sequence_length", "one_i64"}, {"position_ids"}, "embeddings/position_ids");
    builder_.node("Gather", {"embeddings.position.weight", "position_ids"}, {"embeddings.position"},
                  "embeddings/position_gather");
    builder_.node("Add", {"embeddings.word", "embeddings.position"}, {"embeddings.sum"}, "embeddings/add");
    return "embeddings.sum";
  }

  // (1 - mask) * -10000, shaped [batch, 1, 1, sequence] to broadcast over heads and queries.
  std::string attention_mask_bias() {
    auto& cast = builder_.node("Cast", {"attention_mask"}, {"mask.float"}, "mask/cast");
    attr_int(cast, "to", onnx::TensorProto::FLOAT);
    builder_.node("Sub", {"one", "mask.float"}, {"mask.inverted"}, "mask/invert");
    builder_.node("Mul", {"mask.inverted", "mask_fill"}, {"mask.bias"}, "mask/scale");
    builder_.node("Unsqueeze", {"mask.bias", "mask_axes"}, {"mask.bias4d"}, "mask/unsqueeze");
    return "mask.bias4d";
  }

  std::string encoder_layer(int layer, const std::string& input) {
    const std::string normed = layer_norm(layer_name(layer, "attention_norm"), input);
    const std::string attention = self_attention(layer, normed);
    const std::string residual = layer_name(layer, "attention_residual");
    builder_.node("Add", {input, attention}, {residual}, residual);
    const std::string ffn_in = layer_norm(layer_name(layer, "ffn_norm"), residual);
    const std::string ffn_out = feed_forward(layer, ffn_in);
    const std::string output = layer_name(layer, "output");
    builder_.node("Add", {residual, ffn_out}, {output}, output);
    return output;
  }

  std::string self_attention(int layer, const std::string& input) {
    const std::int64_t h = shape_.hidden_size;
    const std::string prefix = layer_name(layer, "attention.");
    const std::string q = split_heads(prefix + "query", linear(prefix + "query", input, h, h), {0, 2, 1, 3});
    const std::string k = split_heads(prefix + "key", linear(prefix + "key", input, h, h), {0, 2, 3, 1});
    const std::string v = split_heads(prefix + "value", linear(prefix + "value", input, h, h), {0, 2, 1, 3});
    builder_.node("MatMul", {q, k}, {prefix + "scores"}, prefix + "scores");
    builder_.node("Div", {prefix + "scores", "sqrt_head_size"}, {prefix + "scaled"}, prefix + "scale");
    builder_.node("Add", {prefix + "scaled", mask_bias_}, {prefix + "masked"}, prefix + "mask");
    auto& softmax = builder_.node("Softmax", {prefix + "masked"}, {prefix + "probs"}, prefix + "softmax");
    attr_int(softmax, "axis", -1);
    builder_.node("MatMul", {prefix + "probs", v}, {prefix + "context_heads"}, prefix + "context");
    auto& merge = builder_.node("Transpose", {prefix + "context_heads"}, {prefix + "context_t"}, prefix + "merge_transpose");
    attr_ints(merge, "perm", {0, 2, 1, 3});
    builder_.node("Reshape", {prefix + "context_t", "hidden_shape"}, {prefix + "context"}, prefix + "merge_reshape");
    return linear(prefix + "output", prefix + "context", h, h);
  }

  // [batch, sequence, hidden] -> [batch, sequence, heads, head_size] -> transposed by `perm`.
  std::string split_heads(const std::string& prefix, const std::string& input, const std::vector<std::int64_t>& perm) {
    builder_.node("Reshape", {input, "heads_shape"}, {prefix + ".heads"}, prefix + "/split_heads");
    auto& transpose = builder_.node("Transpose", {prefix + ".heads"}, {prefix + ".heads_t"}, prefix + "/transpose");
    attr_ints(transpose, "perm", perm);
    return prefix + ".heads_t";
  }

  std::string feed_forward(int layer, const std::string& input) {
    const std::string prefix = layer_name(layer, "ffn.");
    const std::string up = linear(prefix + "up", input, shape_.hidden_size, shape_.ffn_size);
    return linear(prefix + "down", gelu(prefix + "gelu", up), shape_.ffn_size, shape_.hidden_size);
  }

  // The exact Gelu as exporters write it before opset 20: x * (erf(x / sqrt 2) + 1) * 0.5.
  std::string gelu(const std::string& prefix, const std::string& x) {
    builder_.node("Div", {x, "sqrt_two"}, {prefix + ".div"}, prefix + "/div");
    builder_.node("Erf", {prefix + ".div"}, {prefix + ".erf"}, prefix + "/erf");
    builder_.node("Add", {prefix + ".erf", "one"}, {prefix + ".add"}, prefix + "/add");
    builder_.node("Mul", {x, prefix + ".add"}, {prefix + ".mul"}, prefix + "/mul");
    builder_.node("Mul", {prefix + ".mul", "half"}, {prefix}, prefix + "/mul_half");
    return prefix;
  }

  // MatMul by a [in, out] weight, then Add of a bias: how exporters write nn.Linear on 3-D input.
  std::string linear(const std::string& prefix, const std::string& input, std::int64_t in, std::int64_t out) {
    // Scale 1/sqrt(in) keeps activations of order one, like the usual initialisations.
    add_random_initializer(graph_, prefix + ".weight", {in, out}, 1.0f / std::sqrt(static_cast<float>(in)), seed_);
    add_random_initializer(graph_, prefix + ".bias", {out}, 0.02f, seed_);
    builder_.node("MatMul", {input, prefix + ".weight"}, {prefix + ".matmul"}, prefix + "/matmul");
    builder_.node("Add", {prefix + ".matmul", prefix + ".bias"}, {prefix + ".out"}, prefix + "/add");
    return prefix + ".out";
  }

  std::string layer_norm(const std::string& prefix, const std::string& input, const std::string& output = "") {
    const std::int64_t h = shape_.hidden_size;
    add_filled_initializer(graph_, prefix + ".weight", {h}, 1.0f);
    add_filled_initializer(graph_, prefix + ".bias", {h}, 0.0f);
    const std::string result = output.empty() ? prefix + ".out" : output;
    auto& node = builder_.node("LayerNormalization", {input, prefix + ".weight", prefix + ".bias"}, {result}, prefix);
    attr_int(node, "axis", -1);
    attr_float(node, "epsilon", 1e-5f);
    return result;
  }

  onnx::GraphProto& graph_;
  GraphBuilder builder_;
  TransformerShape shape_;
  std::uint64_t seed_;
  std::string mask_bias_;
};

}  // namespace

std::uint64_t TransformerShape::weight_count() const {
  const std::uint64_t h = hidden_size;
  const std::uint64_t embeddings = (static_cast<std::uint64_t>(vocab_size) + max_positions) * h;
  const std::uint64_t final_norm = 2 * h;
  return embeddings + layers * layer_weight_count(h) + final_norm;
}

TransformerShape plan_transformer(const TransformerSpec& spec) {
  TransformerShape shape;
  const std::uint64_t layer_budget = spec.weight_bytes / 100 * 85;
  shape.head_size = spec.head_size;
  shape.hidden_size = spec.hidden_size > 0 ? round_up(spec.hidden_size, spec.head_size)
                                           : pick_hidden_size(layer_budget, spec.head_size);
  shape.heads = shape.hidden_size / shape.head_size;
  shape.ffn_size = 4 * shape.hidden_size;
  shape.max_positions = spec.max_positions;
  const std::uint64_t layer_bytes = layer_weight_count(shape.hidden_size) * sizeof(float);
  shape.layers = spec.layers > 0 ? spec.layers : static_cast<int>(std::clamp<std::uint64_t>(layer_budget / layer_bytes, 1, 96));
  if (spec.vocab_size > 0) {
    shape.vocab_size = spec.vocab_size;
  } else {
    shape.vocab_size = 0;
    const std::uint64_t without_vocab = shape.weight_bytes();
    const std::uint64_t row_bytes = static_cast<std::uint64_t>(shape.hidden_size) * sizeof(float);
    const std::uint64_t rest = spec.weight_bytes > without_vocab ? spec.weight_bytes - without_vocab : 0;
    shape.vocab_size = static_cast<int>(std::clamp<std::uint64_t>(rest / row_bytes, 256, 4'000'000));
  }
  return shape;
}

TransformerSpec bert_base_spec() {
  TransformerSpec spec;
  spec.hidden_size = 768;
  spec.layers = 12;
  spec.vocab_size = 30522;
  spec.head_size = 64;
  spec.max_positions = 512;
  spec.weight_bytes = 0;  // every dimension is given
  return spec;
}

onnx::ModelProto transformer_model(const TransformerSpec& spec) {
  const TransformerShape shape = plan_transformer(spec);
  onnx::ModelProto model = make_model(17, 8);
  model.mutable_graph()->set_name("transformer_encoder");
  model.set_doc_string("Synthetic BERT-like encoder: hidden " + std::to_string(shape.hidden_size) + ", " +
                       std::to_string(shape.layers) + " layers, " + std::to_string(shape.heads) + " heads, vocabulary " +
                       std::to_string(shape.vocab_size));
  EncoderWriter(model, shape, spec.seed).write();
  return model;
}

}  // namespace modelgen
