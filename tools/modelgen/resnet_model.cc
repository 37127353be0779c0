#include "modelgen/resnet_model.h"

#include <array>
#include <cmath>
#include <string>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {
namespace {

// Writes the graph; each method returns the name of its output tensor.
class ResNetWriter {
 public:
  ResNetWriter(onnx::ModelProto& model, const ResNetSpec& spec)
      : graph_(*model.mutable_graph()), builder_(&graph_), spec_(spec) {}

  void write() {
    builder_.input("image", onnx::TensorProto::FLOAT,
                   {std::string("batch"), std::int64_t{3}, std::int64_t{spec_.image_size}, std::int64_t{spec_.image_size}});
    std::string x = conv_bn("stem", "image", 3, 64, 7, 2, true);
    auto& pool = builder_.node("MaxPool", {x}, {"stem.pool"}, "stem/pool");
    attr_ints(pool, "kernel_shape", {3, 3});
    attr_ints(pool, "strides", {2, 2});
    attr_ints(pool, "pads", {1, 1, 1, 1});
    x = "stem.pool";
    // torchvision's resnet50: bottleneck width per stage (blocks from the spec, [3, 4, 6, 3]
    // by default); output is 4x the width.
    static constexpr std::array<int, 4> widths = {64, 128, 256, 512};
    int channels = 64;
    for (int s = 0; s < 4; ++s) {
      for (int b = 0; b < spec_.stage_blocks[s]; ++b) {
        const int stride = (b == 0 && s > 0) ? 2 : 1;  // stride on the 3x3 conv, as in ResNet v1.5
        x = bottleneck("layer" + std::to_string(s + 1) + "." + std::to_string(b), x, channels, widths[s], stride);
        channels = 4 * widths[s];
      }
    }
    builder_.node("GlobalAveragePool", {x}, {"pool"}, "head/pool");
    auto& flatten = builder_.node("Flatten", {"pool"}, {"features"}, "head/flatten");
    attr_int(flatten, "axis", 1);
    add_random_initializer(graph_, "fc.weight", {spec_.classes, channels}, 1.0f / std::sqrt(static_cast<float>(channels)), spec_.seed);
    add_random_initializer(graph_, "fc.bias", {spec_.classes}, 0.01f, spec_.seed);
    auto& fc = builder_.node("Gemm", {"features", "fc.weight", "fc.bias"}, {"logits"}, "head/fc");
    attr_int(fc, "transB", 1);
    builder_.output("logits", onnx::TensorProto::FLOAT, {std::string("batch"), std::int64_t{spec_.classes}});
  }

 private:
  std::string bottleneck(const std::string& name, const std::string& input, int in_channels, int width, int stride) {
    std::string x = conv_bn(name + ".conv1", input, in_channels, width, 1, 1, true);
    x = conv_bn(name + ".conv2", x, width, width, 3, stride, true);
    x = conv_bn(name + ".conv3", x, width, 4 * width, 1, 1, false);
    std::string shortcut = input;
    if (stride != 1 || in_channels != 4 * width) shortcut = conv_bn(name + ".downsample", input, in_channels, 4 * width, 1, stride, false);
    builder_.node("Add", {x, shortcut}, {name + ".add"}, name + "/add");
    builder_.node("Relu", {name + ".add"}, {name + ".out"}, name + "/relu");
    return name + ".out";
  }

  // Conv (no bias, "same" padding) -> BatchNormalization [-> Relu].
  std::string conv_bn(const std::string& name, const std::string& input, int in_channels, int out_channels, int kernel,
                      int stride, bool relu) {
    // He-style scale keeps activations of order one through 50 layers of random weights.
    const float scale = std::sqrt(3.0f / static_cast<float>(in_channels * kernel * kernel));
    add_random_initializer(graph_, name + ".weight", {out_channels, in_channels, kernel, kernel}, scale, spec_.seed);
    auto& conv = builder_.node("Conv", {input, name + ".weight"}, {name + ".conv"}, name + "/conv");
    attr_ints(conv, "kernel_shape", {kernel, kernel});
    attr_ints(conv, "strides", {stride, stride});
    const int pad = kernel / 2;
    attr_ints(conv, "pads", {pad, pad, pad, pad});
    const std::int64_t c = out_channels;
    add_filled_initializer(graph_, name + ".bn.scale", {c}, 1.0f);
    add_random_initializer(graph_, name + ".bn.bias", {c}, 0.05f, spec_.seed);
    add_random_initializer(graph_, name + ".bn.mean", {c}, 0.05f, spec_.seed);
    add_filled_initializer(graph_, name + ".bn.var", {c}, 1.0f);
    const std::string bn = name + ".bn";
    auto& norm = builder_.node("BatchNormalization", {name + ".conv", bn + ".scale", bn + ".bias", bn + ".mean", bn + ".var"},
                               {bn}, name + "/bn");
    attr_float(norm, "epsilon", 1e-5f);
    if (!relu) return bn;
    builder_.node("Relu", {bn}, {name + ".relu"}, name + "/relu");
    return name + ".relu";
  }

  onnx::GraphProto& graph_;
  GraphBuilder builder_;
  ResNetSpec spec_;
};

}  // namespace

onnx::ModelProto resnet50_model(const ResNetSpec& spec) {
  onnx::ModelProto model = make_model(17, 8);
  model.mutable_graph()->set_name("resnet50");
  const auto& b = spec.stage_blocks;
  model.set_doc_string("Synthetic ResNet-50-shaped CNN: bottleneck stages [" + std::to_string(b[0]) + ", " +
                       std::to_string(b[1]) + ", " + std::to_string(b[2]) + ", " + std::to_string(b[3]) + "], " +
                       std::to_string(spec.image_size) + "x" + std::to_string(spec.image_size) + " input, " +
                       std::to_string(spec.classes) + " classes, random weights");
  ResNetWriter(model, spec).write();
  return model;
}

}  // namespace modelgen
