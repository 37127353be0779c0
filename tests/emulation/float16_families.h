// The small float32 graphs of the float16 emulation cross-check (float16_emulation_test.cc):
// one per operator family, each converted to float16 by the test and run both by the evaluator
// and by emulate_float16.py. Every intermediate of interest is a graph output, so a wrong
// rounding anywhere in a chain shows up where it happens.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/tensor.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "modelgen/builder.h"

namespace emulation {

// How closely the evaluator must match the emulation.
//  BitExact: the float32 computation is the same sequence of correctly rounded IEEE operations
//            in both (elementwise +-*/, sqrt, max, data movement, casts): identical float16 bits.
//  OneUlp:   the float32 part legitimately differs: summation order (BLAS vs numpy's pairwise
//            sums in MatMul/Gemm/Conv/pooling/reductions/Softmax/LayerNorm) or the float32
//            transcendental functions (glibc vs numpy for exp/tanh/erf/pow). The float32 results
//            then differ by a few float32 ulps, which changes the float16 rounding only for values
//            within that distance of a rounding boundary: at most 1 float16 ulp, and rarely.
enum class Agreement { BitExact, OneUlp };

struct FamilyCase {
  std::string name;
  onnx::ModelProto model;                                 // float32; the test converts it
  std::map<std::string, onnx_fp16::Tensor> fixed_feeds;   // non-float inputs (indices)
  float low = -2.0f, high = 2.0f;                         // range of the random float inputs
  Agreement agreement = Agreement::BitExact;
};

namespace detail {

using modelgen::GraphBuilder;
constexpr int kFloat = onnx::TensorProto::FLOAT;

inline std::vector<float> random_values(std::size_t count, float scale, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> values(count);
  for (auto& v : values) v = dist(gen);
  return values;
}

inline std::size_t count_of(const std::vector<std::int64_t>& dims) {
  std::size_t n = 1;
  for (auto d : dims) n *= static_cast<std::size_t>(d);
  return n;
}

inline void random_initializer(GraphBuilder& g, const std::string& name, const std::vector<std::int64_t>& dims,
                               float scale, std::uint32_t seed) {
  g.initializer(name, dims, random_values(count_of(dims), scale, seed));
}

// A graph output of unknown shape (the converter and both runners infer it).
inline void out(GraphBuilder& g, const std::string& name) {
  auto* output = g.proto()->add_output();
  output->set_name(name);
  output->mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
}

inline FamilyCase start(const std::string& name, Agreement agreement) {
  FamilyCase c;
  c.name = name;
  c.agreement = agreement;
  c.model = modelgen::make_model(17, 8);
  c.model.mutable_graph()->set_name(name);
  return c;
}

}  // namespace detail

// Relu/Neg/Abs/Sqrt/Reciprocal: one correctly rounded float32 operation each.
inline FamilyCase elementwise_unary() {
  using namespace detail;
  FamilyCase c = start("elementwise_unary", Agreement::BitExact);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{4}, std::int64_t{5}, std::int64_t{6}});
  g.node("Relu", {"x"}, {"relu"});
  g.node("Neg", {"x"}, {"neg"});
  g.node("Abs", {"x"}, {"abs"});
  g.node("Sqrt", {"abs"}, {"sqrt"});
  g.node("Reciprocal", {"sqrt"}, {"reciprocal"});
  for (const char* name : {"relu", "neg", "abs", "sqrt", "reciprocal"}) out(g, name);
  return c;
}

