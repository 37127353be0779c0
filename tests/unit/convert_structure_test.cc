// Real model structure: subgraphs (If/Loop/Scan), outer-scope references, shared initializers,
// Identity-shared weights, old-IR initializer inputs, unnamed nodes, odd graph outputs.
#include <gtest/gtest.h>
#include <onnx_fp16/convert.h>

#include "modelgen/builder.h"
#include "support/conversion.h"
#include "support/ort_client.h"
#include "support/tensor_compare.h"

using namespace test_support;
using modelgen::GraphBuilder;
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int F16 = onnx::TensorProto::FLOAT16;
constexpr int I64 = onnx::TensorProto::INT64;
constexpr int BOOL = onnx::TensorProto::BOOL;

namespace {

void expect_close_to_float32(const onnx::ModelProto& original, const onnx::ModelProto& converted,
                             const std::vector<onnx::TensorProto>& inputs) {
  auto expected = run_in_ort(original, inputs);
  auto actual = run_in_ort(converted, inputs);
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    auto cmp = compare(actual[i], expected[i], {1e-2, 1e-2, 0});
    EXPECT_TRUE(cmp.match) << "output " << i << ": " << cmp.message;
  }
}

// y = If(cond) then Relu(x * w_outer) (outer-scope x and w) else Max(x, k) (Max is blocked)
onnx::ModelProto if_model() {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("cond", BOOL, {}).input("x", F32, {3}).output("y", F32, {3});
  g.initializer("w", {3}, {1.5f, -2.0f, 0.25f});
  auto& node = g.node("If", {"cond"}, {"y"}, "if");
  GraphBuilder then_g(modelgen::attr_graph(node, "then_branch"));
  then_g.node("Mul", {"x", "w"}, {"t1"}, "then_mul");
  then_g.node("Relu", {"t1"}, {"t2"}, "then_relu");
  then_g.output("t2", F32, {3});
  GraphBuilder else_g(modelgen::attr_graph(node, "else_branch"));
  else_g.initializer("k", {3}, {0.5f, 0.5f, 0.5f});
  else_g.node("Max", {"x", "k"}, {"e1"}, "else_max");
  else_g.output("e1", F32, {3});
  return model;
}

onnx::TensorProto bool_scalar(const std::string& name, bool value) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(BOOL);
  t.mutable_raw_data()->assign(1, value ? 1 : 0);
  return t;
}

onnx::TensorProto int64_scalar(const std::string& name, std::int64_t value) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(I64);
  t.mutable_raw_data()->assign(reinterpret_cast<const char*>(&value), 8);
  return t;
}

}  // namespace

TEST(ConvertStructure, IfBranchesStayTypeConsistent) {
  auto [converted, report] = convert_checked(if_model());
  const auto& if_node = *node_named(converted.graph(), "if");
  const auto& else_branch = if_node.attribute(1).g();
  // The else branch's kept Max computes in float32 and its output is cast to the If's float16.
  EXPECT_EQ(else_branch.output(0).type().tensor_type().elem_type(), F16);
  EXPECT_EQ(producer_of(else_branch, else_branch.output(0).name())->op_type(), "Cast");
  EXPECT_EQ(initializer_named(else_branch, "k")->data_type(), F32);  // read only by the kept Max
  EXPECT_EQ(if_node.attribute(0).g().output(0).type().tensor_type().elem_type(), F16);
  EXPECT_EQ(initializer_named(converted.graph(), "w")->data_type(), F16);  // read in float16 inside then
  EXPECT_NE(find_kept(report, "else_max"), nullptr);
}

TEST(ConvertStructure, IfModelRunsInOrt) {
  ONNX_FP16_REQUIRE_ORT_OR_SKIP();
  auto original = if_model();
  auto converted = convert_checked(original).model;
  for (bool c : {true, false}) {
    expect_close_to_float32(original, converted, {bool_scalar("cond", c), float_tensor("x", {3}, {1, -2, 3})});
  }
  onnx_fp16::Float16Options keep;
  keep.keep_io_types = true;
  expect_close_to_float32(original, convert_checked(original, keep).model,
                          {bool_scalar("cond", false), float_tensor("x", {3}, {1, -2, 3})});
}

