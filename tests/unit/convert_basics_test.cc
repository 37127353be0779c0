// The conversion's core rules on small models: what converts, keep_io_types, block lists.
#include <gtest/gtest.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>

#include "modelgen/builder.h"
#include "support/conversion.h"
#include "support/ort_client.h"
#include "support/tensor_compare.h"

using namespace test_support;
using modelgen::GraphBuilder;
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int F16 = onnx::TensorProto::FLOAT16;

namespace {

// x[2,3] -> MatMul(W[3,4]) -> Add(b) -> Relu -> y[2,4]
onnx::ModelProto mlp() {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 3}).output("y", F32, {2, 4});
  g.initializer("W", {3, 4}, {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, -0.9f, 1.0f, 1.1f, 1.2f});
  g.initializer("b", {4}, {0.5f, -0.5f, 0.25f, 1e-9f});
  g.node("MatMul", {"x", "W"}, {"h"}, "matmul");
  g.node("Add", {"h", "b"}, {"z"}, "add");
  g.node("Relu", {"z"}, {"y"}, "relu");
  return model;
}

const std::vector<onnx::TensorProto> kMlpInputs{float_tensor("x", {2, 3}, {1, 2, 3, -1, 0.5f, 2})};

}  // namespace

TEST(ConvertBasics, ConvertsEveryNodeInputOutputAndWeight) {
  auto [model, report] = convert_checked(mlp());
  const auto& g = model.graph();
  EXPECT_EQ(input_elem_type(g, 0), F16);
  EXPECT_EQ(output_elem_type(g, 0), F16);
  EXPECT_EQ(initializer_named(g, "W")->data_type(), F16);
  EXPECT_EQ(initializer_named(g, "b")->data_type(), F16);
  EXPECT_TRUE(nodes_of(g, "Cast").empty());
  EXPECT_EQ(report.converted_nodes, 3u);
  EXPECT_TRUE(report.kept_nodes.empty());
  EXPECT_EQ(report.initializers_converted, 2u);
  EXPECT_EQ(report.values_clamped, 1u);  // b's 1e-9
  EXPECT_EQ(report.float_bytes_before, 64u);
  EXPECT_EQ(report.float_bytes_after, 32u);
}

TEST(ConvertBasics, ConvertedModelRunsInOrtAndAgreesWithFloat32) {
  ONNX_FP16_REQUIRE_ORT_OR_SKIP();
  auto expected = run_in_ort(mlp(), kMlpInputs);
  auto actual = run_in_ort(convert_checked(mlp()).model, kMlpInputs);
  ASSERT_EQ(actual.size(), 1u);
  auto cmp = compare(actual[0], expected[0], {1e-2, 1e-2, 0});
  EXPECT_TRUE(cmp.match) << cmp.message;
}

TEST(ConvertBasics, KeepIoTypesKeepsNamesAndFloat32Boundary) {
  onnx_fp16::Float16Options options;
  options.keep_io_types = true;
  auto [model, report] = convert_checked(mlp(), options);
  const auto& g = model.graph();
  EXPECT_EQ(g.input(0).name(), "x");
  EXPECT_EQ(g.output(0).name(), "y");
  EXPECT_EQ(input_elem_type(g, 0), F32);
  EXPECT_EQ(output_elem_type(g, 0), F32);
  auto casts = nodes_of(g, "Cast");
  ASSERT_EQ(casts.size(), 2u);
  EXPECT_EQ(report.casts_added, 2u);
  // The output keeps its name: the Relu writes elsewhere and the Cast writes "y".
  const auto* out_cast = producer_of(g, "y");
  ASSERT_NE(out_cast, nullptr);
  EXPECT_EQ(out_cast->op_type(), "Cast");
  EXPECT_EQ(out_cast->attribute(0).i(), F32);
  EXPECT_EQ(producer_of(g, out_cast->input(0))->op_type(), "Relu");
  // The input's Cast feeds the MatMul.
  EXPECT_EQ(readers_of(g, "x").front()->op_type(), "Cast");
}

