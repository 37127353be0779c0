// A dynamically quantized U2-Net-shaped segmentation model (u2netp's layout) with random
// weights: the evaluator benchmark's quantized model, shaped as ONNX Runtime's
// quantize_dynamic writes a background-removal export. Every Conv is quantized the way that tool
// rewrites it: DynamicQuantizeLinear of the input (uint8, scale and zero point computed per run),
// ConvInteger with uint8 weights and their zero point, Cast of the int32 sums to float, Mul by
// (input scale x weight scale), Add of the bias, Relu (BatchNormalization folded). Around them the
// float ops of U2-Net: RSU blocks (an encoder of 3x3 convolutions with 2x2 MaxPool, ceil_mode,
// a dilated bottom, a decoder that upsamples with Resize (bilinear, pytorch_half_pixel) and
// concatenates the skip), residual Adds, six side outputs upsampled to the input's size, a 1x1
// fusion Conv and a Sigmoid: 960 nodes, 119 of them ConvInteger, 1.1 M weights, 19.8 G
// multiply-accumulates at 320x320 (u2netp at its default size).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace modelgen {

struct QuantizedUNetSpec {
  int image_size = 320;
  int mid_channels = 16;  // inside each RSU block
  int out_channels = 64;  // between blocks
  std::uint64_t seed = 1;
};

// Input: image, float [1, 3, size, size]. Output: mask, float
// [1, 1, size, size] in (0, 1). Opset 13. The same spec gives the same bytes.
onnx::ModelProto quantized_unet_model(const QuantizedUNetSpec& spec = {});

}  // namespace modelgen
