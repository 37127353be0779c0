#include "support/planted_model.h"

#include "modelgen/builder.h"

namespace test_support {

std::vector<float> normal_values(std::size_t count, float scale, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> values(count);
  for (float& v : values) v = normal(rng);
  return values;
}

onnx::ModelProto planted_overflow_model() {
  constexpr int kFloat = onnx::TensorProto::FLOAT;
  std::mt19937 rng(11);
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", kFloat, {4, 16}).output("y", kFloat, {4, 8});
  g.initializer("w1", {16, 16}, normal_values(256, 0.3f, rng));
  g.initializer("w2", {16, 8}, normal_values(128, 0.3f, rng));
  g.initializer("gain", {}, {300.0f});
  g.initializer("divisor", {}, {1e5f});
  g.node("MatMul", {"x", "w1"}, {"h"}, "project");
  g.node("Tanh", {"h"}, {"t"}, "activation");
  g.node("Mul", {"h", "gain"}, {"s"}, "planted/scale");
  g.node("Mul", {"s", "s"}, {"e"}, "planted/square");
  g.node("Div", {"e", "divisor"}, {"n"}, "planted/normalize");
  g.node("Add", {"t", "n"}, {"sum"}, "merge");
  g.node("MatMul", {"sum", "w2"}, {"y"}, "head");
  return model;
}

onnx::ModelProto deep_chain_model(int layers) {
  constexpr int kFloat = onnx::TensorProto::FLOAT;
  std::mt19937 rng(5);
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", kFloat, {8, 64}).output("y", kFloat, {8, 64});
  std::string value = "x";
  for (int l = 0; l < layers; ++l) {
    const std::string id = std::to_string(l);
    g.initializer("w" + id, {64, 64}, normal_values(64 * 64, 0.125f, rng));  // 1/sqrt(64): unit gain
    g.initializer("b" + id, {64}, normal_values(64, 0.1f, rng));
    g.node("MatMul", {value, "w" + id}, {"m" + id}, "layer" + id + "/matmul");
    g.node("Add", {"m" + id, "b" + id}, {"a" + id}, "layer" + id + "/bias");
    const std::string out = l + 1 == layers ? "y" : "t" + id;
    g.node("Tanh", {"a" + id}, {out}, "layer" + id + "/tanh");
    value = out;
  }
  return model;
}

onnx_fp16::Feeds planted_model_sample(std::uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  return {{"x", onnx_fp16::Tensor::from_vector<float>({4, 16}, normal_values(64, scale, rng))}};
}

}  // namespace test_support
