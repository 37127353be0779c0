// Models with a planted numerically sensitive region: what the mixed-precision benchmark
// (bench/mixed_bench.cc) asks the search to find. Each region is a few nodes that float16
// cannot run (an overflow or a catastrophic cancellation) inside a network that otherwise
// converts fine. The nodes that must stay float32 are named "planted/<region>/<what>"; the
// region's harmless helpers (a scale, a rescale, a residual Add) are named "<region>/<what>".
//
// The regions, each inserted into an existing model by rewiring the readers of one tensor:
// - cube normalisation: s = 24 x; c = s^3 (float32 values far above 65504); c / (ReduceSum(c)
//   + 1) over channels is a share in [0, 1], rescaled and added back to x. In float16 the cube
//   overflows to inf and the share becomes NaN.
// - naive softmax: Softmax(x) replaced by Exp(x + 13) / ReduceSum(Exp(x + 13)), which equals it
//   in exact arithmetic, but exp(13) = 4.4e5 overflows float16.
// - offset cancellation: (x + 512) - 512 gives x back in float32 (to 3e-5), but float16 holds
//   x + 512 only to the nearest 0.5.
// - offset centring: x + 300 minus its mean over the last axis (x's mean removed): the same
//   cancellation, the Add and the Sub must stay float32; the ReduceMean may convert (its
//   rounding shifts whole rows, which the LayerNorms that follow remove).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "modelgen/gpt_model.h"
#include "modelgen/resnet_model.h"
#include "modelgen/transformer_model.h"

namespace modelgen {

struct SensitiveModel {
  onnx::ModelProto model;
  std::vector<std::string> planted;  // names of the nodes that must stay float32 ("planted/...")
  std::string description;           // what was planted where, one line
};

// The planting primitives: each returns the names of its must-keep nodes, and throws
// std::invalid_argument when the tensor or node is not in the graph.
// Readers of `tensor` ([N, C, ...], nonnegative, e.g. after a Relu) read x + share x C / 8.
std::vector<std::string> plant_cube_normalization(onnx::ModelProto& model, const std::string& tensor,
                                                  const std::string& region, int channels);
// The Softmax node `softmax_node` (its axis must be the last) becomes Exp(x + shift) / sum.
std::vector<std::string> plant_naive_softmax(onnx::ModelProto& model, const std::string& softmax_node,
                                             const std::string& region, float shift = 13.0f);
// Readers of `tensor` read (tensor + offset) - offset.
std::vector<std::string> plant_offset_cancellation(onnx::ModelProto& model, const std::string& tensor,
                                                   const std::string& region, float offset = 512.0f);
// Readers of `tensor` read (tensor + offset) - ReduceMean(tensor + offset, last axis).
std::vector<std::string> plant_offset_centering(onnx::ModelProto& model, const std::string& tensor,
                                                const std::string& region, float offset = 300.0f);

// ResNet (spec.stage_blocks, e.g. {2, 2, 2, 2}) with a cube normalisation after stage 2.
SensitiveModel sensitive_resnet_model(const ResNetSpec& spec);
// BERT-shaped encoder with a naive softmax in the attention of layer layers/2 - 1 and an offset
// cancellation on the residual stream after layer 3 * layers / 4 - 1 (layers >= 2).
SensitiveModel sensitive_bert_model(const TransformerSpec& spec);
// GPT-shaped decoder with an offset centring on the residual stream after block layers/2 - 1
// and a naive softmax in the attention of the last block.
SensitiveModel sensitive_gpt_model(const GptSpec& spec);

}  // namespace modelgen
