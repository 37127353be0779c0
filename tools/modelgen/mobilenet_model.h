// A MobileNetV3-large-shaped CNN with random weights: the evaluator benchmark's depthwise model,
// the kind of network that runs at the edge (and the family that was 10x slower than ONNX
// Runtime before the depthwise kernel). The layers of torchvision's mobilenet_v3_large as its
// ONNX export at opset 13 writes them in eval mode: BatchNormalization folded into each Conv's
// bias, hardswish as x * HardSigmoid(x) (alpha 1/6, beta 0.5); a stem 3x3/2 Conv, 15 inverted
// residual blocks (1x1 expansion unless its width equals the input's, 3x3 or 5x5 depthwise Conv,
// squeeze-excitation in 8 of them: GlobalAveragePool, 1x1 Conv, Relu, 1x1 Conv, HardSigmoid,
// Mul; 1x1 projection; residual Add where the shape allows), a 1x1 Conv to 960 channels,
// GlobalAveragePool, Flatten, Gemm 960 -> 1280, hardswish, Gemm 1280 -> classes. About 5.5 M
// weights and 0.22 GMACs at 224x224.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace modelgen {

struct MobileNetSpec {
  int image_size = 224;
  int classes = 1000;
  std::uint64_t seed = 1;
};

// Input: image, float [batch, 3, size, size] (batch symbolic). Output: logits, float
// [batch, classes]. Opset 13. The same spec gives the same bytes.
onnx::ModelProto mobilenet_v3_large_model(const MobileNetSpec& spec = {});

}  // namespace modelgen