TEST(ConvertBasics, KeepIoNamesKeepsOnlyThose) {
  auto model = mlp();
  GraphBuilder g(model.mutable_graph());
  g.output("z", F32, {2, 4});
  onnx_fp16::Float16Options options;
  options.keep_io_names = {"x", "z"};
  auto converted = convert_checked(model, options).model;
  EXPECT_EQ(input_elem_type(converted.graph(), 0), F32);
  EXPECT_EQ(output_elem_type(converted.graph(), 0), F16);  // y
  EXPECT_EQ(output_elem_type(converted.graph(), 1), F32);  // z
}

TEST(ConvertBasics, DefaultOpBlockListKeepsMaxWithCastsAround) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {4}).input("b", F32, {4}).output("y", F32, {4});
  g.node("Add", {"a", "b"}, {"s"}, "add");
  g.node("Max", {"s", "a"}, {"m"}, "max");
  g.node("Relu", {"m"}, {"y"}, "relu");
  auto [converted, report] = convert_checked(model);
  const auto* kept = find_kept(report, "max");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->reason, onnx_fp16::KeepReason::OpBlockList);
  const auto* max = node_named(converted.graph(), "max");
  for (const auto& in : max->input()) EXPECT_EQ(producer_of(converted.graph(), in)->op_type(), "Cast") << in;
  EXPECT_EQ(readers_of(converted.graph(), max->output(0)).front()->op_type(), "Cast");
  // "a" feeds both the converted Add (float16, as the graph input is) and the kept Max
  // (through one Cast to float32).
  EXPECT_EQ(report.casts_added, 3u);
}

TEST(ConvertBasics, EmptyOpBlockListConvertsMax) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {4}).input("b", F32, {4}).output("y", F32, {4});
  g.node("Max", {"a", "b"}, {"y"}, "max");
  onnx_fp16::Float16Options options;
  options.op_block_list.emplace();  // an empty list: block nothing
  auto [converted, report] = convert_checked(model, options);
  EXPECT_TRUE(report.kept_nodes.empty());
  EXPECT_TRUE(nodes_of(converted.graph(), "Cast").empty());
}

TEST(ConvertBasics, NodeBlockListKeepsNamedNode) {
  onnx_fp16::Float16Options options;
  options.node_block_list = {"add"};
  auto [converted, report] = convert_checked(mlp(), options);
  const auto* kept = find_kept(report, "add");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->reason, onnx_fp16::KeepReason::NodeBlockList);
  // The bias is read only by the kept Add: it stays float32, with no Cast.
  EXPECT_EQ(initializer_named(converted.graph(), "b")->data_type(), F32);
  EXPECT_EQ(report.casts_added, 2u);  // MatMul -> Add, Add -> Relu
}

TEST(ConvertBasics, KeptNeighboursExchangeFloat32Directly) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {4}).input("b", F32, {4}).output("y", F32, {4});
  g.node("Max", {"a", "b"}, {"m"}, "max");
  g.node("Min", {"m", "b"}, {"n"}, "min");
  g.node("Relu", {"n"}, {"y"}, "relu");
  auto [converted, report] = convert_checked(model);
  EXPECT_EQ(node_named(converted.graph(), "min")->input(0), "m");  // no round trip between kept nodes
  // a and b to float32 (b once, shared by both kept readers), n to float16.
  EXPECT_EQ(report.casts_added, 3u);
}

TEST(ConvertBasics, OneCastPerTensorAndTargetSharedByReaders) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {4}).output("y1", F32, {4}).output("y2", F32, {4}).output("y3", F32, {4});
  g.node("Relu", {"a"}, {"r"}, "relu");
  g.node("Max", {"r", "r"}, {"y1"}, "max");
  g.node("Min", {"r", "r"}, {"y2"}, "min");
  g.node("CumSum", {"r", "axis"}, {"y3"}, "cumsum");
  g.initializer_i64("axis", {}, {0});
  auto [converted, report] = convert_checked(model);
  int casts_of_r = 0;
  for (const auto* cast : nodes_of(converted.graph(), "Cast")) casts_of_r += cast->input(0) == "r";
  EXPECT_EQ(casts_of_r, 1);
}

