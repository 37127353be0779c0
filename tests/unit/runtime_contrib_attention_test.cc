// The com.microsoft attention family (Attention, MultiHeadAttention, GroupQueryAttention,
// RotaryEmbedding) and the fusions next to it (EmbedLayerNormalization, GemmFastGelu,
// BiasSplitGelu): one-node models with random inputs, the evaluator's float32 outputs against ONNX
// Runtime's CPU provider (rtol 1e-4). GemmFastGelu and BiasSplitGelu have no ORT CPU kernel: they are
// checked against the same computation written as ORT CPU nodes (MatMul + FastGelu; Add + Split +
// Gelu + Mul) and against values computed by hand. Each op also runs once in float16: its outputs
// must be the float32 outputs (on the same float16-rounded inputs) rounded once, and close to the
// unrounded float32 result.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/model_io.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "half/half.h"
#include "modelgen/builder.h"
#include "support/ort_client.h"
#include "support/paths.h"
#include "support/tensor_data.h"

namespace {

using onnx_fp16::Float16;
using onnx_fp16::Tensor;
using Shape = std::vector<std::int64_t>;
using Attributes = std::function<void(onnx::NodeProto&)>;
using TensorMap = std::map<std::string, Tensor>;
namespace half = onnx_fp16::half;

constexpr const char* kMs = "com.microsoft";

struct Input {
  std::string name;
  Tensor value;  // undefined: an omitted optional input
};

// ---- models -----------------------------------------------------------------------------------

onnx::ModelProto new_model() {
  auto model = modelgen::make_model(17);
  modelgen::add_opset(model, kMs, 1);
  return model;
}

void add_inputs(modelgen::GraphBuilder& g, const std::vector<Input>& inputs) {
  for (const auto& input : inputs) {
    if (!input.value.defined()) continue;
    const auto& s = input.value.shape();
    g.input(input.name, input.value.dtype(), std::vector<modelgen::Dim>(s.begin(), s.end()));
  }
}

onnx::ModelProto one_node(const std::string& op, const std::vector<Input>& inputs,
                          const std::vector<std::string>& outputs, const Attributes& attributes) {
  auto model = new_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  add_inputs(g, inputs);
  std::vector<std::string> names;
  for (const auto& input : inputs) names.push_back(input.value.defined() ? input.name : "");
  for (const auto& output : outputs) {
    if (!output.empty()) g.output_untyped(output);
  }
  auto& node = g.node(op, names, outputs, "n", kMs);
  if (attributes) attributes(node);
  return model;
}

TensorMap feeds_of(const std::vector<Input>& inputs) {
  TensorMap feeds;
  for (const auto& input : inputs) {
    if (input.value.defined()) feeds[input.name] = input.value;
  }
  return feeds;
}

TensorMap run_ours(const onnx::ModelProto& model, const TensorMap& feeds, int threads = 1) {
  return onnx_fp16::Evaluator(model, {.threads = threads, .keep = {}}).run(feeds);
}

// ORT's outputs by name; a failure (and an empty map) when ORT cannot run the model.
std::map<std::string, onnx::TensorProto> run_ort(const onnx::ModelProto& model, const TensorMap& feeds) {
  const auto dir = test_support::fresh_temp_dir("contrib_attention");
  const auto path = dir / "model.onnx";
  onnx_fp16::save_model(model, path);
  std::vector<onnx::TensorProto> protos;
  for (const auto& [name, tensor] : feeds) protos.push_back(tensor.to_proto(name));
  const auto result = test_support::OrtClient::shared().run(path, protos);
  std::map<std::string, onnx::TensorProto> outputs;
  if (!result.ok()) {
    ADD_FAILURE() << "ORT could not run the model: " << result.error;
    return outputs;
  }
  for (const auto& proto : result.outputs) outputs[proto.name()] = proto;
  return outputs;
}

Shape dims_of(const onnx::TensorProto& proto) { return {proto.dims().begin(), proto.dims().end()}; }

// max |ours - reference| over one output; a failure where |diff| > atol + rtol * |reference|.
double compare_values(const std::string& label, const Tensor& ours, const onnx::TensorProto& reference,
                      double rtol = 1e-4, double atol = 1e-5) {
  EXPECT_EQ(ours.shape(), dims_of(reference)) << label << ": shapes differ";
  if (ours.shape() != dims_of(reference)) return INFINITY;
  const auto a = test_support::to_doubles(ours.to_proto());
  const auto e = test_support::to_doubles(reference);
  double max_diff = 0;
  int reported = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(a[i] - e[i]);
    if (!(diff <= atol + rtol * std::fabs(e[i]))) {
      if (reported++ < 5) ADD_FAILURE() << label << "[" << i << "]: ours " << a[i] << ", reference " << e[i];
    }
    max_diff = std::max(max_diff, std::isnan(diff) ? INFINITY : diff);
  }
  return max_diff;
}

