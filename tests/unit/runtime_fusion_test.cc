// The executor's fused nodes (runtime/plan_fusion.h): x * Sigmoid(x) and x * HardSigmoid(x)
// run as one node with the bits of the two, and only where nothing else can see the gate.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "modelgen/builder.h"
#include "runtime/tensor_cast.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Evaluator;
using onnx_fp16::Tensor;

// Over 2 * 2^15 values, so that two threads each take blocks and a partial last one; every
// float16 exponent from -12 to 12 and the special values.
Tensor sample_input(int type) {
  std::vector<float> v;
  const float inf = std::numeric_limits<float>::infinity();
  for (const float special : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e-8f, 65504.0f}) {
    v.push_back(special);
  }
  for (int i = 0; v.size() < 70'001; ++i) v.push_back(std::sin(0.37f * static_cast<float>(i)) * 12.0f);
  const Tensor x = Tensor::from_vector<float>({static_cast<std::int64_t>(v.size())}, v);
  return onnx_fp16::runtime::cast_tensor(x, static_cast<onnx_fp16::DataType>(type));
}

struct Gated {
  std::string activation = "Sigmoid";
  int type = onnx::TensorProto::FLOAT;
  bool gate_first = false;  // Mul(g, x) instead of Mul(x, g)
  bool gate_read_again = false;
  bool gate_is_output = false;
};