// Add/Sub/Mul/Div with numpy broadcasting of every kind (trailing, inner 1s, rank-0 constant).
inline FamilyCase elementwise_binary() {
  using namespace detail;
  FamilyCase c = start("elementwise_binary", Agreement::BitExact);
  GraphBuilder g(c.model.mutable_graph());
  g.input("a", kFloat, {std::int64_t{2}, std::int64_t{3}, std::int64_t{4}, std::int64_t{5}});
  g.input("b", kFloat, {std::int64_t{4}, std::int64_t{1}});
  g.input("c", kFloat, {std::int64_t{5}});
  g.input("d", kFloat, {std::int64_t{3}, std::int64_t{1}, std::int64_t{1}});
  g.initializer("k", {}, {0.3f});
  g.node("Add", {"a", "b"}, {"add"});
  g.node("Sub", {"a", "c"}, {"sub"});
  g.node("Mul", {"add", "sub"}, {"mul"});
  g.node("Div", {"mul", "d"}, {"div"});
  g.node("Mul", {"div", "k"}, {"scaled"});
  for (const char* name : {"add", "sub", "mul", "div", "scaled"}) out(g, name);
  return c;
}

// Batched MatMul against a weight and against another activation (broadcast batch dims).
inline FamilyCase matmul() {
  using namespace detail;
  FamilyCase c = start("matmul", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("a", kFloat, {std::int64_t{2}, std::int64_t{3}, std::int64_t{16}, std::int64_t{64}});
  g.input("b", kFloat, {std::int64_t{3}, std::int64_t{64}, std::int64_t{8}});
  random_initializer(g, "w", {64, 24}, 0.25f, 11);
  g.node("MatMul", {"a", "w"}, {"aw"});
  g.node("MatMul", {"a", "b"}, {"ab"});
  out(g, "aw");
  out(g, "ab");
  return c;
}

inline FamilyCase gemm() {
  using namespace detail;
  FamilyCase c = start("gemm", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("a", kFloat, {std::int64_t{16}, std::int64_t{48}});
  random_initializer(g, "w", {24, 48}, 0.25f, 12);
  random_initializer(g, "bias", {24}, 1.0f, 13);
  auto& node = g.node("Gemm", {"a", "w", "bias"}, {"y"});
  modelgen::attr_int(node, "transB", 1);
  modelgen::attr_float(node, "alpha", 0.5f);
  modelgen::attr_float(node, "beta", 2.0f);
  random_initializer(g, "w2", {24, 10}, 0.25f, 14);
  g.node("Gemm", {"y", "w2"}, {"z"});  // defaults: no transposes, alpha 1, no C
  out(g, "y");
  out(g, "z");
  return c;
}

// Conv (padded; then grouped, strided, dilated) -> BatchNormalization -> Relu, as in ResNets.
inline FamilyCase conv() {
  using namespace detail;
  FamilyCase c = start("conv", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{1}, std::int64_t{4}, std::int64_t{12}, std::int64_t{12}});
  random_initializer(g, "w1", {8, 4, 3, 3}, 0.3f, 21);
  random_initializer(g, "b1", {8}, 0.5f, 22);
  auto& c1 = g.node("Conv", {"x", "w1", "b1"}, {"conv1"});
  modelgen::attr_ints(c1, "pads", {1, 1, 1, 1});
  random_initializer(g, "w2", {6, 4, 3, 3}, 0.3f, 23);
  auto& c2 = g.node("Conv", {"conv1", "w2"}, {"conv2"});
  modelgen::attr_int(c2, "group", 2);
  modelgen::attr_ints(c2, "strides", {2, 2});
  modelgen::attr_ints(c2, "dilations", {2, 2});
  modelgen::attr_ints(c2, "pads", {1, 1, 1, 1});
  g.initializer("bn_scale", {6}, {1.5f, 0.5f, 1.0f, 2.0f, 0.75f, 1.25f});
  g.initializer("bn_bias", {6}, {0.1f, -0.2f, 0.3f, 0.0f, -0.5f, 0.25f});
  g.initializer("bn_mean", {6}, {0.05f, -0.1f, 0.2f, 0.0f, 0.3f, -0.25f});
  g.initializer("bn_var", {6}, {0.5f, 1.5f, 1.0f, 2.0f, 0.25f, 0.8f});
  auto& bn = g.node("BatchNormalization", {"conv2", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, {"bn"});
  modelgen::attr_float(bn, "epsilon", 1e-5f);
  g.node("Relu", {"bn"}, {"relu"});
  for (const char* name : {"conv1", "conv2", "bn", "relu"}) out(g, name);
  return c;
}

inline FamilyCase pooling() {
  using namespace detail;
  FamilyCase c = start("pooling", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{2}, std::int64_t{3}, std::int64_t{9}, std::int64_t{9}});
  auto& max = g.node("MaxPool", {"x"}, {"max"});
  modelgen::attr_ints(max, "kernel_shape", {3, 3});
  modelgen::attr_ints(max, "strides", {2, 2});
  modelgen::attr_ints(max, "pads", {1, 1, 1, 1});
  auto& avg = g.node("AveragePool", {"x"}, {"avg"});
  modelgen::attr_ints(avg, "kernel_shape", {3, 3});
  modelgen::attr_ints(avg, "strides", {2, 2});
  modelgen::attr_ints(avg, "pads", {1, 1, 1, 1});
  g.node("GlobalAveragePool", {"x"}, {"global"});
  for (const char* name : {"max", "avg", "global"}) out(g, name);
  return c;
}

inline FamilyCase softmax() {
  using namespace detail;
  FamilyCase c = start("softmax", Agreement::OneUlp);
  c.low = -6.0f;
  c.high = 6.0f;
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{3}, std::int64_t{4}, std::int64_t{40}});
  modelgen::attr_int(g.node("Softmax", {"x"}, {"last"}), "axis", -1);
  modelgen::attr_int(g.node("Softmax", {"x"}, {"middle"}), "axis", 1);
  out(g, "last");
  out(g, "middle");
  return c;
}

