#include "modelgen/example_model.h"

#include <cmath>
#include <string>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {
namespace {

constexpr std::int64_t kImageSize = 32;
constexpr std::int64_t kTokenDim = 64;  // width of the attention block
constexpr std::int64_t kClasses = 10;

// Builds the graph stage by stage; each stage returns the name of its output tensor.
class ExampleWriter {
 public:
  ExampleWriter(onnx::ModelProto& model, std::uint64_t seed)
      : graph_(*model.mutable_graph()), builder_(&graph_), seed_(seed) {}

  void write() {
    builder_.input("image", onnx::TensorProto::FLOAT, {"batch", std::int64_t{3}, kImageSize, kImageSize});
    std::string x = conv_block("stem", "image", 3, 16, 1);  // [b, 16, 32, 32]
    auto& pool = builder_.node("MaxPool", {x}, {"stem.pooled"}, "stem/max_pool");
    attr_ints(pool, "kernel_shape", {2, 2});
    attr_ints(pool, "strides", {2, 2});
    x = conv_block("stage2", "stem.pooled", 16, 32, 2);      // [b, 32, 8, 8]
    x = to_tokens(x);                                         // [b, 64 tokens, 64]
    x = attention_block(x);
    x = to_feature_map(x);                                    // [b, 64, 16, 16]
    head(x);
  }

 private:
  // Conv 3x3 (with bias) -> BatchNormalization -> Relu.
  std::string conv_block(const std::string& name, const std::string& input, std::int64_t in, std::int64_t out,
                         std::int64_t stride) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(in * 9));
    add_random_initializer(graph_, name + ".conv.weight", {out, in, 3, 3}, scale, seed_);
    add_random_initializer(graph_, name + ".conv.bias", {out}, 0.05f, seed_);
    auto& conv = builder_.node("Conv", {input, name + ".conv.weight", name + ".conv.bias"}, {name + ".conv"}, name + "/conv");
    attr_ints(conv, "kernel_shape", {3, 3});
    attr_ints(conv, "pads", {1, 1, 1, 1});
    attr_ints(conv, "strides", {stride, stride});

