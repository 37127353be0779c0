// Type rules for the com.microsoft ops that ONNX Runtime's transformer optimizer produces.
// ONNX has no schemas for them; these tables come from their documented signatures (ONNX
// Runtime's ContribOperators.md): "T" is the float type that converts with the node; ports
// not listed (masks, ids, sequence lengths, float32-only statistics) keep their types.
#include "types/port_signature.h"

#include <string_view>

namespace onnx_fp16::types {

namespace {

const std::vector<BuiltinTypeRule>& rules() {
  static const std::vector<BuiltinTypeRule> table{
      // inputs: input, weights, bias, mask_index(M), past, attention_bias; outputs: output, present
      {"com.microsoft", "Attention", {0, 1, 2, 4, 5}, {0, 1}},
      // query, key, value, bias, key_padding_mask(M), attention_bias, past_key, past_value
      {"com.microsoft", "MultiHeadAttention", {0, 1, 2, 3, 5, 6, 7}, {0, 1, 2}},
      // input, skip, gamma, beta, bias; outputs: output, mean(U), inv_std_var(U), input_skip_bias_sum
      {"com.microsoft", "SkipLayerNormalization", {0, 1, 2, 3, 4}, {0, 3}},
      // input_ids, segment_ids (int32), word/position/segment embeddings, gamma, beta, mask, position_ids
      {"com.microsoft", "EmbedLayerNormalization", {2, 3, 4, 5, 6}, {0, 2}},
      {"com.microsoft", "FusedMatMul", {0, 1}, {0}},
      {"com.microsoft", "FastGelu", {0, 1}, {0}},
      {"com.microsoft", "BiasGelu", {0, 1}, {0}},
      {"com.microsoft", "Gelu", {0}, {0}},
      {"com.microsoft", "QuickGelu", {0}, {0}},
      {"com.microsoft", "BiasAdd", {0, 1, 2}, {0}},
      {"com.microsoft", "BiasSplitGelu", {0, 1}, {0}},
      // input, scale; outputs: output, inv_std_var(U stays float32)
      {"com.microsoft", "SimplifiedLayerNormalization", {0, 1}, {0}},
      // input, skip, gamma, bias; outputs: output, mean, inv_std_var, input_skip_bias_sum
      {"com.microsoft", "SkipSimplifiedLayerNormalization", {0, 1, 2, 3}, {0, 3}},
      // input, position_ids(M), cos_cache, sin_cache
      {"com.microsoft", "RotaryEmbedding", {0, 2, 3}, {0}},
      // query, key, value, past_key, past_value, seqlens_k(M), total_sequence_length(int32), cos, sin
      {"com.microsoft", "GroupQueryAttention", {0, 1, 2, 3, 4, 7, 8}, {0, 1, 2}},
      {"com.microsoft", "GemmFastGelu", {0, 1, 2}, {0}},
      {"com.microsoft", "NhwcConv", {0, 1, 2}, {0}},
  };
  return table;
}

}  // namespace

const std::vector<BuiltinTypeRule>& builtin_type_rules() { return rules(); }

const BuiltinTypeRule* find_builtin_rule(const std::string& domain, const std::string& op_type) {
  for (const auto& rule : rules()) {
    if (domain == rule.domain && op_type == rule.op_type) return &rule;
  }
  return nullptr;
}

}  // namespace onnx_fp16::types
