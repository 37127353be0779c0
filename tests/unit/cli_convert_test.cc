// `onnx-fp16 convert` run as users run it: the built binary in a child process, checked by its
// exit status, its stdout/stderr and the files it leaves behind.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/tensor_io.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "modelgen/builder.h"
#include "support/conversion.h"
#include "support/paths.h"
#include "support/run_cli.h"

namespace {

namespace fs = std::filesystem;
using namespace test_support;
using modelgen::GraphBuilder;
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int F16 = onnx::TensorProto::FLOAT16;


// x[2,4] -> MatMul(W) -> Add(b) -> Max(floor) -> Relu -> y[2,4]. Max is on the default op block list.
onnx::ModelProto small_model() {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 4}).output("y", F32, {2, 4});
  g.initializer("W", {4, 4}, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1e-9f});
  g.initializer("b", {4}, {0.5f, -0.5f, 0.25f, 0});
  g.initializer("floor", {4}, {-1, -1, -1, -1});
  g.node("MatMul", {"x", "W"}, {"h"}, "matmul");
  g.node("Add", {"h", "b"}, {"z"}, "add");
  g.node("Max", {"z", "floor"}, {"m"}, "max");
  g.node("Relu", {"m"}, {"y"}, "relu");
  return model;
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// The one error line the CLI promises, and nothing else on stderr.
void expect_one_error_line(const CliRun& run, const std::string& must_contain) {
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_TRUE(run.err.starts_with("onnx-fp16: error: ")) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find(must_contain), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
}

class CliConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_temp_dir("cli_convert");
    input_ = dir_ / "model.onnx";
    output_ = dir_ / "model_fp16.onnx";
    onnx_fp16::save_model(small_model(), input_);
    input_bytes_ = read_file(input_);
  }
  void TearDown() override {
    EXPECT_EQ(read_file(input_), input_bytes_) << "the input file changed";
    fs::remove_all(dir_);
  }

  CliRun convert(std::vector<std::string> options) {
    options.insert(options.begin(), {"convert", input_.string(), output_.string()});
    return run_cli(options);
  }

  fs::path dir_, input_, output_;
  std::string input_bytes_;
};

