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

RunResult run(const onnx::ModelProto& model, int type, std::vector<std::string> keep = {}) {
  const Evaluator evaluator(model, {.threads = 2, .keep = std::move(keep)});
  onnx_fp16::RunStats stats;
  auto outputs = evaluator.run({{"x", sample_input(type)}}, &stats);
  RunResult result{outputs.at("y"), {}};
  for (const auto& node : stats.node_times) result.op_types.push_back(node.op_type);
  return result;
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
  const auto op_types_of = [](const Gated& p) {
    const Evaluator evaluator(gated_model(p), {.threads = 1, .keep = {}});
    onnx_fp16::RunStats stats;
    const auto outputs = evaluator.run({{"x", sample_input(p.type)}}, &stats);
    std::vector<std::string> op_types;
    for (const auto& node : stats.node_times) op_types.push_back(node.op_type);
    return op_types;
  };
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