// Runs the node in the evaluator and in ORT and compares every output; returns our outputs.
TensorMap expect_matches_ort(const std::string& label, const std::string& op, const std::vector<Input>& inputs,
                             const std::vector<std::string>& outputs, const Attributes& attributes = {}) {
  const auto model = one_node(op, inputs, outputs, attributes);
  const auto feeds = feeds_of(inputs);
  const TensorMap ours = run_ours(model, feeds);
  const auto ort = run_ort(model, feeds);
  if (ort.empty()) return ours;
  for (const auto& name : outputs) {
    if (name.empty()) continue;
    const double diff = compare_values(label + "/" + name, ours.at(name), ort.at(name));
    std::printf("[ort] %-40s %-14s max |diff| %.3g\n", label.c_str(), name.c_str(), diff);
  }
  // Threads must not change results.
  const TensorMap threaded = run_ours(model, feeds, 4);
  for (const auto& name : outputs) {
    if (!name.empty()) {
      EXPECT_EQ(threaded.at(name).to_proto().raw_data(), ours.at(name).to_proto().raw_data()) << name;
    }
  }
  return ours;
}

// ---- values -----------------------------------------------------------------------------------

std::size_t count_of(const Shape& shape) {
  std::size_t n = 1;
  for (const auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

Tensor random_floats(const Shape& shape, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> values(count_of(shape));
  for (auto& v : values) v = dist(gen);
  return Tensor::from_vector<float>(shape, values);
}

Tensor ints32(const Shape& shape, const std::vector<std::int32_t>& values) {
  return Tensor::from_vector<std::int32_t>(shape, values);
}
Tensor ints64(const Shape& shape, const std::vector<std::int64_t>& values) {
  return Tensor::from_vector<std::int64_t>(shape, values);
}

Tensor to_half(const Tensor& t) {
  if (t.dtype() != onnx::TensorProto::FLOAT) return t;
  Tensor out = Tensor::uninitialized(onnx::TensorProto::FLOAT16, t.shape());
  auto dst = out.mutable_data<Float16>();
  const auto src = t.data<float>();
  for (std::size_t i = 0; i < src.size(); ++i) dst[i].bits = half::float_to_half(src[i]);
  return out;
}

Tensor half_to_float(const Tensor& t) {
  if (t.dtype() != onnx::TensorProto::FLOAT16) return t;
  std::vector<float> values;
  for (const auto v : t.data<Float16>()) values.push_back(half::half_to_float(v.bits));
  return Tensor::from_vector<float>(t.shape(), values);
}

std::vector<float> floats_of(const Tensor& t) {
  const Tensor f = half_to_float(t);
  const auto data = f.data<float>();
  return {data.begin(), data.end()};
}

// The node in float16: every float output must be the float32 run's output on the same
// (float16-rounded) inputs, rounded once, and close to the float32 run on the unrounded inputs.
void expect_float16_contract(const std::string& op, const std::vector<Input>& inputs,
                             const std::vector<std::string>& outputs, const Attributes& attributes = {},
                             double closeness = 1e-2) {
  std::vector<Input> halves, rounded;
  for (const auto& input : inputs) {
    const Tensor h = input.value.defined() ? to_half(input.value) : Tensor{};
    halves.push_back({input.name, h});
    rounded.push_back({input.name, input.value.defined() ? half_to_float(h) : Tensor{}});
  }
  const TensorMap f16 = run_ours(one_node(op, halves, outputs, attributes), feeds_of(halves));
  const TensorMap f32_rounded = run_ours(one_node(op, rounded, outputs, attributes), feeds_of(rounded));
  const TensorMap f32 = run_ours(one_node(op, inputs, outputs, attributes), feeds_of(inputs));
  for (const auto& name : outputs) {
    if (name.empty()) continue;
    const Tensor& h = f16.at(name);
    if (f32.at(name).dtype() != onnx::TensorProto::FLOAT) {
      EXPECT_EQ(h.to_proto().raw_data(), f32_rounded.at(name).to_proto().raw_data()) << name;
      continue;
    }
    ASSERT_EQ(h.dtype(), onnx::TensorProto::FLOAT16) << name;
    const auto got = h.data<Float16>();
    const auto once = f32_rounded.at(name).data<float>();
    const auto exact = f32.at(name).data<float>();
    ASSERT_EQ(got.size(), exact.size());
    std::size_t not_once = 0;
    double max_diff = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i].bits != half::float_to_half(once[i])) ++not_once;
      const double diff = std::fabs(half::half_to_float(got[i].bits) - exact[i]);
      max_diff = std::max(max_diff, diff);
      EXPECT_LE(diff, closeness * (1 + std::fabs(exact[i]))) << name << "[" << i << "]";
    }
    EXPECT_EQ(not_once, 0u) << name << ": float16 outputs that are not the float32 result rounded once";
    std::printf("[fp16] %-20s %-14s max |fp16 - fp32| %.3g\n", op.c_str(), name.c_str(), max_diff);
  }
}