// x -> activation -> g; y = Mul(x, g); optionally z = Neg(g) or g a graph output too.
onnx::ModelProto gated_model(const Gated& p) {
  auto model = modelgen::make_model(13);
  GraphBuilder g(model.mutable_graph());
  g.input("x", p.type, {70'001}).output("y", p.type, {70'001});
  auto& activation = g.node(p.activation, {"x"}, {"g"}, "gate");
  if (p.activation == "HardSigmoid") {
    modelgen::attr_float(activation, "alpha", 0.3f);
    modelgen::attr_float(activation, "beta", 0.4f);
  }
  g.node("Mul", p.gate_first ? std::vector<std::string>{"g", "x"} : std::vector<std::string>{"x", "g"}, {"y"},
         "product");
  if (p.gate_read_again) {
    g.node("Neg", {"g"}, {"z"}, "other_reader");
    g.output("z", p.type, {70'001});
  }
  if (p.gate_is_output) g.output("g", p.type, {70'001});
  return model;
}

struct RunResult {
  Tensor y;
  std::vector<std::string> op_types;  // per main-graph node run, as the profile names them
};

// Runs `model` on two threads (keeping `keep`) and returns its output y and the op types run.
RunResult run(const onnx::ModelProto& model, const std::map<std::string, Tensor>& feeds,
              std::vector<std::string> keep = {}) {
  const Evaluator evaluator(model, {.threads = 2, .keep = std::move(keep)});
  onnx_fp16::RunStats stats;
  auto outputs = evaluator.run(feeds, &stats);
  RunResult result{outputs.at("y"), {}};
  for (const auto& node : stats.node_times) result.op_types.push_back(node.op_type);
  return result;
}

RunResult run(const onnx::ModelProto& model, int type, std::vector<std::string> keep = {}) {
  return run(model, {{"x", sample_input(type)}}, std::move(keep));
}

// The same bits everywhere, except that any NaN matches any NaN: which NaN a product of two
// NaNs gives depends on the operand order the compiler chose, and no runtime promises it.
::testing::AssertionResult same_values(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return ::testing::AssertionFailure() << "type or shape";
  const Tensor wide_a = onnx_fp16::runtime::cast_tensor(a, onnx::TensorProto::DOUBLE);
  const Tensor wide_b = onnx_fp16::runtime::cast_tensor(b, onnx::TensorProto::DOUBLE);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double u = wide_a.data<double>()[i], v = wide_b.data<double>()[i];
    if (std::isnan(u) && std::isnan(v)) continue;
    if (std::bit_cast<std::uint64_t>(u) != std::bit_cast<std::uint64_t>(v)) {
      return ::testing::AssertionFailure() << "element " << i << ": " << u << " vs " << v;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(RuntimeFusion, GatedActivationsRunAsOneNodeWithTheBitsOfTwo) {
  for (const std::string activation : {"Sigmoid", "HardSigmoid"}) {
    for (const int type : {onnx::TensorProto::FLOAT, onnx::TensorProto::FLOAT16, onnx::TensorProto::BFLOAT16,
                           onnx::TensorProto::DOUBLE}) {
      for (const bool gate_first : {false, true}) {
        SCOPED_TRACE(activation + " type " + std::to_string(type) + (gate_first ? " Mul(g, x)" : " Mul(x, g)"));
        const auto model = gated_model({.activation = activation, .type = type, .gate_first = gate_first});
        const RunResult fused = run(model, type);
        // Keeping the gate pins it: the two nodes run alone, as the mixed-precision engine runs them.
        const RunResult apart = run(model, type, {"g"});
        EXPECT_EQ(fused.op_types, std::vector<std::string>{activation + "+Mul"});
        EXPECT_EQ(apart.op_types, (std::vector<std::string>{activation, "Mul"}));
        EXPECT_TRUE(same_values(fused.y, apart.y));
      }
    }
  }
  // And the values are the activation's: y = x * sigmoid(x) at a few points, in float32.
  const RunResult y = run(gated_model({}), onnx::TensorProto::FLOAT);
  const Tensor x = sample_input(onnx::TensorProto::FLOAT);
  for (const std::size_t i : {7u, 100u, 5000u, 70'000u}) {
    const double xi = x.data<float>()[i];
    EXPECT_NEAR(y.y.data<float>()[i], xi / (1.0 + std::exp(-xi)), 1e-5 * (1.0 + std::fabs(xi))) << "at " << i;
  }
}

TEST(RuntimeFusion, GatesOthersCanSeeAreNotFused) {
  const auto op_types_of = [](const Gated& p) { return run(gated_model(p), p.type).op_types; };
  EXPECT_EQ(op_types_of({.gate_read_again = true}), (std::vector<std::string>{"Sigmoid", "Mul", "Neg"}));
  EXPECT_EQ(op_types_of({.gate_is_output = true}), (std::vector<std::string>{"Sigmoid", "Mul"}));
  EXPECT_EQ(op_types_of({.activation = "HardSigmoid", .gate_is_output = true}),
            (std::vector<std::string>{"HardSigmoid", "Mul"}));
}

// A Mul of the gate with anything but the activation's own input is a different function.
TEST(RuntimeFusion, OnlyTheActivationsOwnInputIsGated) {
  auto model = modelgen::make_model(13);
  GraphBuilder g(model.mutable_graph());
  g.input("x", onnx::TensorProto::FLOAT, {4}).input("w", onnx::TensorProto::FLOAT, {4});
  g.output("y", onnx::TensorProto::FLOAT, {4});
  g.node("Sigmoid", {"x"}, {"g"}, "gate");
  g.node("Mul", {"w", "g"}, {"y"}, "product");
  const Evaluator evaluator(model, {.threads = 1, .keep = {}});
  onnx_fp16::RunStats stats;
  const auto outputs = evaluator.run({{"x", Tensor::from_vector<float>({4}, {0, 1, -1, 2})},
                                      {"w", Tensor::from_vector<float>({4}, {2, 2, 2, 2})}},
                                     &stats);
  ASSERT_EQ(stats.node_times.size(), 2u);
  EXPECT_EQ(stats.node_times[0].op_type, "Sigmoid");
  EXPECT_FLOAT_EQ(outputs.at("y").data<float>()[0], 1.0f);  // 2 * sigmoid(0), not 0 * sigmoid(0)
  EXPECT_EQ(stats.nodes_run, 2u);
}

}  // namespace

namespace {

struct ConvCase {
  std::string name;
  std::vector<std::int64_t> x, w;
  std::int64_t group = 1;
  std::int64_t pad = 0;
};

// x -> Conv(w, b) -> c -> Relu -> y, weights and bias of both signs, in `type`.
onnx::ModelProto conv_relu_model(const ConvCase& p, int type, bool conv_output_read_again = false) {
  auto model = modelgen::make_model(13);
  GraphBuilder g(model.mutable_graph());
  const auto dims = [](const std::vector<std::int64_t>& shape) { return std::vector<modelgen::Dim>(shape.begin(), shape.end()); };
  g.input("x", type, dims(p.x)).input("w", type, dims(p.w)).input("b", type, {p.w[0]}).output_untyped("y");
  auto& conv = g.node("Conv", {"x", "w", "b"}, {"c"}, "conv");
  modelgen::attr_int(conv, "group", p.group);
  modelgen::attr_ints(conv, "pads", {p.pad, p.pad, p.pad, p.pad});
  g.node("Relu", {"c"}, {"y"}, "relu");
  if (conv_output_read_again) {
    g.node("Neg", {"c"}, {"z"}, "other_reader");
    g.output_untyped("z");
  }
  return model;
}

Tensor signed_values(const std::vector<std::int64_t>& shape, int seed, int type) {
  std::size_t count = 1;
  for (const auto d : shape) count *= static_cast<std::size_t>(d);
  std::vector<float> v(count);
  for (std::size_t i = 0; i < count; ++i) v[i] = std::sin(0.7f * static_cast<float>(i) + static_cast<float>(seed));
  return onnx_fp16::runtime::cast_tensor(Tensor::from_vector<float>(shape, v), static_cast<onnx_fp16::DataType>(type));
}

}  // namespace

// Every path of the convolution (a product per tile, im2col bands, depthwise planes) with the
// Relu applied inside: the two nodes' bits, and about half the outputs clamped to zero.
TEST(RuntimeFusion, ConvFollowedByReluRunsAsOneNodeWithTheBitsOfTwo) {
  const std::vector<ConvCase> cases = {
      {"pointwise", {1, 24, 30, 30}, {40, 24, 1, 1}},
      {"3x3 in bands", {1, 8, 200, 300}, {16, 8, 3, 3}, 1, 1},
      {"depthwise", {1, 12, 19, 21}, {12, 1, 5, 5}, 12, 2},
  };
  for (const auto& p : cases) {
    for (const int type : {onnx::TensorProto::FLOAT, onnx::TensorProto::FLOAT16, onnx::TensorProto::DOUBLE}) {
      SCOPED_TRACE(p.name + " type " + std::to_string(type));
      const auto model = conv_relu_model(p, type);
      const std::map<std::string, Tensor> feeds = {{"x", signed_values(p.x, 1, type)},
                                                   {"w", signed_values(p.w, 2, type)},
                                                   {"b", signed_values({p.w[0]}, 3, type)}};
      const RunResult fused = run(model, feeds);
      const RunResult apart = run(model, feeds, {"c"});
      EXPECT_EQ(fused.op_types, std::vector<std::string>{"Conv+Relu"});
      EXPECT_EQ(apart.op_types, (std::vector<std::string>{"Conv", "Relu"}));
      EXPECT_TRUE(same_values(fused.y, apart.y));
      const Tensor wide = onnx_fp16::runtime::cast_tensor(fused.y, onnx::TensorProto::DOUBLE);
      std::size_t zeros = 0;
      for (const double v : wide.data<double>()) zeros += v == 0.0 ? 1 : 0;
      EXPECT_GT(zeros, wide.size() / 4);
      EXPECT_LT(zeros, wide.size() * 3 / 4);
    }
  }
}

TEST(RuntimeFusion, ConvOutputsOthersReadAreNotFused) {
  const ConvCase p{"pointwise", {1, 4, 5, 5}, {6, 4, 1, 1}};
  const Evaluator evaluator(conv_relu_model(p, onnx::TensorProto::FLOAT, true), {.threads = 1, .keep = {}});
  onnx_fp16::RunStats stats;
  const auto outputs = evaluator.run({{"x", signed_values(p.x, 1, onnx::TensorProto::FLOAT)},
                                      {"w", signed_values(p.w, 2, onnx::TensorProto::FLOAT)},
                                      {"b", signed_values({6}, 3, onnx::TensorProto::FLOAT)}},
                                     &stats);
  std::vector<std::string> op_types;
  for (const auto& node : stats.node_times) op_types.push_back(node.op_type);
  EXPECT_EQ(op_types, (std::vector<std::string>{"Conv", "Relu", "Neg"}));
  // z = -c and y = relu(c): where c is positive they cancel.
  for (std::size_t i = 0; i < outputs.at("y").size(); ++i) {
    const float y = outputs.at("y").data<float>()[i], z = outputs.at("z").data<float>()[i];
    EXPECT_EQ(y, z < 0 ? -z : 0.0f);
  }
}

// A residual block's end: Add (broadcasting here) then Relu, in float and integer types.
TEST(RuntimeFusion, AddFollowedByReluRunsAsOneNodeWithTheBitsOfTwo) {
  for (const int type : {onnx::TensorProto::FLOAT, onnx::TensorProto::FLOAT16, onnx::TensorProto::INT32}) {
    SCOPED_TRACE("type " + std::to_string(type));
    auto model = modelgen::make_model(13);
    GraphBuilder g(model.mutable_graph());
    g.input("a", type, {3, 50, 400}).input("b", type, {400}).output_untyped("y");
    g.node("Add", {"a", "b"}, {"s"}, "residual");
    g.node("Relu", {"s"}, {"y"}, "relu");
    const auto values = [&](const std::vector<std::int64_t>& shape, int seed) {
      Tensor t = signed_values(shape, seed, onnx::TensorProto::FLOAT);
      if (type == onnx::TensorProto::INT32) {  // -10..10
        std::vector<std::int32_t> v;
        for (const float f : t.data<float>()) v.push_back(static_cast<std::int32_t>(std::lround(f * 10)));
        return Tensor::from_vector<std::int32_t>(shape, v);
      }
      return onnx_fp16::runtime::cast_tensor(t, static_cast<onnx_fp16::DataType>(type));
    };
    const std::map<std::string, Tensor> feeds = {{"a", values({3, 50, 400}, 4)}, {"b", values({400}, 5)}};
    const RunResult fused = run(model, feeds);
    const RunResult apart = run(model, feeds, {"s"});
    EXPECT_EQ(fused.op_types, std::vector<std::string>{"Add+Relu"});
    EXPECT_EQ(apart.op_types, (std::vector<std::string>{"Add", "Relu"}));
    EXPECT_TRUE(same_values(fused.y, apart.y));
  }
}

// What quantize_dynamic writes for a Conv: DynamicQuantizeLinear, ConvInteger, Cast to float,
// Mul by (input scale x weight scale), Add of the bias, Relu. The chain after the ConvInteger
// runs as one node with the bits of the nodes apart, whichever operand order the Mul and the Add
// have; a value someone keeps ends the chain before it.
TEST(RuntimeFusion, QuantizedConvRescaleChainRunsAsOneNodeWithTheBitsOfTheNodesApart) {
  struct Chain {
    bool scale_first = false;  // Mul(scale, sums) instead of Mul(sums, scale)
    bool bias_first = false;
    bool add = true;
    bool relu = true;
  };
  for (const Chain& chain : {Chain{}, Chain{true, true, true, true}, Chain{false, false, false, true},
                             Chain{false, true, true, false}}) {
    SCOPED_TRACE(std::string("scale first ") + (chain.scale_first ? "yes" : "no") + ", add " + (chain.add ? "yes" : "no") +
                 ", relu " + (chain.relu ? "yes" : "no"));
    auto model = modelgen::make_model(13);
    GraphBuilder g(model.mutable_graph());
    g.input("x", onnx::TensorProto::FLOAT, {1, 6, 40, 50}).output_untyped("y");
    std::vector<std::uint8_t> weights(10 * 6 * 9);
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
    onnx::TensorProto& w = *model.mutable_graph()->add_initializer();
    w = Tensor::from_vector<std::uint8_t>({10, 6, 3, 3}, weights).to_proto("w");
    *model.mutable_graph()->add_initializer() = Tensor::from_vector<std::uint8_t>({}, {131}).to_proto("wz");
    *model.mutable_graph()->add_initializer() = Tensor::from_vector<float>({}, {0.0071f}).to_proto("ws");
    *model.mutable_graph()->add_initializer() = signed_values({10, 1, 1}, 9, onnx::TensorProto::FLOAT).to_proto("b");
    g.node("DynamicQuantizeLinear", {"x"}, {"xq", "xs", "xz"}, "quantize");
    g.node("Mul", {"xs", "ws"}, {"scale"}, "scales");
    auto& conv = g.node("ConvInteger", {"xq", "w", "xz", "wz"}, {"s"}, "conv");
    modelgen::attr_ints(conv, "pads", {1, 1, 1, 1});
    modelgen::attr_int(g.node("Cast", {"s"}, {"f"}, "cast"), "to", onnx::TensorProto::FLOAT);
    g.node("Mul", chain.scale_first ? std::vector<std::string>{"scale", "f"} : std::vector<std::string>{"f", "scale"},
           {"m"}, "rescale");
    std::string last = "m";
    if (chain.add) {
      g.node("Add", chain.bias_first ? std::vector<std::string>{"b", "m"} : std::vector<std::string>{"m", "b"}, {"a"},
             "bias");
      last = "a";
    }
    if (chain.relu) {
      g.node("Relu", {last}, {"y"}, "relu");
    } else {
      model.mutable_graph()->mutable_node()->rbegin()->set_output(0, "y");
    }
    const std::map<std::string, Tensor> feeds = {{"x", signed_values({1, 6, 40, 50}, 1, onnx::TensorProto::FLOAT)}};
    const RunResult fused = run(model, feeds);
    const RunResult apart = run(model, feeds, {"s"});
    std::string chained = "ConvInteger+Cast+Mul";
    std::vector<std::string> separate = {"ConvInteger", "Cast", "Mul"};
    if (chain.add) chained += "+Add";
    if (chain.relu) chained += "+Relu";
    if (chain.add && chain.relu) separate.push_back("Add+Relu");
    if (chain.add && !chain.relu) separate.push_back("Add");
    if (!chain.add && chain.relu) separate.push_back("Relu");
    EXPECT_EQ(fused.op_types, (std::vector<std::string>{"DynamicQuantizeLinear", "Mul", chained}));
    std::vector<std::string> expected_apart = {"DynamicQuantizeLinear", "Mul"};
    expected_apart.insert(expected_apart.end(), separate.begin(), separate.end());
    EXPECT_EQ(apart.op_types, expected_apart);
    EXPECT_TRUE(same_values(fused.y, apart.y));
    // Kept after the Mul: the chain stops there, and the Add and Relu fuse as their own pair.
    if (chain.add && chain.relu) {
      const RunResult partial = run(model, feeds, {"m"});
      EXPECT_EQ(partial.op_types, (std::vector<std::string>{"DynamicQuantizeLinear", "Mul", "ConvInteger+Cast+Mul", "Add+Relu"}));
      EXPECT_TRUE(same_values(partial.y, apart.y));
    }
  }
}
