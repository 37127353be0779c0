// The bundled example model: what the README's first `onnx-fp16 convert` command converts.
// Small (about 230 KB of float32 weights) but mixed like real models: a convolutional stem,
// shape arithmetic on a symbolic batch, an attention block, a Resize whose scales must stay
// float32, and a head with integer outputs (TopK indices).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace modelgen {

// Input: image, float [batch, 3, 32, 32]. Outputs: logits float [batch, 10], feature_map float
// [batch, 64, 16, 16], top_scores float [batch, 3], top_classes int64 [batch, 3]. Opset 17.
// The same seed gives the same bytes.
onnx::ModelProto example_model(std::uint64_t seed = 17);

}  // namespace modelgen