void expect_error(const std::string& op, const std::vector<Input>& inputs, const std::vector<std::string>& outputs,
                  const Attributes& attributes, const std::vector<std::string>& fragments) {
  try {
    run_ours(one_node(op, inputs, outputs, attributes), feeds_of(inputs));
    ADD_FAILURE() << op << ": expected an error mentioning " << fragments.front();
  } catch (const std::exception& e) {
    const std::string message = e.what();
    for (const auto& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos) << "'" << message << "' lacks '" << fragment << "'";
    }
  }
}

Attributes ints_attrs(std::map<std::string, std::int64_t> ints, std::map<std::string, float> floats = {}) {
  return [ints, floats](onnx::NodeProto& node) {
    for (const auto& [name, value] : ints) modelgen::attr_int(node, name, value);
    for (const auto& [name, value] : floats) modelgen::attr_float(node, name, value);
  };
}

// Tests that compare with ONNX Runtime skip where it is not installed; the rest
// (RuntimeContribAttentionAlone: float16 rounding, refusals) always run.
class RuntimeContribAttention : public testing::Test {
 protected:
  void SetUp() override { ONNX_FP16_REQUIRE_ORT_OR_SKIP(); }
};

// ---- Attention --------------------------------------------------------------------------------

// batch 2, sequence 4, input hidden 8, 2 heads of 4.
std::vector<Input> attention_inputs(const Tensor& mask, const Tensor& past = {}, const Tensor& attention_bias = {}) {
  return {{"input", random_floats({2, 4, 8}, 1)},
          {"weights", random_floats({8, 24}, 2, 0.5f)},
          {"bias", random_floats({24}, 3, 0.2f)},
          {"mask_index", mask},
          {"past", past},
          {"attention_bias", attention_bias}};
}

TEST_F(RuntimeContribAttention, AttentionRawMaskMatchesOrt) {
  const Tensor mask = ints32({2, 4}, {1, 1, 0, 1, 1, 1, 1, 0});
  const auto ours = expect_matches_ort("Attention raw 2-D mask", "Attention", attention_inputs(mask), {"output"},
                                       ints_attrs({{"num_heads", 2}}));
  // The mask matters: without it the output differs.
  const auto unmasked =
      run_ours(one_node("Attention", attention_inputs({}), {"output"}, ints_attrs({{"num_heads", 2}})),
               feeds_of(attention_inputs({})));
  EXPECT_NE(floats_of(ours.at("output")), floats_of(unmasked.at("output")));
}

TEST_F(RuntimeContribAttention, AttentionKeyLengthsUnidirectionalMatchesOrt) {
  expect_matches_ort("Attention 1-D lengths, causal", "Attention", attention_inputs(ints32({2}, {3, 2})), {"output"},
                     ints_attrs({{"num_heads", 2}, {"unidirectional", 1}}));
  expect_matches_ort("Attention 1-D lengths", "Attention", attention_inputs(ints32({2}, {3, 2})), {"output"},
                     ints_attrs({{"num_heads", 2}}));
  expect_matches_ort("Attention causal, no mask", "Attention", attention_inputs({}), {"output"},
                     ints_attrs({{"num_heads", 2}, {"unidirectional", 1}}));
}

TEST_F(RuntimeContribAttention, AttentionPastPresentMatchesOrt) {
  // past of 3 positions: total 7; a 2-D mask over all 7 keys.
  const Tensor past = random_floats({2, 2, 2, 3, 4}, 4);
  const Tensor mask = ints32({2, 7}, {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0});
  const auto ours = expect_matches_ort("Attention past/present causal", "Attention", attention_inputs(mask, past),
                                       {"output", "present"}, ints_attrs({{"num_heads", 2}, {"unidirectional", 1}}));
  EXPECT_EQ(ours.at("present").shape(), (Shape{2, 2, 2, 7, 4}));
  expect_matches_ort("Attention past/present", "Attention", attention_inputs({}, past), {"output", "present"},
                     ints_attrs({{"num_heads", 2}}));
}