// Loop: carried acc = Tanh(acc * a + b_outer) for M iterations, plus a scan output.
onnx::ModelProto loop_model() {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("M", I64, {}).input("acc0", F32, {2}).output("acc", F32, {2}).output("trace", F32, {3, 2});
  g.initializer("bias", {2}, {0.1f, -0.1f});
  auto& loop = g.node("Loop", {"M", "", "acc0"}, {"acc", "trace"}, "loop");
  GraphBuilder body(modelgen::attr_graph(loop, "body"));
  body.input("i", I64, {}).input("c", BOOL, {}).input("acc_in", F32, {2});
  body.initializer("a", {2}, {0.9f, 1.1f});
  body.node("Identity", {"c"}, {"c_out"}, "cond_pass");
  body.node("Mul", {"acc_in", "a"}, {"m"}, "body_mul");
  body.node("Add", {"m", "bias"}, {"s"}, "body_add");
  body.node("Tanh", {"s"}, {"acc_out"}, "body_tanh");
  body.node("CumSum", {"acc_out", "axis"}, {"scan_out"}, "body_cumsum");  // blocked by default
  body.initializer_i64("axis", {}, {0});
  body.output("c_out", BOOL, {}).output("acc_out", F32, {2}).output("scan_out", F32, {2});
  return model;
}

TEST(ConvertStructure, LoopCarriedAndScanOutputsFollowTheLoop) {
  auto [converted, report] = convert_checked(loop_model());
  const auto& body = node_named(converted.graph(), "loop")->attribute(0).g();
  EXPECT_EQ(body.input(2).type().tensor_type().elem_type(), F16);   // carried value in
  EXPECT_EQ(body.output(1).type().tensor_type().elem_type(), F16);  // carried value out
  EXPECT_EQ(body.output(2).type().tensor_type().elem_type(), F16);  // scan output, cast after CumSum
  EXPECT_EQ(output_elem_type(converted.graph(), 1), F16);
  EXPECT_NE(find_kept(report, "body_cumsum"), nullptr);
}

TEST(ConvertStructure, LoopModelRunsInOrt) {
  ONNX_FP16_REQUIRE_ORT_OR_SKIP();
  auto original = loop_model();
  expect_close_to_float32(original, convert_checked(original).model,
                          {int64_scalar("M", 3), float_tensor("acc0", {2}, {0.5f, -0.25f})});
}

// Scan (opset 9+): running sum over the rows of x, with a kept op inside.
onnx::ModelProto scan_model() {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("init", F32, {2}).input("xs", F32, {3, 2}).output("final", F32, {2}).output("ys", F32, {3, 2});
  auto& scan = g.node("Scan", {"init", "xs"}, {"final", "ys"}, "scan");
  modelgen::attr_int(scan, "num_scan_inputs", 1);
  GraphBuilder body(modelgen::attr_graph(scan, "body"));
  body.input("state", F32, {2}).input("x", F32, {2});
  body.node("Add", {"state", "x"}, {"next"}, "scan_add");
  body.node("Min", {"next", "next"}, {"y"}, "scan_min");  // blocked by default
  body.output("next", F32, {2}).output("y", F32, {2});
  return model;
}

TEST(ConvertStructure, ScanRunsInOrtWithKeepIoTypes) {
  ONNX_FP16_REQUIRE_ORT_OR_SKIP();
  onnx_fp16::Float16Options keep;
  keep.keep_io_types = true;
  auto original = scan_model();
  auto converted = convert_checked(original, keep).model;
  EXPECT_EQ(input_elem_type(converted.graph(), 1), F32);
  expect_close_to_float32(original, converted,
                          {float_tensor("init", {2}, {0, 1}), float_tensor("xs", {3, 2}, {1, 2, 3, 4, 5, 6})});
}

TEST(ConvertStructure, InitializerSharedByKeptAndConvertedNodeIsDuplicated) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {3}).output("y", F32, {3}).output("z", F32, {3});
  g.initializer("w", {3}, {1.0f, 2.0f, 1e5f});
  g.node("Mul", {"x", "w"}, {"y"}, "mul");
  g.node("Max", {"x", "w"}, {"z"}, "max");
  auto [converted, report] = convert_checked(model);
  EXPECT_EQ(initializer_named(converted.graph(), "w")->data_type(), F32);  // the kept Max reads the original
  const auto* mul = node_named(converted.graph(), "mul");
  const auto* copy = initializer_named(converted.graph(), mul->input(1));
  ASSERT_NE(copy, nullptr) << "the Mul must read an initializer, not a Cast";
  EXPECT_EQ(copy->data_type(), F16);
  EXPECT_EQ(report.initializers_duplicated, 1u);
  EXPECT_EQ(report.values_clamped, 1u);  // 1e5 -> 1e4 in the float16 copy only
  for (const auto* cast : nodes_of(converted.graph(), "Cast")) EXPECT_NE(cast->input(0), "w");
}