TEST(ConvertBasics, AllNodesBlockedWithKeepIoComputesExactlyFloat32) {
  onnx_fp16::Float16Options options;
  options.keep_io_types = true;
  auto original = mlp();
  for (const auto& node : original.graph().node()) {
    ASSERT_FALSE(node.name().empty());
    options.node_block_list.push_back(node.name());
  }
  auto [converted, report] = convert_checked(original, options);
  EXPECT_TRUE(nodes_of(converted.graph(), "Cast").empty());
  EXPECT_EQ(initializer_named(converted.graph(), "b")->data_type(), F32);
  EXPECT_EQ(report.kept_nodes.size(), 3u);
  // Nothing was rounded: the graph is the original one.
  EXPECT_EQ(converted.graph().node_size(), original.graph().node_size());
  EXPECT_EQ(initializer_named(converted.graph(), "b")->raw_data(), initializer_named(original.graph(), "b")->raw_data());
}

TEST(ConvertBasics, OutputIsDeterministic) {
  auto a = convert_checked(mlp()).model;
  auto b = convert_checked(mlp()).model;
  std::string sa, sb;
  a.SerializeToString(&sa);
  b.SerializeToString(&sb);
  EXPECT_EQ(sa, sb);
}

TEST(ConvertBasics, RefusesModelAlreadyInFloat16UnlessForced) {
  auto once = convert_checked(mlp()).model;
  try {
    auto again = once;
    onnx_fp16::convert_float_to_float16(again);
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds float16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
  onnx_fp16::Float16Options force;
  force.force = true;
  auto again = once;
  EXPECT_NO_THROW(onnx_fp16::convert_float_to_float16(again, force));
}

TEST(ConvertBasics, BFloat16TargetConvertsWithoutClamping) {
  onnx_fp16::Float16Options options;
  options.target = onnx_fp16::TargetType::BFloat16;
  auto [converted, report] = convert_checked(mlp(), options);
  EXPECT_EQ(initializer_named(converted.graph(), "W")->data_type(), onnx::TensorProto::BFLOAT16);
  EXPECT_EQ(input_elem_type(converted.graph(), 0), onnx::TensorProto::BFLOAT16);
  EXPECT_EQ(report.values_clamped, 0u);
}

TEST(ConvertBasics, NewerOpsetStillConverts) {
  auto model = mlp();
  model.mutable_opset_import(0)->set_version(21);
  model.set_ir_version(10);
  auto report = onnx_fp16::convert_float_to_float16(model);
  EXPECT_EQ(report.converted_nodes, 3u);
  EXPECT_EQ(initializer_named(model.graph(), "W")->data_type(), F16);
}

TEST(ConvertBasics, DisableShapeInferTypesThroughSchemasAlone) {
  // No value_info at all: the intermediate types come from the schemas (MatMul's T binds its
  // output to its float32 inputs), so the conversion needs no ONNX shape inference.
  onnx_fp16::Float16Options options;
  options.disable_shape_infer = true;
  options.op_block_list = std::vector<std::string>(1, "Relu");
  auto [converted, report] = convert_checked(mlp(), options);
  EXPECT_FALSE(report.shape_inference_ran);
  ASSERT_NE(find_kept(report, "relu"), nullptr);
  // The kept Relu reads "z" through a Cast to float32: the converter knew "z" was float16.
  const auto* relu = node_named(converted.graph(), "relu");
  EXPECT_EQ(producer_of(converted.graph(), relu->input(0))->op_type(), "Cast");
  // Shape inference, when it runs, leaves value_info behind; disabled, it leaves none for "h".
  EXPECT_EQ(declared_elem_type(converted.graph(), "h"), 0);
}