TEST_F(RuntimeContribAttention, AttentionBiasScaleAndHiddenSizesMatchOrt) {
  const Tensor attention_bias = random_floats({1, 2, 4, 4}, 5);
  expect_matches_ort("Attention attention_bias, scale", "Attention", attention_inputs({}, {}, attention_bias),
                     {"output"}, ints_attrs({{"num_heads", 2}}, {{"scale", 0.3f}}));
  // Q and K of 8, V of 12 (3 per head).
  std::vector<Input> inputs = {{"input", random_floats({2, 3, 8}, 6)},
                               {"weights", random_floats({8, 28}, 7, 0.5f)},
                               {"bias", random_floats({28}, 8, 0.2f)}};
  expect_matches_ort("Attention qkv_hidden_sizes", "Attention", inputs, {"output"}, [](onnx::NodeProto& node) {
    modelgen::attr_int(node, "num_heads", 2);
    modelgen::attr_ints(node, "qkv_hidden_sizes", {8, 8, 12});
  });
}

TEST(RuntimeContribAttentionAlone, AttentionFloat16IsFloat32RoundedOnce) {
  expect_float16_contract(
      "Attention",
      attention_inputs(ints32({2, 7}, std::vector<std::int32_t>(14, 1)), random_floats({2, 2, 2, 3, 4}, 4)),
      {"output", "present"}, ints_attrs({{"num_heads", 2}, {"unidirectional", 1}}));
}

TEST(RuntimeContribAttentionAlone, AttentionRefusesWhatItDoesNotImplement) {
  expect_error("Attention", attention_inputs({}), {"output"}, ints_attrs({{"num_heads", 2}, {"do_rotary", 1}}),
               {"do_rotary", "'n'"});
  expect_error("Attention", attention_inputs({}), {"output"},
               ints_attrs({{"num_heads", 2}, {"past_present_share_buffer", 1}}), {"past_present_share_buffer"});
  expect_error("Attention", attention_inputs(ints32({2, 1, 4, 4}, std::vector<std::int32_t>(32, 1))), {"output"},
               ints_attrs({{"num_heads", 2}}), {"mask_index", "not supported"});
}

// ---- MultiHeadAttention -----------------------------------------------------------------------

// batch 2, query sequence 3, key/value sequence 5, 2 heads of 4 (values 2 heads of 3).
std::vector<Input> mha_inputs(const Tensor& mask, const Tensor& attention_bias = {}, const Tensor& past_key = {},
                              const Tensor& past_value = {}, std::int64_t kv_seq = 5, std::int64_t v_hidden = 6) {
  return {{"query", random_floats({2, 3, 8}, 11)},
          {"key", random_floats({2, kv_seq, 8}, 12)},
          {"value", random_floats({2, kv_seq, v_hidden}, 13)},
          {"bias", random_floats({16 + v_hidden}, 14, 0.2f)},
          {"key_padding_mask", mask},
          {"attention_bias", attention_bias},
          {"past_key", past_key},
          {"past_value", past_value}};
}

TEST_F(RuntimeContribAttention, MultiHeadAttentionCrossWithMasksMatchesOrt) {
  expect_matches_ort("MHA cross, 2-D mask", "MultiHeadAttention",
                     mha_inputs(ints32({2, 5}, {1, 1, 1, 0, 0, 1, 0, 1, 1, 1})), {"output"},
                     ints_attrs({{"num_heads", 2}}));
  expect_matches_ort("MHA cross, 1-D lengths, bias", "MultiHeadAttention",
                     mha_inputs(ints32({2}, {4, 2}), random_floats({2, 1, 3, 5}, 15)), {"output"},
                     ints_attrs({{"num_heads", 2}}, {{"scale", 0.5f}}));
  expect_matches_ort("MHA cross, 3-D mask", "MultiHeadAttention",
                     mha_inputs(ints32({2, 3, 5}, {1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0,
                                                   0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1})),
                     {"output"}, ints_attrs({{"num_heads", 2}}));
}

TEST_F(RuntimeContribAttention, MultiHeadAttentionPastPresentMatchesOrt) {
  // Self attention with a cache: 3 new positions after 2 past ones.
  const Tensor past_key = random_floats({2, 2, 2, 4}, 16), past_value = random_floats({2, 2, 2, 4}, 17);
  const auto inputs = mha_inputs(ints32({2, 5}, {1, 1, 1, 1, 1, 0, 1, 1, 1, 1}), {}, past_key, past_value, 3, 8);
  const auto ours = expect_matches_ort("MHA past/present", "MultiHeadAttention", inputs,
                                       {"output", "present_key", "present_value"}, ints_attrs({{"num_heads", 2}}));
  EXPECT_EQ(ours.at("present_key").shape(), (Shape{2, 2, 5, 4}));
  expect_matches_ort("MHA past/present, causal", "MultiHeadAttention", inputs,
                     {"output", "present_key", "present_value"}, ints_attrs({{"num_heads", 2}, {"unidirectional", 1}}));
}

