// `onnx-fp16 inspect` run as users run it: the built binary in a child process, its census of
// models whose precision the test knows.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/model_io.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "modelgen/builder.h"
#include "support/paths.h"
#include "support/run_cli.h"

namespace {

namespace fs = std::filesystem;
using test_support::CliRun;
using test_support::run_cli;
using test_support::read_file;
using modelgen::GraphBuilder;
using nlohmann::json;
constexpr int F32 = onnx::TensorProto::FLOAT;


// x[2,4] -> MatMul(W) -> Add(b) -> Max(floor) -> Relu -> y[2,4]; converted with the defaults,
// Max stays float32 (default op block list) between two Casts.
onnx::ModelProto converted_model() {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 4}).output("y", F32, {2, 4});
  g.initializer("W", {4, 4}, std::vector<float>(16, 0.5f));
  g.initializer("b", {4}, {0.5f, -0.5f, 0.25f, 0});
  g.initializer("floor", {4}, {-1, -1, -1, -1});
  g.node("MatMul", {"x", "W"}, {"h"}, "matmul");
  g.node("Add", {"h", "b"}, {"z"}, "add");
  g.node("Max", {"z", "floor"}, {"m"}, "max");
  g.node("Relu", {"m"}, {"y"}, "relu");
  onnx_fp16::convert_float_to_float16(model);
  return model;
}

// If(cond) { Identity(x) } else { Neg(x) }: two subgraphs reading the outer x.
onnx::ModelProto if_model() {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("cond", onnx::TensorProto::BOOL, {}).input("x", F32, {2}).output("y", F32, {2});
  auto& if_node = g.node("If", {"cond"}, {"y"}, "if");
  GraphBuilder then_branch(modelgen::attr_graph(if_node, "then_branch"));
  then_branch.output("then_y", F32, {2});
  then_branch.node("Identity", {"x"}, {"then_y"}, "identity");
  GraphBuilder else_branch(modelgen::attr_graph(if_node, "else_branch"));
  else_branch.output("else_y", F32, {2});
  else_branch.node("Neg", {"x"}, {"else_y"}, "neg");
  return model;
}

class CliInspect : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test_support::fresh_temp_dir("cli_inspect"); }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path saved(const onnx::ModelProto& model) {
    const fs::path path = dir_ / "model.onnx";
    onnx_fp16::save_model(model, path);
    return path;
  }

  fs::path dir_;
};

TEST_F(CliInspect, CountsAConvertedModel) {
  const fs::path path = saved(converted_model());
  const CliRun run = run_cli({"inspect", path.string(), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  const json census = json::parse(run.out);
  EXPECT_EQ(census["model"], path.string());
  EXPECT_EQ(census["ir_version"], 8);
  EXPECT_EQ(census["opsets"]["ai.onnx"], 17);
  EXPECT_EQ(census["nodes"], 6);
  EXPECT_EQ(census["subgraphs"], 0);
  // The Cast into Max writes float32, the one out of it float16: each counts as what it writes.
  EXPECT_EQ(census["nodes_by_precision"],
            json::parse(R"({"float32": {"Cast": 1, "Max": 1},
                            "float16": {"Add": 1, "Cast": 1, "MatMul": 1, "Relu": 1}})"));
  EXPECT_EQ(census["casts_by_target"], json::parse(R"({"float16": 1, "float32": 1})"));
  const json& tensors = census["tensors_by_type"];
  EXPECT_EQ(tensors["float16"]["inputs"], 1);
  EXPECT_EQ(tensors["float16"]["outputs"], 1);
  EXPECT_EQ(tensors["float16"]["initializers"], 2);  // W, b
  EXPECT_EQ(tensors["float32"]["inputs"], 0);
  EXPECT_EQ(tensors["float32"]["initializers"], 1);  // floor, read only by Max
  EXPECT_EQ(census["initializer_bytes_by_type"], json::parse(R"({"float16": 40, "float32": 16})"));
  EXPECT_TRUE(census["shape_inference_error"].is_null());
}

TEST_F(CliInspect, PrintsTablesByDefault) {
  const CliRun run = run_cli({"inspect", saved(converted_model()).string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* text : {"IR version 8, opsets: ai.onnx 17", "6 nodes, 0 subgraphs", "Nodes by the precision",
                           "float32", "float16", "Max", "Casts by target type", "Declared tensors by element type"}) {
    EXPECT_NE(run.out.find(text), std::string::npos) << text << " in\n" << run.out;
  }
}

TEST_F(CliInspect, CountsNodesInSubgraphs) {
  const CliRun run = run_cli({"inspect", saved(if_model()).string(), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json census = json::parse(run.out);
  EXPECT_EQ(census["nodes"], 3);
  EXPECT_EQ(census["subgraphs"], 2);
  EXPECT_EQ(census["nodes_by_precision"], json::parse(R"({"float32": {"Identity": 1, "If": 1, "Neg": 1}})"));
  EXPECT_EQ(census["casts_by_target"], json::object());
}

TEST_F(CliInspect, MissingModelIsAnError) {
  const fs::path missing = dir_ / "missing.onnx";
  const CliRun run = run_cli({"inspect", missing.string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(run.err.starts_with("onnx-fp16: error: ")) << run.err;
  EXPECT_NE(run.err.find(missing.string()), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
}

}  // namespace
