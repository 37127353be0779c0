#include "modelgen/quantized_unet_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {
namespace {

// A value, its channels and its spatial size (square maps throughout).
struct Map {
  std::string name;
  int channels = 0;
  int size = 0;
};

class QuantizedUNetWriter {
 public:
  QuantizedUNetWriter(onnx::ModelProto& model, const QuantizedUNetSpec& spec)
      : graph_(*model.mutable_graph()), builder_(&graph_), spec_(spec) {}

  void write() {
    const int size = spec_.image_size;
    if (size <= 0) throw std::invalid_argument("image size must be positive");
    const int mid = spec_.mid_channels;
    const int out = spec_.out_channels;
    builder_.input("image", onnx::TensorProto::FLOAT,
                   {std::int64_t{1}, std::int64_t{3}, std::int64_t{size}, std::int64_t{size}});
    // u2netp: six encoder stages (RSU7, 6, 5, 4, 4F, 4F) joined by 2x2 pooling, five decoder
    // stages fed by the stage below (upsampled) and the encoder's skip.
    const Map e1 = rsu("stage1", {"image", 3, size}, 7, mid, out);
    const Map e2 = rsu("stage2", pool("pool12", e1), 6, mid, out);
    const Map e3 = rsu("stage3", pool("pool23", e2), 5, mid, out);
    const Map e4 = rsu("stage4", pool("pool34", e3), 4, mid, out);
    const Map e5 = rsu_dilated("stage5", pool("pool45", e4), mid, out);
    const Map e6 = rsu_dilated("stage6", pool("pool56", e5), mid, out);
    const Map d5 = rsu_dilated("stage5d", concat("stage5d", upsample("stage6_up", e6, e5.size), e5), mid, out);
    const Map d4 = rsu("stage4d", concat("stage4d", upsample("stage5d_up", d5, e4.size), e4), 4, mid, out);
    const Map d3 = rsu("stage3d", concat("stage3d", upsample("stage4d_up", d4, e3.size), e3), 5, mid, out);
    const Map d2 = rsu("stage2d", concat("stage2d", upsample("stage3d_up", d3, e2.size), e2), 6, mid, out);
    const Map d1 = rsu("stage1d", concat("stage1d", upsample("stage2d_up", d2, e1.size), e1), 7, mid, out);
    // Side outputs: a 3x3 Conv to one channel from each decoder stage (and the bottom), upsampled
    // to the input's size; a 1x1 Conv fuses the six.
    std::vector<std::string> sides;
    int index = 1;
    for (const Map& stage : {d1, d2, d3, d4, d5, e6}) {
      const std::string name = "side" + std::to_string(index++);
      Map side = quantized_conv(name, stage, 1, 3, 1, false);
      if (side.size != size) side = upsample(name + "_up", side, size);
      sides.push_back(side.name);
    }
    auto& fuse = builder_.node("Concat", sides, {"sides"}, "fuse/concat");
    attr_int(fuse, "axis", 1);
    const Map fused = quantized_conv("outconv", {"sides", 6, size}, 1, 1, 1, false);
    builder_.node("Sigmoid", {fused.name}, {"mask"}, "outconv/sigmoid");
    builder_.output("mask", onnx::TensorProto::FLOAT, {std::int64_t{1}, std::int64_t{1}, std::int64_t{size}, std::int64_t{size}});
  }

