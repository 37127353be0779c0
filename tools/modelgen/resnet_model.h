// A ResNet-50-shaped CNN with random weights: the evaluator benchmark's convolutional model.
// Stem (7x7/2 Conv, BatchNormalization, Relu, 3x3/2 MaxPool), bottleneck stages of [3, 4, 6, 3]
// blocks (1x1, 3x3, 1x1 Convs, each followed by BatchNormalization; Relu after the first two and
// after the residual Add; a projection shortcut in each stage's first block), GlobalAveragePool,
// Flatten and a Gemm classifier: the layer shapes and FLOPs of torchvision's resnet50 (about
// 25.6 M weights, 4.1 GMACs at 224x224), exported without BatchNormalization folding.
#pragma once

#include <onnx/onnx_pb.h>

#include <array>
#include <cstdint>

namespace modelgen {

struct ResNetSpec {
  int image_size = 224;
  int classes = 1000;
  std::uint64_t seed = 1;
  // Bottleneck blocks per stage: ResNet-50's by default; {2, 2, 2, 2} gives a ResNet-26 (the
  // mixed-precision benchmark's smaller CNN). The widths stay ResNet-50's.
  std::array<int, 4> stage_blocks = {3, 4, 6, 3};
};

// Input: image, float [batch, 3, size, size] (batch symbolic). Output: logits, float
// [batch, classes]. Opset 17. The same spec gives the same bytes.
onnx::ModelProto resnet50_model(const ResNetSpec& spec = {});

}  // namespace modelgen
