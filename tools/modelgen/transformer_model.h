// A BERT-like encoder (pre-LayerNorm, as GPT-2 and most recent encoders) sized to a target
// number of float32 weight bytes: the benchmark model for conversion throughput and memory.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace modelgen {

struct TransformerSpec {
  // Total float32 initializer bytes to aim for. The default is what the benchmark calls "1 GB".
  std::uint64_t weight_bytes = 1'000'000'000;
  // Zero means "chosen from weight_bytes" (see plan_transformer).
  int hidden_size = 0;
  int layers = 0;
  int vocab_size = 0;
  int head_size = 64;
  int max_positions = 512;
  std::uint64_t seed = 1;
};

// The resolved dimensions of a TransformerSpec.
struct TransformerShape {
  int hidden_size = 0;
  int heads = 0;
  int head_size = 0;
  int ffn_size = 0;  // 4 x hidden, as in BERT
  int layers = 0;
  int vocab_size = 0;
  int max_positions = 0;

  std::uint64_t weight_count() const;
  std::uint64_t weight_bytes() const { return weight_count() * sizeof(float); }
};

// Picks the dimensions: the widest hidden size of a BERT/GPT-like ladder for which 12 layers
// take at most 85% of the target, as many layers as fill those 85%, and a vocabulary that takes
// the rest, so the total lands within a fraction of a percent of the target (targets below
// about 250 KB cannot be met: one layer of width 64 plus a 256-word vocabulary is the minimum).
TransformerShape plan_transformer(const TransformerSpec& spec);

// BERT-base's dimensions: hidden 768, 12 layers, 12 heads of 64, FFN 3072, vocabulary 30522,
// 512 positions (about 110 M weights): the evaluator benchmark's encoder.
TransformerSpec bert_base_spec();

// Inputs: input_ids and attention_mask, int64 [batch, sequence]. Output: last_hidden_state,
// float [batch, sequence, hidden]. Opset 17 (LayerNormalization), Gelu written with Erf.
onnx::ModelProto transformer_model(const TransformerSpec& spec = {});

}  // namespace modelgen