TEST(RuntimeContribAttentionAlone, MultiHeadAttentionFloat16IsFloat32RoundedOnce) {
  const Tensor past_key = random_floats({2, 2, 2, 4}, 16), past_value = random_floats({2, 2, 2, 4}, 17);
  expect_float16_contract("MultiHeadAttention",
                          mha_inputs(ints32({2}, {5, 4}), random_floats({1, 2, 3, 5}, 15), past_key, past_value, 3, 8),
                          {"output", "present_key", "present_value"}, ints_attrs({{"num_heads", 2}}));
}

TEST(RuntimeContribAttentionAlone, MultiHeadAttentionRefusesPackedInputs) {
  std::vector<Input> packed = {{"query", random_floats({2, 3, 2, 3, 4}, 1)}};
  expect_error("MultiHeadAttention", packed, {"output"}, ints_attrs({{"num_heads", 2}}), {"packed QKV"});
  auto inputs = mha_inputs({});
  expect_error("MultiHeadAttention", inputs, {"output", "", "", "qk"}, ints_attrs({{"num_heads", 2}}), {"qk"});
}

// ---- EmbedLayerNormalization ------------------------------------------------------------------

std::vector<Input> embed_inputs(bool segments, bool mask) {
  return {{"input_ids", ints32({2, 5}, {3, 0, 9, 4, 4, 1, 2, 8, 7, 5})},
          {"segment_ids", segments ? ints32({2, 5}, {0, 0, 1, 1, 1, 0, 1, 1, 0, 0}) : Tensor{}},
          {"word_embedding", random_floats({10, 8}, 21)},
          {"position_embedding", random_floats({6, 8}, 22)},
          {"segment_embedding", segments ? random_floats({2, 8}, 23) : Tensor{}},
          {"gamma", random_floats({8}, 24)},
          {"beta", random_floats({8}, 25)},
          {"mask", mask ? ints32({2, 5}, {1, 1, 1, 0, 0, 1, 1, 1, 1, 1}) : Tensor{}}};
}

TEST_F(RuntimeContribAttention, EmbedLayerNormalizationMatchesOrt) {
  const auto ours =
      expect_matches_ort("EmbedLayerNorm segments, mask", "EmbedLayerNormalization", embed_inputs(true, true),
                         {"output", "mask_index", "embedding_sum"}, ints_attrs({}, {{"epsilon", 1e-5f}}));
  EXPECT_EQ(ours.at("mask_index").data<std::int32_t>()[0], 3);
  expect_matches_ort("EmbedLayerNorm no segments", "EmbedLayerNormalization", embed_inputs(false, true),
                     {"output", "mask_index"}, ints_attrs({}, {{"epsilon", 1e-5f}}));
  expect_matches_ort("EmbedLayerNorm no mask", "EmbedLayerNormalization", embed_inputs(true, false),
                     {"output", "mask_index"});
}

TEST(RuntimeContribAttentionAlone, EmbedLayerNormalizationFloat16IsFloat32RoundedOnce) {
  expect_float16_contract("EmbedLayerNormalization", embed_inputs(true, true),
                          {"output", "mask_index", "embedding_sum"}, ints_attrs({}, {{"epsilon", 1e-5f}}));
}

TEST(RuntimeContribAttentionAlone, EmbedLayerNormalizationRejectsBadIds) {
  auto inputs = embed_inputs(true, true);
  inputs[0].value = ints32({2, 5}, {3, 0, 10, 4, 4, 1, 2, 8, 7, 5});
  expect_error("EmbedLayerNormalization", inputs, {"output"}, {}, {"input id 10", "out of range"});
}

// ---- RotaryEmbedding --------------------------------------------------------------------------

// cos/sin caches of `positions` x `half` angles, as RoPE builds them.
std::pair<Tensor, Tensor> rope_caches(std::int64_t positions, std::int64_t half_dim) {
  std::vector<float> c, s;
  for (std::int64_t p = 0; p < positions; ++p) {
    for (std::int64_t i = 0; i < half_dim; ++i) {
      const double angle = static_cast<double>(p) * std::pow(10000.0, -2.0 * i / (2.0 * half_dim));
      c.push_back(static_cast<float>(std::cos(angle)));
      s.push_back(static_cast<float>(std::sin(angle)));
    }
  }
  return {Tensor::from_vector<float>({positions, half_dim}, c), Tensor::from_vector<float>({positions, half_dim}, s)};
}