 private:
  // RSU-L: an input Conv to `out` channels, then a small U-Net of `levels` levels over `mid`
  // channels (levels - 2 poolings, a dilated Conv at the bottom), its output added to the input
  // Conv's (the residual).
  Map rsu(const std::string& name, const Map& x, int levels, int mid, int out) {
    const Map hxin = quantized_conv(name + ".rebnconvin", x, out, 3, 1, true);
    std::vector<Map> encoder;
    Map hx = hxin;
    for (int level = 1; level < levels; ++level) {
      const Map e = quantized_conv(name + ".rebnconv" + std::to_string(level), hx, mid, 3, 1, true);
      encoder.push_back(e);
      hx = level + 1 < levels ? pool(name + ".pool" + std::to_string(level), e) : e;
    }
    Map d = quantized_conv(name + ".rebnconv" + std::to_string(levels), hx, mid, 3, 2, true);
    for (int level = levels - 1; level >= 1; --level) {
      const Map& skip = encoder[static_cast<std::size_t>(level - 1)];
      const std::string dname = name + ".rebnconv" + std::to_string(level) + "d";
      const Map up = d.size == skip.size ? d : upsample(dname + "_up", d, skip.size);
      d = quantized_conv(dname, concat(dname, up, skip), level == 1 ? out : mid, 3, 1, true);
    }
    return add(name + ".residual", d, hxin);
  }

  // RSU-4F: the same with dilations 1, 2, 4, 8 in place of pooling (the coarse stages).
  Map rsu_dilated(const std::string& name, const Map& x, int mid, int out) {
    const Map hxin = quantized_conv(name + ".rebnconvin", x, out, 3, 1, true);
    const Map h1 = quantized_conv(name + ".rebnconv1", hxin, mid, 3, 1, true);
    const Map h2 = quantized_conv(name + ".rebnconv2", h1, mid, 3, 2, true);
    const Map h3 = quantized_conv(name + ".rebnconv3", h2, mid, 3, 4, true);
    const Map h4 = quantized_conv(name + ".rebnconv4", h3, mid, 3, 8, true);
    const Map d3 = quantized_conv(name + ".rebnconv3d", concat(name + ".rebnconv3d", h4, h3), mid, 3, 4, true);
    const Map d2 = quantized_conv(name + ".rebnconv2d", concat(name + ".rebnconv2d", d3, h2), mid, 3, 2, true);
    const Map d1 = quantized_conv(name + ".rebnconv1d", concat(name + ".rebnconv1d", d2, h1), out, 3, 1, true);
    return add(name + ".residual", d1, hxin);
  }

  // A Conv (square kernel, stride 1, "same" padding at the given dilation) as quantize_dynamic
  // writes it, with the folded BatchNormalization's bias and, for REBNCONV, its Relu.
  Map quantized_conv(const std::string& name, const Map& x, int out, int kernel, int dilation, bool relu) {
    const int in = x.channels;
    builder_.node("DynamicQuantizeLinear", {x.name}, {name + ".x_q", name + ".x_scale", name + ".x_zero_point"},
                  name + "/quantize");
    const int fan_in = in * kernel * kernel;
    // Weights of He scale, quantized asymmetrically as the tool does for uint8: values spread
    // around a zero point near the middle of the range.
    const float weight_range = std::sqrt(6.0f / static_cast<float>(fan_in));
    const float weight_scale = 2.0f * weight_range / 255.0f;
    const int zero_point = 128 + static_cast<int>(seed_for(name, spec_.seed) % 9) - 4;
    add_uint8_weights(name + ".weight_q", {out, in, kernel, kernel}, zero_point);
    add_uint8_scalar(name + ".weight_zero_point", zero_point);
    add_scalar_initializer(graph_, name + ".weight_scale", weight_scale);
    add_random_initializer(graph_, name + ".bias", {out, 1, 1}, 0.05f, spec_.seed);
    auto& conv = builder_.node("ConvInteger", {name + ".x_q", name + ".weight_q", name + ".x_zero_point", name + ".weight_zero_point"},
                               {name + ".sums"}, name + "/conv_integer");
    const int pad = kernel / 2 * dilation;
    attr_ints(conv, "kernel_shape", {kernel, kernel});
    attr_ints(conv, "pads", {pad, pad, pad, pad});
    attr_ints(conv, "dilations", {dilation, dilation});
    auto& cast = builder_.node("Cast", {name + ".sums"}, {name + ".sums_float"}, name + "/cast");
    attr_int(cast, "to", onnx::TensorProto::FLOAT);
    builder_.node("Mul", {name + ".x_scale", name + ".weight_scale"}, {name + ".scale"}, name + "/scales");
    builder_.node("Mul", {name + ".sums_float", name + ".scale"}, {name + ".scaled"}, name + "/rescale");
    builder_.node("Add", {name + ".scaled", name + ".bias"}, {name + ".conv"}, name + "/bias");
    if (!relu) return {name + ".conv", out, x.size};
    builder_.node("Relu", {name + ".conv"}, {name + ".relu"}, name + "/relu");
    return {name + ".relu", out, x.size};
  }