inline FamilyCase layer_norm() {
  using namespace detail;
  FamilyCase c = start("layer_norm", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{2}, std::int64_t{5}, std::int64_t{48}});
  random_initializer(g, "scale", {48}, 1.5f, 31);
  random_initializer(g, "bias", {48}, 0.5f, 32);
  auto& ln = g.node("LayerNormalization", {"x", "scale", "bias"}, {"y"});
  modelgen::attr_int(ln, "axis", -1);
  modelgen::attr_float(ln, "epsilon", 1e-5f);
  auto& ln2 = g.node("LayerNormalization", {"x", "scale48x5"}, {"y2"});  // over the last two axes
  random_initializer(g, "scale48x5", {5, 48}, 1.0f, 33);
  modelgen::attr_int(ln2, "axis", 1);
  out(g, "y");
  out(g, "y2");
  return c;
}

// ReduceMean (axes attribute at opset 17) and ReduceSum (axes input since 13).
inline FamilyCase reduce() {
  using namespace detail;
  FamilyCase c = start("reduce", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{3}, std::int64_t{50}, std::int64_t{7}});
  auto& mean = g.node("ReduceMean", {"x"}, {"mean"});
  modelgen::attr_ints(mean, "axes", {1});
  g.initializer_i64("sum_axes", {2}, {0, 2});
  auto& sum = g.node("ReduceSum", {"x", "sum_axes"}, {"sum"});
  modelgen::attr_int(sum, "keepdims", 0);
  g.node("ReduceSum", {"x"}, {"total"});
  for (const char* name : {"mean", "sum", "total"}) out(g, name);
  return c;
}