TEST_F(RuntimeContribAttention, RotaryEmbeddingMatchesOrt) {
  const auto [cos8, sin8] = rope_caches(16, 4);
  const Tensor ids = ints64({2, 3}, {0, 1, 2, 5, 9, 3});
  // 3-D (batch 2, sequence 3, 2 heads of 8).
  for (const int interleaved : {0, 1}) {
    const std::string label = interleaved ? "Rotary 3-D interleaved" : "Rotary 3-D";
    expect_matches_ort(
        label, "RotaryEmbedding",
        {{"input", random_floats({2, 3, 16}, 31)}, {"position_ids", ids}, {"cos_cache", cos8}, {"sin_cache", sin8}},
        {"output"}, ints_attrs({{"interleaved", interleaved}}));
    expect_matches_ort(label + ", offset", "RotaryEmbedding",
                       {{"input", random_floats({2, 3, 16}, 32)},
                        {"position_ids", ints64({1}, {4})},
                        {"cos_cache", cos8},
                        {"sin_cache", sin8}},
                       {"output"}, ints_attrs({{"interleaved", interleaved}}));
  }
  // 4-D (batch 2, 2 heads, sequence 3, head 8).
  expect_matches_ort(
      "Rotary 4-D", "RotaryEmbedding",
      {{"input", random_floats({2, 2, 3, 8}, 33)}, {"position_ids", ids}, {"cos_cache", cos8}, {"sin_cache", sin8}},
      {"output"});
  // Partial rotation: rotary_embedding_dim 4 of head 8.
  const auto [cos4, sin4] = rope_caches(16, 2);
  expect_matches_ort(
      "Rotary partial", "RotaryEmbedding",
      {{"input", random_floats({2, 3, 16}, 34)}, {"position_ids", ids}, {"cos_cache", cos4}, {"sin_cache", sin4}},
      {"output"}, ints_attrs({{"num_heads", 2}, {"rotary_embedding_dim", 4}}));
}

TEST(RuntimeContribAttentionAlone, RotaryEmbeddingFloat16IsFloat32RoundedOnce) {
  const auto [cos8, sin8] = rope_caches(16, 4);
  expect_float16_contract("RotaryEmbedding",
                          {{"input", random_floats({2, 3, 16}, 31)},
                           {"position_ids", ints64({2, 3}, {0, 1, 2, 5, 9, 3})},
                           {"cos_cache", cos8},
                           {"sin_cache", sin8}},
                          {"output"}, ints_attrs({{"interleaved", 1}}));
}

TEST(RuntimeContribAttentionAlone, RotaryEmbeddingRejectsPositionsOutsideTheCache) {
  const auto [cos8, sin8] = rope_caches(4, 4);
  expect_error("RotaryEmbedding",
               {{"input", random_floats({1, 3, 8}, 31)},
                {"position_ids", ints64({1}, {2})},
                {"cos_cache", cos8},
                {"sin_cache", sin8}},
               {"output"}, {}, {"position 4"});
  expect_error("RotaryEmbedding",
               {{"input", random_floats({1, 3, 8}, 31)},
                {"position_ids", ints64({1}, {0})},
                {"cos_cache", cos8},
                {"sin_cache", sin8}},
               {"output"}, ints_attrs({{"is_packed_batching", 1}}), {"is_packed_batching"});
}

// ---- GroupQueryAttention ----------------------------------------------------------------------

// 4 query heads and 2 kv heads of `head` values; past >= 0: past_key/past_value of that length.
struct GqaShape {
  std::int64_t batch = 2, seq = 5, head = 8;
  std::vector<std::int32_t> seqlens_k = {4, 4};
  std::int32_t total = 5;
  std::int64_t past = -1;
  bool packed = false;
};

std::vector<Input> gqa_inputs(const GqaShape& g, const Tensor& cos = {}, const Tensor& sin = {}) {
  std::vector<Input> inputs;
  if (g.packed) {
    inputs = {{"query", random_floats({g.batch, g.seq, 8 * g.head}, 41)}, {"key", {}}, {"value", {}}};
  } else {
    inputs = {{"query", random_floats({g.batch, g.seq, 4 * g.head}, 41)},
              {"key", random_floats({g.batch, g.seq, 2 * g.head}, 42)},
              {"value", random_floats({g.batch, g.seq, 2 * g.head}, 43)}};
  }
  inputs.push_back({"past_key", g.past >= 0 ? random_floats({g.batch, 2, g.past, g.head}, 44) : Tensor{}});
  inputs.push_back({"past_value", g.past >= 0 ? random_floats({g.batch, 2, g.past, g.head}, 45) : Tensor{}});
  inputs.push_back({"seqlens_k", ints32({g.batch}, g.seqlens_k)});
  inputs.push_back({"total_sequence_length", Tensor::scalar<std::int32_t>(g.total)});
  if (cos.defined()) {
    inputs.push_back({"cos_cache", cos});
    inputs.push_back({"sin_cache", sin});
  }
  return inputs;
}