  Map pool(const std::string& name, const Map& x) {
    auto& node = builder_.node("MaxPool", {x.name}, {name + ".out"}, name);
    attr_ints(node, "kernel_shape", {2, 2});
    attr_ints(node, "strides", {2, 2});
    attr_int(node, "ceil_mode", 1);
    return {name + ".out", x.channels, (x.size + 1) / 2};
  }

  // F.interpolate(x, size, mode="bilinear", align_corners=False) as torch exports it at opset 13.
  Map upsample(const std::string& name, const Map& x, int size) {
    add_int64_initializer(graph_, name + ".sizes", {4}, {1, x.channels, size, size});
    auto& node = builder_.node("Resize", {x.name, "", "", name + ".sizes"}, {name + ".out"}, name);
    attr_string(node, "mode", "linear");
    attr_string(node, "coordinate_transformation_mode", "pytorch_half_pixel");
    return {name + ".out", x.channels, size};
  }

  Map concat(const std::string& name, const Map& a, const Map& b) {
    auto& node = builder_.node("Concat", {a.name, b.name}, {name + ".cat"}, name + "/concat");
    attr_int(node, "axis", 1);
    return {name + ".cat", a.channels + b.channels, a.size};
  }

  Map add(const std::string& name, const Map& a, const Map& b) {
    builder_.node("Add", {a.name, b.name}, {name + ".out"}, name);
    return {name + ".out", a.channels, a.size};
  }

  void add_uint8_weights(const std::string& name, const std::vector<std::int64_t>& dims, int zero_point) {
    std::int64_t count = 1;
    for (const std::int64_t d : dims) count *= d;
    std::vector<float> spread(static_cast<std::size_t>(count));
    fill_uniform(spread, seed_for(name, spec_.seed), 127.0f);
    auto& tensor = *graph_.add_initializer();
    tensor.set_name(name);
    tensor.set_data_type(onnx::TensorProto::UINT8);
    for (const std::int64_t d : dims) tensor.add_dims(d);
    std::string& bytes = *tensor.mutable_raw_data();
    bytes.resize(spread.size());
    for (std::size_t i = 0; i < spread.size(); ++i) {
      bytes[i] = static_cast<char>(std::clamp(static_cast<int>(std::lround(spread[i])) + zero_point, 0, 255));
    }
  }

  void add_uint8_scalar(const std::string& name, int value) {
    auto& tensor = *graph_.add_initializer();
    tensor.set_name(name);
    tensor.set_data_type(onnx::TensorProto::UINT8);
    tensor.set_raw_data(std::string(1, static_cast<char>(value)));
  }

  onnx::GraphProto& graph_;
  GraphBuilder builder_;
  QuantizedUNetSpec spec_;
};

}  // namespace

onnx::ModelProto quantized_unet_model(const QuantizedUNetSpec& spec) {
  onnx::ModelProto model = make_model(13, 7);
  model.mutable_graph()->set_name("quantized_u2netp");
  model.set_doc_string("Synthetic dynamically quantized U2-Net (u2netp layout): " + std::to_string(spec.image_size) + "x" +
                       std::to_string(spec.image_size) + " input, random uint8 weights");
  QuantizedUNetWriter(model, spec).write();
  return model;
}

}  // namespace modelgen