// Transpose -> Reshape -> Slice, Concat of two slices, Gather by an index tensor.
inline FamilyCase shape_ops() {
  using namespace detail;
  FamilyCase c = start("shape_ops", Agreement::BitExact);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{2}, std::int64_t{3}, std::int64_t{4}, std::int64_t{5}});
  g.input("indices", onnx::TensorProto::INT64, {std::int64_t{2}, std::int64_t{2}});
  modelgen::attr_ints(g.node("Transpose", {"x"}, {"t"}), "perm", {0, 2, 1, 3});
  g.initializer_i64("shape", {3}, {2, 4, 15});
  g.node("Reshape", {"t", "shape"}, {"r"});
  g.initializer_i64("starts", {2}, {0, 1});
  g.initializer_i64("ends", {2}, {2, 13});
  g.initializer_i64("axes", {2}, {0, 2});
  g.initializer_i64("steps", {2}, {1, 2});
  g.node("Slice", {"r", "starts", "ends", "axes", "steps"}, {"s"});
  modelgen::attr_int(g.node("Concat", {"s", "r"}, {"cat"}), "axis", 2);
  modelgen::attr_int(g.node("Gather", {"x", "indices"}, {"gathered"}), "axis", 1);
  g.node("Add", {"cat", "cat"}, {"doubled"});  // arithmetic on a moved tensor
  for (const char* name : {"t", "r", "s", "cat", "gathered", "doubled"}) out(g, name);
  c.fixed_feeds["indices"] = onnx_fp16::Tensor::from_vector<std::int64_t>({2, 2}, {2, 0, 1, 2});
  return c;
}

// The attribute forms of opset 9 (paddle2onnx's exports use them): Slice-1's starts/ends/axes,
// Squeeze's and Unsqueeze's axes.
inline FamilyCase shape_ops_opset9() {
  using namespace detail;
  FamilyCase c = start("shape_ops_opset9", Agreement::BitExact);
  c.model = modelgen::make_model(9, 8);
  c.model.mutable_graph()->set_name(c.name);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{2}, std::int64_t{1}, std::int64_t{6}});
  auto& slice = g.node("Slice", {"x"}, {"s"});
  modelgen::attr_ints(slice, "starts", {1});
  modelgen::attr_ints(slice, "ends", {5});
  modelgen::attr_ints(slice, "axes", {2});
  modelgen::attr_ints(g.node("Squeeze", {"s"}, {"q"}), "axes", {1});
  modelgen::attr_ints(g.node("Unsqueeze", {"q"}, {"u"}), "axes", {0});
  g.node("Add", {"u", "u"}, {"doubled"});  // arithmetic on a moved tensor
  for (const char* name : {"s", "q", "u", "doubled"}) out(g, name);
  return c;
}

// Greater -> Where, with broadcasting of the condition and of both branches.
inline FamilyCase where() {
  using namespace detail;
  FamilyCase c = start("where", Agreement::BitExact);
  GraphBuilder g(c.model.mutable_graph());
  g.input("a", kFloat, {std::int64_t{3}, std::int64_t{4}, std::int64_t{6}});
  g.input("b", kFloat, {std::int64_t{6}});
  g.node("Greater", {"a", "b"}, {"cond"});
  g.node("Mul", {"a", "b"}, {"ab"});
  g.node("Where", {"cond", "ab", "b"}, {"w"});
  g.node("Sub", {"w", "a"}, {"diff"});
  out(g, "w");
  out(g, "diff");
  return c;
}

// Pow, Sqrt, Erf and the other float32 library functions (Tanh, Exp, Sigmoid).
inline FamilyCase pow_sqrt_erf() {
  using namespace detail;
  FamilyCase c = start("pow_sqrt_erf", Agreement::OneUlp);
  c.low = 0.05f;
  c.high = 3.0f;
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{4}, std::int64_t{64}});
  g.input("e", kFloat, {std::int64_t{64}});
  g.node("Pow", {"x", "e"}, {"pow"});
  g.initializer("three", {}, {3.0f});
  g.node("Pow", {"x", "three"}, {"cube"});
  g.node("Sqrt", {"x"}, {"sqrt"});
  g.initializer("shift", {}, {1.5f});
  g.node("Sub", {"x", "shift"}, {"centred"});
  g.node("Erf", {"centred"}, {"erf"});
  g.node("Tanh", {"centred"}, {"tanh"});
  g.node("Exp", {"centred"}, {"exp"});
  g.node("Sigmoid", {"centred"}, {"sigmoid"});
  for (const char* name : {"pow", "cube", "sqrt", "erf", "tanh", "exp", "sigmoid"}) out(g, name);
  return c;
}