const std::vector<std::string> kGqaOutputs = {"output", "present_key", "present_value"};

TEST_F(RuntimeContribAttention, GroupQueryAttentionPromptMatchesOrt) {
  const auto gqa = [](std::map<std::string, std::int64_t> extra, std::map<std::string, float> floats = {}) {
    extra["num_heads"] = 4;
    extra["kv_num_heads"] = 2;
    return ints_attrs(extra, floats);
  };
  const auto ours = expect_matches_ort("GQA prompt", "GroupQueryAttention", gqa_inputs({}), kGqaOutputs, gqa({}));
  EXPECT_EQ(ours.at("present_key").shape(), (Shape{2, 2, 5, 8}));
  expect_matches_ort("GQA prompt, empty past", "GroupQueryAttention", gqa_inputs({.past = 0}), kGqaOutputs, gqa({}));
  expect_matches_ort("GQA packed, window, softcap", "GroupQueryAttention", gqa_inputs({.packed = true}), kGqaOutputs,
                     gqa({{"local_window_size", 2}}, {{"softcap", 2.0f}, {"scale", 0.4f}}));
}

TEST_F(RuntimeContribAttention, GroupQueryAttentionDecodeMatchesOrt) {
  const auto attrs = ints_attrs({{"num_heads", 4}, {"kv_num_heads", 2}});
  // One new token after 4 cached ones (both entries full).
  const auto ours =
      expect_matches_ort("GQA decode", "GroupQueryAttention", gqa_inputs({.seq = 1, .past = 4}), kGqaOutputs, attrs);
  EXPECT_EQ(ours.at("present_key").shape(), (Shape{2, 2, 5, 8}));
  // Two new tokens after 3 cached ones (ORT allows that for batch 1 only).
  expect_matches_ort("GQA subsequent prompt", "GroupQueryAttention",
                     gqa_inputs({.batch = 1, .seq = 2, .seqlens_k = {4}, .past = 3}), kGqaOutputs, attrs);
  // Unequal cache fill: entry 1 has one position fewer (its last present row stays empty). (ORT
  // is only compared with its present outputs requested: without them its CPU kernel ignores
  // past_key/past_value, which the evaluator does not imitate.)
  expect_matches_ort("GQA decode, ragged", "GroupQueryAttention",
                     gqa_inputs({.seq = 1, .seqlens_k = {4, 3}, .past = 4}), kGqaOutputs, attrs);
}

TEST_F(RuntimeContribAttention, GroupQueryAttentionRotaryMatchesOrt) {
  const auto [cos, sin] = rope_caches(16, 8);
  for (const int interleaved : {0, 1}) {
    const auto attrs =
        ints_attrs({{"num_heads", 4}, {"kv_num_heads", 2}, {"do_rotary", 1}, {"rotary_interleaved", interleaved}});
    expect_matches_ort(interleaved ? "GQA rotary prompt interleaved" : "GQA rotary prompt", "GroupQueryAttention",
                       gqa_inputs({.head = 16}, cos, sin), kGqaOutputs, attrs);
    expect_matches_ort(interleaved ? "GQA rotary decode interleaved" : "GQA rotary decode", "GroupQueryAttention",
                       gqa_inputs({.seq = 1, .head = 16, .seqlens_k = {6, 6}, .total = 7, .past = 6}, cos, sin),
                       kGqaOutputs, attrs);
  }
}

TEST(RuntimeContribAttentionAlone, GroupQueryAttentionFloat16IsFloat32RoundedOnce) {
  expect_float16_contract("GroupQueryAttention", gqa_inputs({.seq = 1, .past = 4}), kGqaOutputs,
                          ints_attrs({{"num_heads", 4}, {"kv_num_heads", 2}}));
}

TEST(RuntimeContribAttentionAlone, GroupQueryAttentionRefusesWhatItDoesNotImplement) {
  expect_error("GroupQueryAttention", gqa_inputs({}), kGqaOutputs,
               ints_attrs({{"num_heads", 4}, {"kv_num_heads", 2}, {"smooth_softmax", 1}}), {"smooth_softmax"});
  expect_error("GroupQueryAttention", gqa_inputs({}), kGqaOutputs,
               ints_attrs({{"num_heads", 4}, {"kv_num_heads", 2}, {"do_rotary", 1}}), {"cos_cache"});
  expect_error("GroupQueryAttention", gqa_inputs({.seq = 1, .seqlens_k = {9, 9}, .past = 4}), kGqaOutputs,
               ints_attrs({{"num_heads", 4}, {"kv_num_heads", 2}}), {"seqlens_k"});
}