TEST(ConvertStructure, WeightReachedThroughIdentityIsConvertedNotCast) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {1, 2}).output("y", F32, {1, 2}).output("y2", F32, {1, 2});
  g.initializer("W", {2, 2}, {1, 2, 3, 4});
  g.node("Identity", {"W"}, {"W_shared"}, "");
  g.node("MatMul", {"x", "W"}, {"h"}, "mm1");
  g.node("MatMul", {"h", "W_shared"}, {"y"}, "mm2");
  g.node("Relu", {"h"}, {"y2"}, "");
  auto [converted, report] = convert_checked(model);
  EXPECT_EQ(initializer_named(converted.graph(), "W")->data_type(), F16);
  EXPECT_TRUE(nodes_of(converted.graph(), "Cast").empty());
  EXPECT_EQ(report.converted_nodes, 4u);
}

TEST(ConvertStructure, InitializerThatIsAlsoGraphInputFollowsTheInput) {
  auto model = modelgen::make_model(9, 3);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).input("w", F32, {2}).output("y", F32, {2});
  g.initializer("w", {2}, {0.5f, 2.0f});
  g.node("Mul", {"x", "w"}, {"y"}, "mul");
  auto [converted, report] = convert_checked(model);
  EXPECT_EQ(input_elem_type(converted.graph(), 1), F16);
  EXPECT_EQ(initializer_named(converted.graph(), "w")->data_type(), F16);
  onnx_fp16::Float16Options keep;
  keep.keep_io_types = true;
  auto kept = convert_checked(model, keep).model;
  EXPECT_EQ(input_elem_type(kept.graph(), 1), F32);
  EXPECT_EQ(initializer_named(kept.graph(), "w")->data_type(), F32);
}

TEST(ConvertStructure, UnnamedAndDuplicateNamedNodes) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.node("Relu", {"x"}, {"a"}, "same");
  g.node("Max", {"a", "x"}, {"b"}, "same");
  g.node("Sigmoid", {"b"}, {"y"}, "");
  auto [converted, report] = convert_checked(model);
  ASSERT_EQ(report.kept_nodes.size(), 1u);
  EXPECT_EQ(report.kept_nodes[0].op_type, "Max");
  auto casts = nodes_of(converted.graph(), "Cast");
  std::set<std::string> names;
  for (const auto& n : converted.graph().node()) {
    if (!n.name().empty()) names.insert(n.name());
  }
  EXPECT_EQ(names.count("same"), 1u);
  for (const auto* c : casts) EXPECT_FALSE(c->name().empty());
}

TEST(ConvertStructure, GraphOutputThatIsAnInputOrAnInitializer) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("x", F32, {2}).output("c", F32, {2}).output("y", F32, {2});
  g.initializer("c", {2}, {3.0f, 4.0f});
  g.node("Max", {"x", "c"}, {"y"}, "max");
  auto [converted, report] = convert_checked(model);
  EXPECT_EQ(output_elem_type(converted.graph(), 0), F16);
  EXPECT_EQ(output_elem_type(converted.graph(), 1), F16);
  EXPECT_EQ(initializer_named(converted.graph(), "c")->data_type(), F16);
  // The kept Max reads a float32 copy of c, not a Cast of it.
  const auto* max = node_named(converted.graph(), "max");
  ASSERT_NE(initializer_named(converted.graph(), max->input(1)), nullptr);
  EXPECT_EQ(initializer_named(converted.graph(), max->input(1))->data_type(), F32);
}

TEST(ConvertStructure, ModelLocalFunctionCallIsKeptAndItsBodyUntouched) {
  auto model = modelgen::make_model(17, 8);
  modelgen::add_opset(model, "local", 1);
  auto* f = model.add_functions();
  f->set_name("Twice");
  f->set_domain("local");
  f->add_input("a");
  f->add_output("b");
  auto* op = f->add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto* add = f->add_node();
  add->set_op_type("Add");
  add->add_input("a");
  add->add_input("a");
  add->add_output("b");
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.value_info("t", F32, {2});
  g.node("Twice", {"x"}, {"t"}, "call", "local");
  g.node("Relu", {"t"}, {"y"}, "relu");
  auto [converted, report] = convert_checked(model);
  ASSERT_NE(find_kept(report, "call"), nullptr);
  EXPECT_EQ(find_kept(report, "call")->reason, onnx_fp16::KeepReason::ModelLocalFunction);
  EXPECT_EQ(converted.functions(0).SerializeAsString(), model.functions(0).SerializeAsString());
}
