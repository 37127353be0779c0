#include "modelgen/mobilenet_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {
namespace {

enum class Activation { Relu, HardSwish };

// One inverted residual block of torchvision's mobilenet_v3_large configuration.
struct Block {
  int kernel;
  int expanded;
  int out;
  bool squeeze_excite;
  Activation activation;
  int stride;
};

constexpr Activation RE = Activation::Relu;
constexpr Activation HS = Activation::HardSwish;
constexpr std::array<Block, 15> kBlocks = {{
    {3, 16, 16, false, RE, 1},   {3, 64, 24, false, RE, 2},   {3, 72, 24, false, RE, 1},
    {5, 72, 40, true, RE, 2},    {5, 120, 40, true, RE, 1},   {5, 120, 40, true, RE, 1},
    {3, 240, 80, false, HS, 2},  {3, 200, 80, false, HS, 1},  {3, 184, 80, false, HS, 1},
    {3, 184, 80, false, HS, 1},  {3, 480, 112, true, HS, 1},  {3, 672, 112, true, HS, 1},
    {5, 672, 160, true, HS, 2},  {5, 960, 160, true, HS, 1},  {5, 960, 160, true, HS, 1},
}};

// torchvision's _make_divisible(v, 8): the squeeze-excitation width.
int make_divisible(int v) {
  const int rounded = std::max(8, (v + 4) / 8 * 8);
  return rounded < 0.9 * v ? rounded + 8 : rounded;
}

// Writes the graph; each method returns the name of its output tensor.
class MobileNetWriter {
 public:
  MobileNetWriter(onnx::ModelProto& model, const MobileNetSpec& spec)
      : graph_(*model.mutable_graph()), builder_(&graph_), spec_(spec) {}

  void write() {
    builder_.input("image", onnx::TensorProto::FLOAT,
                   {std::string("batch"), std::int64_t{3}, std::int64_t{spec_.image_size}, std::int64_t{spec_.image_size}});
    std::string x = activation("stem", conv("stem", "image", 3, 16, 3, 2, 1), HS);
    int channels = 16;
    for (std::size_t i = 0; i < kBlocks.size(); ++i) {
      x = block("features." + std::to_string(i + 1), x, channels, kBlocks[i]);
      channels = kBlocks[i].out;
    }
    x = activation("last", conv("last", x, channels, 960, 1, 1, 1), HS);
    builder_.node("GlobalAveragePool", {x}, {"pool"}, "head/pool");
    auto& flatten = builder_.node("Flatten", {"pool"}, {"features"}, "head/flatten");
    attr_int(flatten, "axis", 1);
    x = activation("classifier.0", gemm("classifier.0", "features", 960, 1280), HS);
    gemm("classifier.3", x, 1280, spec_.classes, "logits");
    builder_.output("logits", onnx::TensorProto::FLOAT, {std::string("batch"), std::int64_t{spec_.classes}});
  }

 private:
  std::string block(const std::string& name, const std::string& input, int in_channels, const Block& b) {
    std::string x = input;
    if (b.expanded != in_channels) x = activation(name + ".expand", conv(name + ".expand", x, in_channels, b.expanded, 1, 1, 1), b.activation);
    x = activation(name + ".depthwise", conv(name + ".depthwise", x, b.expanded, b.expanded, b.kernel, b.stride, b.expanded),
                   b.activation);
    if (b.squeeze_excite) x = squeeze_excite(name + ".se", x, b.expanded);
    x = conv(name + ".project", x, b.expanded, b.out, 1, 1, 1);
    if (b.stride != 1 || in_channels != b.out) return x;
    builder_.node("Add", {x, input}, {name + ".add"}, name + "/add");
    return name + ".add";
  }

  std::string squeeze_excite(const std::string& name, const std::string& input, int channels) {
    const int squeezed = make_divisible(channels / 4);
    builder_.node("GlobalAveragePool", {input}, {name + ".pool"}, name + "/pool");
    std::string s = conv(name + ".fc1", name + ".pool", channels, squeezed, 1, 1, 1);
    builder_.node("Relu", {s}, {name + ".relu"}, name + "/relu");
    s = conv(name + ".fc2", name + ".relu", squeezed, channels, 1, 1, 1);
    auto& gate = builder_.node("HardSigmoid", {s}, {name + ".gate"}, name + "/gate");
    attr_float(gate, "alpha", 1.0f / 6.0f);
    attr_float(gate, "beta", 0.5f);
    builder_.node("Mul", {name + ".gate", input}, {name + ".out"}, name + "/scale");
    return name + ".out";
  }

  // Conv with bias (BatchNormalization folded), "same" padding.
  std::string conv(const std::string& name, const std::string& input, int in_channels, int out_channels, int kernel,
                   int stride, int group) {
    const int fan_in = in_channels / group * kernel * kernel;
    // He-style scale keeps activations of order one through the network's random weights.
    add_random_initializer(graph_, name + ".weight", {out_channels, in_channels / group, kernel, kernel},
                           std::sqrt(6.0f / static_cast<float>(fan_in)), spec_.seed);
    add_random_initializer(graph_, name + ".bias", {out_channels}, 0.05f, spec_.seed);
    auto& node = builder_.node("Conv", {input, name + ".weight", name + ".bias"}, {name + ".conv"}, name + "/conv");
    attr_ints(node, "kernel_shape", {kernel, kernel});
    attr_ints(node, "strides", {stride, stride});
    const int pad = kernel / 2;
    attr_ints(node, "pads", {pad, pad, pad, pad});
    if (group != 1) attr_int(node, "group", group);
    return name + ".conv";
  }

  std::string gemm(const std::string& name, const std::string& input, int in_features, int out_features,
                   const std::string& output = "") {
    add_random_initializer(graph_, name + ".weight", {out_features, in_features},
                           std::sqrt(3.0f / static_cast<float>(in_features)), spec_.seed);
    add_random_initializer(graph_, name + ".bias", {out_features}, 0.01f, spec_.seed);
    const std::string out = output.empty() ? name + ".gemm" : output;
    auto& node = builder_.node("Gemm", {input, name + ".weight", name + ".bias"}, {out}, name + "/gemm");
    attr_int(node, "transB", 1);
    return out;
  }

  // Relu, or hardswish as torch exports it at opset 13: x * HardSigmoid(x).
  std::string activation(const std::string& name, const std::string& input, Activation kind) {
    if (kind == Activation::Relu) {
      builder_.node("Relu", {input}, {name + ".relu"}, name + "/relu");
      return name + ".relu";
    }
    auto& gate = builder_.node("HardSigmoid", {input}, {name + ".hsig"}, name + "/hardsigmoid");
    attr_float(gate, "alpha", 1.0f / 6.0f);
    attr_float(gate, "beta", 0.5f);
    builder_.node("Mul", {input, name + ".hsig"}, {name + ".hswish"}, name + "/hardswish");
    return name + ".hswish";
  }

  onnx::GraphProto& graph_;
  GraphBuilder builder_;
  MobileNetSpec spec_;
};

}  // namespace

onnx::ModelProto mobilenet_v3_large_model(const MobileNetSpec& spec) {
  onnx::ModelProto model = make_model(13, 7);
  model.mutable_graph()->set_name("mobilenet_v3_large");
  model.set_doc_string("Synthetic MobileNetV3-large-shaped CNN: " + std::to_string(spec.image_size) + "x" +
                       std::to_string(spec.image_size) + " input, " + std::to_string(spec.classes) +
                       " classes, random weights");
  MobileNetWriter(model, spec).write();
  return model;
}

}  // namespace modelgen