// Casts: to int32 and back (truncation, then exact), to float32 for Max/Min (which the default
// op_block_list keeps in float32, so the converter wraps them in Casts), and float32 -> float16
// rounding of their results.
inline FamilyCase cast() {
  using namespace detail;
  FamilyCase c = start("cast", Agreement::BitExact);
  c.low = -40.0f;
  c.high = 40.0f;
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{5}, std::int64_t{16}});
  g.input("y", kFloat, {std::int64_t{16}});
  modelgen::attr_int(g.node("Cast", {"x"}, {"xi"}), "to", onnx::TensorProto::INT32);
  modelgen::attr_int(g.node("Cast", {"xi"}, {"xf"}), "to", onnx::TensorProto::FLOAT);
  g.node("Sub", {"x", "xf"}, {"fraction"});
  g.node("Max", {"x", "y"}, {"max"});
  g.node("Min", {"x", "y"}, {"min"});
  g.initializer("third", {}, {1.0f / 3.0f});
  g.node("Mul", {"max", "third"}, {"max_third"});
  for (const char* name : {"xf", "fraction", "max", "min", "max_third"}) out(g, name);
  return c;
}

// If (each branch once: one If on the flag, one on its negation) and Loop (three iterations
// carrying a state through MatMul -> Tanh, with a scan output): the nodes inside subgraphs round
// as the main graph's do, reading the main graph's values.
inline FamilyCase control_flow() {
  using namespace detail;
  FamilyCase c = start("control_flow", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{4}, std::int64_t{16}});
  g.input("flag", onnx::TensorProto::BOOL, {});
  random_initializer(g, "w", {16, 16}, 0.3f, 43);
  g.initializer("third", {}, {1.0f / 3.0f});
  g.node("Not", {"flag"}, {"not_flag"});
  for (const std::string cond : {"flag", "not_flag"}) {
    onnx::NodeProto& choose = g.node("If", {cond}, {"chosen_" + cond}, "if_" + cond);
    GraphBuilder then_branch(modelgen::attr_graph(choose, "then_branch"));
    then_branch.output("then_" + cond, kFloat, {std::int64_t{4}, std::int64_t{16}});
    then_branch.node("MatMul", {"x", "w"}, {"then_" + cond});
    GraphBuilder else_branch(modelgen::attr_graph(choose, "else_branch"));
    else_branch.output("else_" + cond, kFloat, {std::int64_t{4}, std::int64_t{16}});
    else_branch.node("Mul", {"x", "third"}, {"else_" + cond});
  }
  g.initializer_i64("trips", {}, {3});
  onnx::NodeProto& loop = g.node("Loop", {"trips", "flag", "x"}, {"state", "scanned"}, "loop");
  GraphBuilder body(modelgen::attr_graph(loop, "body"));
  body.input("i", onnx::TensorProto::INT64, {}).input("go_on", onnx::TensorProto::BOOL, {});
  body.input("h", kFloat, {std::int64_t{4}, std::int64_t{16}});
  body.output("go_on_out", onnx::TensorProto::BOOL, {}).output("h_out", kFloat, {std::int64_t{4}, std::int64_t{16}});
  body.output("h_third", kFloat, {std::int64_t{4}, std::int64_t{16}});
  body.node("Identity", {"go_on"}, {"go_on_out"});
  body.node("MatMul", {"h", "w"}, {"hw"});
  body.node("Tanh", {"hw"}, {"h_out"});
  body.node("Mul", {"h_out", "third"}, {"h_third"});
  out(g, "chosen_flag");
  out(g, "chosen_not_flag");
  g.output("state", kFloat, {std::int64_t{4}, std::int64_t{16}});  // ONNX's inference leaves a Loop's carried shapes open
  out(g, "scanned");
  c.fixed_feeds["flag"] = onnx_fp16::Tensor::scalar(true);
  return c;
}

