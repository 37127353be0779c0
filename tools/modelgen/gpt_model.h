// A GPT-2-shaped decoder with random weights: the mixed-precision benchmark's causal model.
// Token and position embeddings, pre-LayerNorm blocks (causal self-attention, then an MLP of
// 4x the width with GPT-2's tanh Gelu), a final LayerNorm and an untied language-model head.
// The causal mask is built in the graph as exporters write it: ConstantOfShape of a [S, S] bool
// tensor, Trilu (lower), and Where choosing the scaled scores or -10000.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace modelgen {

struct GptSpec {
  int hidden_size = 256;
  int layers = 4;
  int head_size = 64;
  int vocab_size = 2048;
  int max_positions = 256;
  std::uint64_t seed = 1;
};

// Input: input_ids, int64 [batch, sequence] (sequence <= max_positions). Output: logits, float
// [batch, sequence, vocab]. Opset 17. Node names follow "layers.<i>.<part>" as in
// transformer_model; the residual stream after block i is the tensor "layers.<i>.output".
onnx::ModelProto gpt_model(const GptSpec& spec = {});

}  // namespace modelgen