// ---- GemmFastGelu and BiasSplitGelu (no ORT CPU kernels) ---------------------------------------

double tanh_gelu(double x) { return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
double erf_gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }

TEST_F(RuntimeContribAttention, GemmFastGeluMatchesOrtDecomposition) {
  const std::vector<Input> inputs = {
      {"X", random_floats({2, 3, 8}, 51)}, {"W", random_floats({8, 5}, 52)}, {"bias", random_floats({5}, 53)}};
  const auto feeds = feeds_of(inputs);
  const TensorMap ours = run_ours(one_node("GemmFastGelu", inputs, {"Y"}, {}), feeds);
  // Reference 1: MatMul + com.microsoft FastGelu(bias) in ORT.
  auto model = new_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  add_inputs(g, inputs);
  g.output_untyped("Y");
  g.node("MatMul", {"X", "W"}, {"product"});
  g.node("FastGelu", {"product", "bias"}, {"Y"}, "gelu", kMs);
  const auto ort = run_ort(model, feeds);
  if (!ort.empty()) {
    std::printf("[ort] %-40s %-14s max |diff| %.3g\n", "GemmFastGelu (MatMul+FastGelu)", "Y",
                compare_values("GemmFastGelu", ours.at("Y"), ort.at("Y")));
  }
  // Reference 2: by hand, in double.
  const auto x = floats_of(inputs[0].value), w = floats_of(inputs[1].value), b = floats_of(inputs[2].value);
  const auto y = floats_of(ours.at("Y"));
  ASSERT_EQ(ours.at("Y").shape(), (Shape{2, 3, 5}));
  for (int r = 0; r < 6; ++r) {
    for (int n = 0; n < 5; ++n) {
      double sum = b[n];
      for (int k = 0; k < 8; ++k) sum += static_cast<double>(x[r * 8 + k]) * w[k * 5 + n];
      EXPECT_NEAR(y[r * 5 + n], tanh_gelu(sum), 1e-5 * (1 + std::fabs(tanh_gelu(sum))));
    }
  }
  // Without bias.
  const std::vector<Input> no_bias = {inputs[0], inputs[1]};
  const auto y2 = floats_of(run_ours(one_node("GemmFastGelu", no_bias, {"Y"}, {}), feeds_of(no_bias)).at("Y"));
  double sum = 0;
  for (int k = 0; k < 8; ++k) sum += static_cast<double>(x[k]) * w[k * 5];
  EXPECT_NEAR(y2[0], tanh_gelu(sum), 1e-5);
  expect_float16_contract("GemmFastGelu", inputs, {"Y"});
}

TEST_F(RuntimeContribAttention, BiasSplitGeluMatchesOrtDecompositionAndHand) {
  const std::vector<Input> inputs = {{"X", random_floats({2, 4, 10}, 61, 2.0f)}, {"bias", random_floats({10}, 62)}};
  const auto feeds = feeds_of(inputs);
  const TensorMap ours = run_ours(one_node("BiasSplitGelu", inputs, {"Y"}, {}), feeds);
  ASSERT_EQ(ours.at("Y").shape(), (Shape{2, 4, 5}));
  // Reference 1: Add + Split + com.microsoft Gelu + Mul in ORT.
  auto model = new_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  add_inputs(g, inputs);
  g.output_untyped("Y");
  g.node("Add", {"X", "bias"}, {"sum"});
  modelgen::attr_int(g.node("Split", {"sum"}, {"left", "right"}), "axis", -1);
  g.node("Gelu", {"right"}, {"gated"}, "gelu", kMs);
  g.node("Mul", {"left", "gated"}, {"Y"});
  const auto ort = run_ort(model, feeds);
  if (!ort.empty()) {
    std::printf("[ort] %-40s %-14s max |diff| %.3g\n", "BiasSplitGelu (Add+Split+Gelu+Mul)", "Y",
                compare_values("BiasSplitGelu", ours.at("Y"), ort.at("Y")));
  }
  // Reference 2: by hand.
  const auto x = floats_of(inputs[0].value), b = floats_of(inputs[1].value), y = floats_of(ours.at("Y"));
  for (int r = 0; r < 8; ++r) {
    for (int j = 0; j < 5; ++j) {
      const double left = static_cast<double>(x[r * 10 + j]) + b[j];
      const double right = static_cast<double>(x[r * 10 + 5 + j]) + b[5 + j];
      const double expected = left * erf_gelu(right);
      EXPECT_NEAR(y[r * 5 + j], expected, 1e-5 * (1 + std::fabs(expected))) << r << "," << j;
    }
  }
  expect_float16_contract("BiasSplitGelu", inputs, {"Y"});
}

}  // namespace