// LSTM, forward with biases and initial states, and bidirectional without: the recurrence runs
// in float32 (the states carried between steps are not rounded), Y / Y_h / Y_c rounded once.
inline FamilyCase lstm() {
  using namespace detail;
  FamilyCase c = start("lstm", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{5}, std::int64_t{2}, std::int64_t{8}});
  random_initializer(g, "W", {1, 24, 8}, 0.5f, 44);
  random_initializer(g, "R", {1, 24, 6}, 0.5f, 45);
  random_initializer(g, "B", {1, 48}, 0.2f, 46);
  random_initializer(g, "h0", {1, 2, 6}, 0.5f, 47);
  random_initializer(g, "c0", {1, 2, 6}, 0.5f, 48);
  random_initializer(g, "W2", {2, 24, 8}, 0.5f, 49);
  random_initializer(g, "R2", {2, 24, 6}, 0.5f, 50);
  modelgen::attr_int(g.node("LSTM", {"x", "W", "R", "B", "", "h0", "c0"}, {"Y", "Y_h", "Y_c"}), "hidden_size", 6);
  auto& both_ways = g.node("LSTM", {"x", "W2", "R2"}, {"Y2", "Y2_h", "Y2_c"});
  modelgen::attr_int(both_ways, "hidden_size", 6);
  modelgen::attr_string(both_ways, "direction", "bidirectional");
  for (const char* name : {"Y", "Y_h", "Y_c", "Y2", "Y2_h", "Y2_c"}) out(g, name);
  return c;
}

// Pad (constant, reflect and edge modes) and Split: values moved, none computed.
inline FamilyCase pad_split() {
  using namespace detail;
  FamilyCase c = start("pad_split", Agreement::BitExact);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{2}, std::int64_t{3}, std::int64_t{10}});
  g.initializer_i64("pads", {6}, {0, 1, 2, 0, 0, 3});
  g.initializer("fill", {}, {0.3f});
  g.node("Pad", {"x", "pads", "fill"}, {"padded"});
  g.initializer_i64("mirror_pads", {6}, {0, 0, 4, 0, 0, 4});
  modelgen::attr_string(g.node("Pad", {"x", "mirror_pads"}, {"reflected"}), "mode", "reflect");
  modelgen::attr_string(g.node("Pad", {"x", "mirror_pads"}, {"edged"}), "mode", "edge");
  g.initializer_i64("parts", {2}, {5, 13});
  modelgen::attr_int(g.node("Split", {"reflected", "parts"}, {"left", "right"}), "axis", 2);
  g.node("Add", {"left", "left"}, {"doubled"});  // arithmetic on a moved tensor
  for (const char* name : {"padded", "reflected", "edged", "right", "doubled"}) out(g, name);
  return c;
}

inline std::vector<FamilyCase (*)()> all_families() {
  return {elementwise_unary, elementwise_binary, matmul, gemm, conv, pooling, softmax, layer_norm, reduce,
          shape_ops, shape_ops_opset9, where, pow_sqrt_erf, cast, control_flow, lstm, pad_split};
}

// MatMul -> Tanh -> MatMul -> Mul on [8, 64]: the graph on which ONNX Runtime's CPU path is
// shown to drop the intermediate float16 roundings (docs/evaluator.md).
inline FamilyCase matmul_tanh_chain() {
  using namespace detail;
  FamilyCase c = start("matmul_tanh_matmul_mul", Agreement::OneUlp);
  GraphBuilder g(c.model.mutable_graph());
  g.input("x", kFloat, {std::int64_t{8}, std::int64_t{32}});
  random_initializer(g, "w1", {32, 64}, 0.3f, 41);
  random_initializer(g, "w2", {64, 64}, 0.3f, 42);
  g.initializer("scale", {}, {1.7f});
  g.node("MatMul", {"x", "w1"}, {"h"});
  g.node("Tanh", {"h"}, {"t"});
  g.node("MatMul", {"t", "w2"}, {"u"});
  g.node("Mul", {"u", "scale"}, {"y"});
  out(g, "y");
  return c;
}

}  // namespace emulation