TEST_F(CliConvert, WritesFloat16ModelAndSummary) {
  const CliRun run = convert({});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  const auto model = onnx_fp16::load_model(output_);
  const auto& g = model.graph();
  EXPECT_EQ(input_elem_type(g, 0), F16);
  EXPECT_EQ(output_elem_type(g, 0), F16);
  EXPECT_EQ(initializer_named(g, "W")->data_type(), F16);
  EXPECT_EQ(initializer_named(g, "floor")->data_type(), F32);  // read only by the kept Max
  EXPECT_NE(run.out.find("3 converted, 1 kept"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("max"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("op_block_list"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(output_.string()), std::string::npos) << run.out;
  EXPECT_EQ(files_in(dir_), (std::set<std::string>{"model.onnx", "model_fp16.onnx"}));
}

TEST_F(CliConvert, KeepIoTypesKeepsFloat32Boundary) {
  ASSERT_EQ(convert({"--keep-io-types"}).exit_code, 0);
  const auto model = onnx_fp16::load_model(output_);
  EXPECT_EQ(input_elem_type(model.graph(), 0), F32);
  EXPECT_EQ(output_elem_type(model.graph(), 0), F32);
  EXPECT_EQ(initializer_named(model.graph(), "W")->data_type(), F16);
}

TEST_F(CliConvert, KeepIoKeepsOnlyTheNamedOnes) {
  ASSERT_EQ(convert({"--keep-io", "x"}).exit_code, 0);
  const auto model = onnx_fp16::load_model(output_);
  EXPECT_EQ(input_elem_type(model.graph(), 0), F32);
  EXPECT_EQ(output_elem_type(model.graph(), 0), F16);
}

TEST_F(CliConvert, WarnsAboutNamesThatMatchNothing) {
  const CliRun run = convert({"--keep-io", "nosuch_input", "--node-block-list", "add,nosuch_node"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("onnx-fp16: warning: --keep-io: not an input or output of the model: 'nosuch_input'"),
            std::string::npos) << run.err;
  EXPECT_NE(run.err.find("onnx-fp16: warning: --node-block-list: the model has no node named 'nosuch_node'"),
            std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("'add'"), std::string::npos) << run.err;
}

TEST_F(CliConvert, OpBlockListReplacesTheDefaultList) {
  ASSERT_EQ(convert({"--op-block-list", "Relu"}).exit_code, 0);
  const auto model = onnx_fp16::load_model(output_);
  const auto& g = model.graph();
  // Max converts now (it reads the float16 floor); Relu is kept and reads float32 through a Cast.
  EXPECT_EQ(initializer_named(g, "floor")->data_type(), F16);
  const auto* relu = node_named(g, "relu");
  ASSERT_NE(relu, nullptr);
  EXPECT_EQ(producer_of(g, relu->input(0))->op_type(), "Cast");
}

TEST_F(CliConvert, EmptyOpBlockListConvertsEverything) {
  for (const std::vector<std::string>& options : {std::vector<std::string>{"--op-block-list", ""},
                                                  std::vector<std::string>{"--no-op-block-list"}}) {
    ASSERT_EQ(convert(options).exit_code, 0) << options[0];
    const auto model = onnx_fp16::load_model(output_);
    EXPECT_TRUE(nodes_of(model.graph(), "Cast").empty()) << options[0];
    EXPECT_EQ(initializer_named(model.graph(), "floor")->data_type(), F16) << options[0];
  }
}

TEST_F(CliConvert, NodeBlockListKeepsTheNamedNodes) {
  ASSERT_EQ(convert({"--node-block-list", "add", "--no-op-block-list"}).exit_code, 0);
  const auto model = onnx_fp16::load_model(output_);
  const auto& g = model.graph();
  EXPECT_EQ(initializer_named(g, "b")->data_type(), F32);  // read only by the kept Add
  EXPECT_EQ(initializer_named(g, "W")->data_type(), F16);
  EXPECT_EQ(producer_of(g, node_named(g, "add")->input(0))->op_type(), "Cast");
}

TEST_F(CliConvert, ReportDescribesTheConversion) {
  const fs::path report_path = dir_ / "report.json";
  const CliRun run = convert({"--report", report_path.string(), "--node-block-list", "add"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto report = nlohmann::json::parse(read_file(report_path));
  EXPECT_EQ(report["input"], input_.string());
  EXPECT_EQ(report["output"], output_.string());
  EXPECT_EQ(report["converted_nodes"], 2);
  ASSERT_EQ(report["kept_nodes"].size(), 2u);
  std::set<std::string> kept;
  for (const auto& node : report["kept_nodes"]) {
    kept.insert(node["name"].get<std::string>() + ":" + node["op_type"].get<std::string>() + ":" +
                node["reason"].get<std::string>() + ":" + node["graph"].get<std::string>());
    EXPECT_TRUE(node.contains("detail"));
  }
  EXPECT_EQ(kept, (std::set<std::string>{"add:Add:node_block_list:main", "max:Max:op_block_list:main"}));
  EXPECT_GT(report["casts_added"].get<int>(), 0);
  EXPECT_EQ(report["initializers_converted"], 1);  // W; b and floor are read by kept nodes only
  EXPECT_EQ(report["initializers_duplicated"], 0);
  EXPECT_EQ(report["constants_converted"], 0);
  EXPECT_EQ(report["values_clamped"], 1);  // W's 1e-9
  EXPECT_EQ(report["bytes"]["float_constants_before"], 96);
  EXPECT_EQ(report["bytes"]["float_constants_after"], 64);
  EXPECT_EQ(report["bytes"]["input_file"], fs::file_size(input_));
  EXPECT_EQ(report["bytes"]["output_file"], fs::file_size(output_));
  for (const char* step : {"load", "convert", "save", "total"}) EXPECT_GE(report["time_seconds"][step].get<double>(), 0) << step;
  EXPECT_EQ(report["shape_inference"]["ran"], true);
  EXPECT_TRUE(report["shape_inference"]["error"].is_null());
  EXPECT_TRUE(report["warnings"].is_array());
  const auto& options = report["options"];
  EXPECT_EQ(options["to"], "float16");
  EXPECT_DOUBLE_EQ(options["min_positive_val"].get<double>(), 1e-7);
  EXPECT_DOUBLE_EQ(options["max_finite_val"].get<double>(), 1e4);
  EXPECT_EQ(options["keep_io_types"], false);
  EXPECT_EQ(options["node_block_list"], nlohmann::json::array({"add"}));
  EXPECT_EQ(options["op_block_list"].get<std::vector<std::string>>(), onnx_fp16::default_op_block_list());
  EXPECT_EQ(options["op_block_list_is_default"], true);
}

TEST_F(CliConvert, ReportRecordsClampingOptionsAsWritten) {
  const fs::path report_path = dir_ / "report.json";
  ASSERT_EQ(convert({"--report", report_path.string(), "--min-positive-val", "1e-5", "--max-finite-val", "100"}).exit_code, 0);
  const auto report = nlohmann::json::parse(read_file(report_path));
  EXPECT_EQ(report["options"]["min_positive_val"].dump(), "1e-05");
  EXPECT_EQ(report["options"]["max_finite_val"].dump(), "100.0");
}

TEST_F(CliConvert, MissingInputFileIsNamed) {
  const fs::path missing = dir_ / "missing.onnx";
  const CliRun run = run_cli({"convert", missing.string(), output_.string()});
  expect_one_error_line(run, missing.string());
  EXPECT_FALSE(fs::exists(output_));
}

TEST_F(CliConvert, NotAnOnnxFileIsRefused) {
  const fs::path text = dir_ / "notes.onnx";
  std::ofstream(text) << "these are not the weights you are looking for\n";
  const CliRun run = run_cli({"convert", text.string(), output_.string()});
  expect_one_error_line(run, text.string());
  EXPECT_NE(run.err.find("not an ONNX model"), std::string::npos) << run.err;
  EXPECT_EQ(files_in(dir_), (std::set<std::string>{"model.onnx", "notes.onnx"}));
}

TEST_F(CliConvert, TruncatedModelIsRefused) {
  const fs::path truncated = dir_ / "truncated.onnx";
  std::ofstream(truncated, std::ios::binary) << input_bytes_.substr(0, input_bytes_.size() / 2);
  const CliRun run = run_cli({"convert", truncated.string(), output_.string()});
  expect_one_error_line(run, truncated.string());
  EXPECT_EQ(files_in(dir_), (std::set<std::string>{"model.onnx", "truncated.onnx"}));
}

// Add reads Relu's output and Relu reads Add's: no order can run it, and a converted copy would
// fail the checker. Every subcommand refuses it with one line naming the nodes and values.
TEST_F(CliConvert, CyclicGraphIsRefusedByEverySubcommand) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.node("Add", {"x", "r"}, {"a"}, "add");
  g.node("Relu", {"a"}, {"r"}, "relu");
  g.node("Identity", {"r"}, {"y"}, "out");
  const fs::path cyclic = dir_ / "cyclic.onnx";
  onnx_fp16::save_model(model, cyclic);
  const fs::path sample = dir_ / "x.npz";
  onnx_fp16::write_npz(sample, {{"x", onnx_fp16::Tensor::from_vector<float>({2}, {1, -1})}});
  const std::string cycle = "graph 'main' has a cycle: node 'add' (Add) reads 'r' from node 'relu' (Relu)";
  expect_one_error_line(run_cli({"convert", cyclic.string(), output_.string()}), cycle);
  expect_one_error_line(run_cli({"inspect", cyclic.string()}), cycle);
  expect_one_error_line(run_cli({"run", cyclic.string(), "--input", sample.string(), "--output", (dir_ / "y.npz").string()}),
                        cycle);
  expect_one_error_line(run_cli({"auto-mixed", cyclic.string(), output_.string(), "--input", sample.string(), "--rtol",
                                 "0.01", "--quiet"}),
                        cycle);
  EXPECT_EQ(files_in(dir_), (std::set<std::string>{"model.onnx", "cyclic.onnx", "x.npz"}));
}

// ONNX's shape inference trusts the types a schema allows (its STFT inference crashed on an int64
// signal: found by fuzz_convert). A declared type the schema does not allow is refused first,
// naming node, value and port; nothing is written.
TEST_F(CliConvert, DeclaredTypeTheSchemaForbidsIsRefused) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("signal", onnx::TensorProto::INT64, {1, 128, 1}).input("step", onnx::TensorProto::INT64, {});
  g.output("y", F32, {1, 15, 9, 2});
  g.node("STFT", {"signal", "step"}, {"y"}, "stft");
  const fs::path bad = dir_ / "stft_int64.onnx";
  onnx_fp16::save_model(model, bad);
  expect_one_error_line(run_cli({"convert", bad.string(), output_.string()}),
                        "node 'stft' (STFT) reads 'signal' as input 0: int64, which its schema (opset 17) does not allow there");
  EXPECT_FALSE(fs::exists(output_));
  // With ONNX's shape inference off nothing needs refusing: the conversion's own typing runs no
  // inference function of ONNX's.
  const CliRun without_inference = run_cli({"convert", bad.string(), output_.string(), "--disable-shape-infer"});
  EXPECT_EQ(without_inference.exit_code, 0) << without_inference.err;
}

// ONNX 1.12's Conv-family inference reads the weights' dims by the input's rank,
// LayerNormalization's sizes its Mean by an unchecked axis, EyeLike's dereferences the type of
// an input that declares none, MaxUnpool's reads a map as a tensor and pooling divides by its
// strides: such models crashed it (a segmentation fault; found by
// fuzz_convert). The guards turn that into a refusal naming the
// node, whether the input's rank is declared or inferred (here from a Reshape, which only shape
// inference knows), in convert and inspect alike.
TEST_F(CliConvert, ShapesOnnxInferenceCannotTakeAreRefusedNotACrash) {
  auto declared = modelgen::make_model(13);
  GraphBuilder d(declared.mutable_graph());
  d.input("X", F32, {1, 1, 3}).initializer("W", {1, 1, 3, 3}, std::vector<float>(9, 1.0f)).output("Y", F32, {});
  d.node("Conv", {"X", "W"}, {"Y"}, "conv");
  auto inferred = modelgen::make_model(13);
  GraphBuilder i(inferred.mutable_graph());
  i.input("X", F32, {1, 1, 3}).initializer("W", {1, 1, 3}, std::vector<float>(3, 1.0f)).output("Y", F32, {});
  i.initializer_i64("shape", {2}, {1, 3});
  i.node("Reshape", {"X", "shape"}, {"r"}, "reshape");
  i.node("ConvTranspose", {"r", "W"}, {"Y"}, "deconv");
  auto layer_norm = modelgen::make_model(17);  // its inference sized Mean by an unchecked axis
  GraphBuilder l(layer_norm.mutable_graph());
  l.input("X", F32, {2, 3, 5}).initializer("scale", {5}, std::vector<float>(5, 1.0f)).output("Y", F32, {});
  l.output("mean", F32, {});
  modelgen::attr_int(l.node("LayerNormalization", {"X", "scale"}, {"Y", "mean"}, "norm"), "axis", -120);
  auto untyped = modelgen::make_model(13);  // its inference dereferenced the missing type
  GraphBuilder u(untyped.mutable_graph());
  u.input("x", F32, {3, 4}).output("y", F32, {3, 4});
  u.node("EyeLike", {"x"}, {"y"}, "eye");
  untyped.mutable_graph()->mutable_input(0)->clear_type();
  auto map_input = modelgen::make_model(11);  // its inference read the map as a tensor
  GraphBuilder m(map_input.mutable_graph());
  m.input("x", F32, {1, 1, 2, 2}).input("indices", onnx::TensorProto::INT64, {1, 1, 2, 2}).output("y", F32, {});
  modelgen::attr_ints(m.node("MaxUnpool", {"x", "indices"}, {"y"}, "unpool"), "kernel_shape", {2, 2});
  onnx::TypeProto_Map& map = *map_input.mutable_graph()->mutable_input(1)->mutable_type()->mutable_map_type();
  map.set_key_type(onnx::TensorProto::INT64);
  map.mutable_value_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT32);
  auto zero_stride = modelgen::make_model(12);  // its inference divided by the stride (SIGFPE)
  GraphBuilder z(zero_stride.mutable_graph());
  z.input("x", F32, {1, 1, 5, 5}).output("y", F32, {});
  onnx::NodeProto& pool = z.node("MaxPool", {"x"}, {"y"}, "pool");
  modelgen::attr_ints(pool, "kernel_shape", {3, 3});
  modelgen::attr_ints(pool, "strides", {0, 2});
  auto in_branch = modelgen::make_model(13);  // the Conv in a sub-graph, reading the main graph's values
  GraphBuilder b(in_branch.mutable_graph());
  b.input("c", onnx::TensorProto::BOOL, {}).input("X", F32, {1, 1, 3});
  b.initializer("W", {1, 1, 3, 3}, std::vector<float>(9, 1.0f)).output("Y", F32, {});
  onnx::NodeProto& branch_if = b.node("If", {"c"}, {"Y"}, "choose");
  for (const std::string branch : {"then_branch", "else_branch"}) {
    onnx::AttributeProto& attribute = *branch_if.add_attribute();
    attribute.set_name(branch);
    attribute.set_type(onnx::AttributeProto::GRAPH);
    GraphBuilder body(attribute.mutable_g());
    body.output_untyped(branch + "_y");
    body.node(branch == "then_branch" ? "Conv" : "Identity",
              branch == "then_branch" ? std::vector<std::string>{"X", "W"} : std::vector<std::string>{"X"},
              {branch + "_y"}, branch == "then_branch" ? "branch_conv" : "branch_identity");
  }
  const std::vector<std::pair<onnx::ModelProto, std::string>> cases{
      {in_branch, "node 'branch_conv' (Conv) reads 'W' of rank 4 with 'X' of rank 3: Conv needs them of the same rank"},
      {untyped, "graph input 'x' declares no type (the model is invalid)"},
      {zero_stride, "node 'pool' (MaxPool) has a stride of 0: MaxPool needs strides of at least 1"},
      {map_input, "node 'unpool' (MaxUnpool) reads 'indices' as input 1: a map, which its schema (opset 11) does not allow there"},
      {declared, "node 'conv' (Conv) reads 'W' of rank 4 with 'X' of rank 3: Conv needs them of the same rank"},
      {layer_norm, "node 'norm' (LayerNormalization) has axis -120 for 'X' of rank 3: LayerNormalization needs one in [-3, 3)"},
      {inferred, "node 'deconv' (ConvTranspose) reads 'W' of rank 3 with 'r' of rank 2: ConvTranspose needs them of the same rank"}};
  for (const auto& [model, message] : cases) {
    const fs::path bad = dir_ / "bad_conv.onnx";
    onnx_fp16::save_model(model, bad);
    expect_one_error_line(run_cli({"convert", bad.string(), output_.string()}), message);
    EXPECT_FALSE(fs::exists(output_));
    expect_one_error_line(run_cli({"inspect", bad.string()}), message);
  }
}

TEST_F(CliConvert, MissingOutputFolderWritesNothing) {
  const fs::path report_path = dir_ / "report.json";
  const fs::path output = dir_ / "no_such_folder" / "out.onnx";
  const CliRun run = run_cli({"convert", input_.string(), output.string(), "--report", report_path.string()});
  expect_one_error_line(run, (dir_ / "no_such_folder").string());
  EXPECT_EQ(files_in(dir_), std::set<std::string>{"model.onnx"});
}

TEST_F(CliConvert, MissingReportFolderWritesNothing) {
  const CliRun run = convert({"--report", (dir_ / "no_such_folder" / "report.json").string()});
  expect_one_error_line(run, "no_such_folder");
  EXPECT_EQ(files_in(dir_), std::set<std::string>{"model.onnx"});
}

TEST_F(CliConvert, Float16ModelNeedsForce) {
  ASSERT_EQ(convert({}).exit_code, 0);
  const fs::path again = dir_ / "again.onnx";
  const CliRun refused = run_cli({"convert", output_.string(), again.string()});
  expect_one_error_line(refused, "already holds float16");
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(again));

  const CliRun forced = run_cli({"convert", output_.string(), again.string(), "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(fs::exists(again));
}

TEST_F(CliConvert, SameInputAndOutputIsRefused) {
  for (const fs::path& same : {input_, dir_ / "." / "model.onnx"}) {
    const CliRun run = run_cli({"convert", input_.string(), same.string()});
    expect_one_error_line(run, "is the input model");
  }
  // The same file under another name (a hard link) counts as the same file.
  fs::create_hard_link(input_, dir_ / "link.onnx");
  expect_one_error_line(run_cli({"convert", input_.string(), (dir_ / "link.onnx").string()}), "is the input model");
  // The external data file may not replace the input either.
  expect_one_error_line(run_cli({"convert", input_.string(), output_.string(), "--external-data", "model.onnx"}),
                        "is the input model");
  EXPECT_FALSE(fs::exists(output_));
}

TEST_F(CliConvert, ExternalDataGoesBesideTheOutput) {
  // The small model's tensors are under the default 1 KiB threshold: a bigger weight goes out.
  auto model = small_model();
  GraphBuilder g(model.mutable_graph());
  g.initializer("big", {1024}, std::vector<float>(1024, 0.5f));
  g.output("big_out", F32, {1024});
  g.node("Relu", {"big"}, {"big_out"}, "relu_big");
  onnx_fp16::save_model(model, input_);
  input_bytes_ = read_file(input_);

  const CliRun ok = convert({"--external-data", "weights.bin"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_TRUE(fs::exists(dir_ / "weights.bin"));
  EXPECT_EQ(fs::file_size(dir_ / "weights.bin"), 2048u);  // 1024 float16 values
  EXPECT_NE(ok.out.find("weights.bin"), std::string::npos) << ok.out;
  const auto converted = onnx_fp16::load_model(output_);
  EXPECT_EQ(initializer_named(converted.graph(), "big")->data_type(), F16);
  EXPECT_EQ(initializer_named(converted.graph(), "big")->raw_data().size(), 2048u);

  expect_one_error_line(convert({"--external-data", "sub/weights.bin"}), "plain file name");
}

TEST_F(CliConvert, NeverOverwritesTheInputsExternalData) {
  auto model = small_model();
  GraphBuilder g(model.mutable_graph());
  g.initializer("big", {1024}, std::vector<float>(1024, 0.5f));
  g.output("big_out", F32, {1024});
  g.node("Relu", {"big"}, {"big_out"}, "relu_big");
  onnx_fp16::SaveOptions external;
  external.external_data_file = "shared.bin";
  onnx_fp16::save_model(model, input_, external);
  input_bytes_ = read_file(input_);
  const std::string data_before = read_file(dir_ / "shared.bin");
  ASSERT_FALSE(data_before.empty());

  expect_one_error_line(convert({"--external-data", "shared.bin"}), "of the input model; the input is never overwritten");
  EXPECT_EQ(read_file(dir_ / "shared.bin"), data_before);
  EXPECT_FALSE(fs::exists(output_));
}

TEST_F(CliConvert, CheckQuietAndBfloat16) {
  const CliRun checked = convert({"--check"});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_NE(checked.out.find("passes the ONNX checker"), std::string::npos) << checked.out;

  const CliRun quiet = convert({"--quiet", "--to", "bfloat16"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "");
  EXPECT_EQ(quiet.err, "");
  const auto model = onnx_fp16::load_model(output_);
  EXPECT_EQ(initializer_named(model.graph(), "W")->data_type(), onnx::TensorProto::BFLOAT16);
}

TEST_F(CliConvert, UsageErrorsExitWithTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"convert", input_.string()}, std::vector<std::string>{"convert", "--no-such-option"},
        std::vector<std::string>{"convert", input_.string(), output_.string(), "--to", "float8"},
        std::vector<std::string>{"convert", input_.string(), output_.string(), "--keep-io-types", "--keep-io", "x"},
        std::vector<std::string>{"convert", input_.string(), output_.string(), "--min-positive-val", "-1"},
        std::vector<std::string>{"convert", input_.string(), output_.string(), "--op-block-list", "Max",
                                 "--no-op-block-list"},
        std::vector<std::string>{}, std::vector<std::string>{"frobnicate"}}) {
    const CliRun run = run_cli(args);
    EXPECT_EQ(run.exit_code, 2) << (args.empty() ? "" : args.back()) << ": " << run.err;
  }
  EXPECT_FALSE(fs::exists(output_));
}

TEST(CliTopLevel, HelpAndVersion) {
  const CliRun help = run_cli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("convert"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("inspect"), std::string::npos) << help.out;

  const CliRun convert_help = run_cli({"convert", "--help"});
  EXPECT_EQ(convert_help.exit_code, 0);
  for (const char* option : {"--min-positive-val", "--max-finite-val", "--keep-io-types", "--keep-io", "--disable-shape-infer",
                             "--op-block-list", "--no-op-block-list", "--node-block-list", "--to", "--force",
                             "--external-data", "--report", "--check", "--quiet"}) {
    EXPECT_NE(convert_help.out.find(option), std::string::npos) << option;
  }

  const CliRun version = run_cli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(version.out.starts_with("onnx-fp16 ")) << version.out;
}

}  // namespace