    add_filled_initializer(graph_, name + ".bn.scale", {out}, 1.0f);
    add_random_initializer(graph_, name + ".bn.bias", {out}, 0.1f, seed_);
    add_random_initializer(graph_, name + ".bn.mean", {out}, 0.1f, seed_);
    add_filled_initializer(graph_, name + ".bn.var", {out}, 0.9f);
    auto& bn = builder_.node("BatchNormalization",
                             {name + ".conv", name + ".bn.scale", name + ".bn.bias", name + ".bn.mean", name + ".bn.var"},
                             {name + ".bn"}, name + "/batch_norm");
    attr_float(bn, "epsilon", 1e-5f);
    builder_.node("Relu", {name + ".bn"}, {name + ".relu"}, name + "/relu");
    return name + ".relu";
  }

  // [b, C, H, W] -> [b, C, H*W] with the target shape computed from Shape (so the batch stays
  // symbolic) -> [b, H*W, C] tokens -> projected to kTokenDim.
  std::string to_tokens(const std::string& input) {
    add_int64_initializer(graph_, "tokens.batch_index", {1}, {0});
    add_int64_initializer(graph_, "tokens.channel_index", {1}, {1});
    add_int64_initializer(graph_, "tokens.flatten_rest", {1}, {-1});
    builder_.node("Shape", {input}, {"tokens.input_shape"}, "tokens/shape");
    builder_.node("Gather", {"tokens.input_shape", "tokens.batch_index"}, {"tokens.batch"}, "tokens/batch");
    builder_.node("Gather", {"tokens.input_shape", "tokens.channel_index"}, {"tokens.channels"}, "tokens/channels");
    auto& concat = builder_.node("Concat", {"tokens.batch", "tokens.channels", "tokens.flatten_rest"},
                                 {"tokens.target_shape"}, "tokens/target_shape");
    attr_int(concat, "axis", 0);
    builder_.node("Reshape", {input, "tokens.target_shape"}, {"tokens.flat"}, "tokens/flatten");
    auto& transpose = builder_.node("Transpose", {"tokens.flat"}, {"tokens.sequence"}, "tokens/transpose");
    attr_ints(transpose, "perm", {0, 2, 1});
    return linear("tokens.project", "tokens.sequence", 32, kTokenDim);
  }

  // Pre-LayerNorm single-head self-attention and a Gelu FFN, both with residuals.
  std::string attention_block(const std::string& input) {
    const std::string normed = layer_norm("attention.norm", input);
    const std::string q = linear("attention.query", normed, kTokenDim, kTokenDim);
    const std::string k = linear("attention.key", normed, kTokenDim, kTokenDim);
    const std::string v = linear("attention.value", normed, kTokenDim, kTokenDim);
    auto& kt = builder_.node("Transpose", {k}, {"attention.key_t"}, "attention/key_transpose");
    attr_ints(kt, "perm", {0, 2, 1});
    builder_.node("MatMul", {q, "attention.key_t"}, {"attention.scores"}, "attention/scores");
    add_scalar_initializer(graph_, "attention.inv_sqrt_dim", 1.0f / std::sqrt(static_cast<float>(kTokenDim)));
    builder_.node("Mul", {"attention.scores", "attention.inv_sqrt_dim"}, {"attention.scaled"}, "attention/scale");
    auto& softmax = builder_.node("Softmax", {"attention.scaled"}, {"attention.probs"}, "attention/softmax");
    attr_int(softmax, "axis", -1);
    builder_.node("MatMul", {"attention.probs", v}, {"attention.context"}, "attention/context");
    const std::string projected = linear("attention.output", "attention.context", kTokenDim, kTokenDim);
    builder_.node("Add", {input, projected}, {"attention.residual"}, "attention/residual");

    const std::string ffn_in = layer_norm("ffn.norm", "attention.residual");
    const std::string up = linear("ffn.up", ffn_in, kTokenDim, 4 * kTokenDim);
    const std::string activated = gelu("ffn.gelu", up);
    const std::string down = linear("ffn.down", activated, 4 * kTokenDim, kTokenDim);
    builder_.node("Add", {"attention.residual", down}, {"ffn.residual"}, "ffn/residual");
    return "ffn.residual";
  }

  // Tokens back to an 8x8 map, then Resize x2 (linear). Resize's scales input is float32 in
  // every runtime: the converter must leave it so.
  std::string to_feature_map(const std::string& input) {
    auto& transpose = builder_.node("Transpose", {input}, {"map.channels_first"}, "map/transpose");
    attr_ints(transpose, "perm", {0, 2, 1});
    add_int64_initializer(graph_, "map.shape", {4}, {0, kTokenDim, 8, 8});
    builder_.node("Reshape", {"map.channels_first", "map.shape"}, {"map.small"}, "map/reshape");
    graph_.add_initializer()->CopyFrom(float_tensor("map.scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f}));
    auto& resize = builder_.node("Resize", {"map.small", "", "map.scales"}, {"feature_map"}, "map/resize");
    attr_string(resize, "mode", "linear");
    builder_.output("feature_map", onnx::TensorProto::FLOAT, {"batch", kTokenDim, std::int64_t{16}, std::int64_t{16}});
    return "feature_map";
  }

  // Global average pool (ReduceMean) -> classifier -> Softmax -> TopK(3).
  void head(const std::string& input) {
    auto& mean = builder_.node("ReduceMean", {input}, {"head.pooled"}, "head/global_pool");
    attr_ints(mean, "axes", {2, 3});
    attr_int(mean, "keepdims", 0);
    add_random_initializer(graph_, "head.weight", {kTokenDim, kClasses}, 0.125f, seed_);
    add_random_initializer(graph_, "head.bias", {kClasses}, 0.02f, seed_);
    auto& gemm = builder_.node("Gemm", {"head.pooled", "head.weight", "head.bias"}, {"logits"}, "head/classifier");
    attr_float(gemm, "alpha", 1.0f);
    builder_.node("Softmax", {"logits"}, {"head.probs"}, "head/softmax");
    add_int64_initializer(graph_, "head.k", {1}, {3});
    auto& topk = builder_.node("TopK", {"head.probs", "head.k"}, {"top_scores", "top_classes"}, "head/top_k");
    attr_int(topk, "axis", -1);
    builder_.output("logits", onnx::TensorProto::FLOAT, {"batch", kClasses});
    builder_.output("top_scores", onnx::TensorProto::FLOAT, {"batch", std::int64_t{3}});
    builder_.output("top_classes", onnx::TensorProto::INT64, {"batch", std::int64_t{3}});
  }

  std::string linear(const std::string& name, const std::string& input, std::int64_t in, std::int64_t out) {
    add_random_initializer(graph_, name + ".weight", {in, out}, 1.0f / std::sqrt(static_cast<float>(in)), seed_);
    add_random_initializer(graph_, name + ".bias", {out}, 0.02f, seed_);
    builder_.node("MatMul", {input, name + ".weight"}, {name + ".matmul"}, name + "/matmul");
    builder_.node("Add", {name + ".matmul", name + ".bias"}, {name + ".out"}, name + "/add");
    return name + ".out";
  }

  std::string layer_norm(const std::string& name, const std::string& input) {
    add_filled_initializer(graph_, name + ".weight", {kTokenDim}, 1.0f);
    add_filled_initializer(graph_, name + ".bias", {kTokenDim}, 0.0f);
    auto& node = builder_.node("LayerNormalization", {input, name + ".weight", name + ".bias"}, {name + ".out"}, name);
    attr_int(node, "axis", -1);
    attr_float(node, "epsilon", 1e-5f);
    return name + ".out";
  }

  // x * (erf(x / sqrt 2) + 1) * 0.5, with its own constants (this model has one Gelu).
  std::string gelu(const std::string& name, const std::string& x) {
    add_scalar_initializer(graph_, name + ".sqrt_two", std::sqrt(2.0f));
    add_scalar_initializer(graph_, name + ".one", 1.0f);
    add_scalar_initializer(graph_, name + ".half", 0.5f);
    builder_.node("Div", {x, name + ".sqrt_two"}, {name + ".div"}, name + "/div");
    builder_.node("Erf", {name + ".div"}, {name + ".erf"}, name + "/erf");
    builder_.node("Add", {name + ".erf", name + ".one"}, {name + ".add"}, name + "/add");
    builder_.node("Mul", {x, name + ".add"}, {name + ".mul"}, name + "/mul");
    builder_.node("Mul", {name + ".mul", name + ".half"}, {name + ".out"}, name + "/mul_half");
    return name + ".out";
  }

  onnx::GraphProto& graph_;
  GraphBuilder builder_;
  std::uint64_t seed_;
};

}  // namespace

onnx::ModelProto example_model(std::uint64_t seed) {
  onnx::ModelProto model = make_model(17, 8);
  model.mutable_graph()->set_name("example");
  model.set_doc_string("onnx-fp16 example: conv stem, attention block, Resize and TopK head");
  ExampleWriter(model, seed).write();
  return model;
}

}  // namespace modelgen
