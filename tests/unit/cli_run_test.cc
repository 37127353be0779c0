// `onnx-fp16 run` as users run it: the built binary on small models and input files written by
// our own writer, the output .npz read back, and the errors for inputs that do not fit.

#include <gtest/gtest.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/tensor_io.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "modelgen/builder.h"
#include "support/paths.h"
#include "support/run_cli.h"

namespace {

namespace fs = std::filesystem;
using modelgen::GraphBuilder;
using onnx_fp16::Tensor;
using test_support::CliRun;
using test_support::fresh_temp_dir;
using test_support::run_cli;
constexpr int F32 = onnx::TensorProto::FLOAT;

// y = Relu(x * scale + b), with the intermediate "h" = x * scale + b.
fs::path save_two_input_model(const fs::path& dir) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 3}).input("scale", F32, {3}).output("y", F32, {2, 3});
  g.initializer("b", {3}, {0.5f, -10.0f, 0.0f});
  g.node("Mul", {"x", "scale"}, {"m"}, "mul");
  g.node("Add", {"m", "b"}, {"h"}, "add");
  g.node("Relu", {"h"}, {"y"}, "relu");
  const fs::path path = dir / "two_inputs.onnx";
  onnx_fp16::save_model(model, path);
  return path;
}

// y = Neg(x) with a symbolic batch dimension.
fs::path save_one_input_model(const fs::path& dir) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {"batch", 2}).output("y", F32, {"batch", 2});
  g.node("Neg", {"x"}, {"y"}, "neg");
  const fs::path path = dir / "one_input.onnx";
  onnx_fp16::save_model(model, path);
  return path;
}

const Tensor kX = Tensor::from_vector<float>({2, 3}, {1, 2, 3, -4, -5, -6});
const Tensor kScale = Tensor::from_vector<float>({3}, {2, 1, 0.5f});

std::vector<float> floats(const Tensor& t) {
  auto span = t.data<float>();
  return {span.begin(), span.end()};
}

std::size_t lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

// A failed run: exit status 1, one error line holding every piece of `expected`, no output.
void expect_run_error(const CliRun& run, const fs::path& output, const std::vector<std::string>& expected) {
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_EQ(lines(run.err), 1u) << run.err;
  for (const auto& piece : expected) EXPECT_NE(run.err.find(piece), std::string::npos) << "'" << piece << "' not in: " << run.err;
  EXPECT_FALSE(fs::exists(output));
}

TEST(CliRun, RunsTheModelAndWritesOutputsAndKeptValues) {
  const fs::path dir = fresh_temp_dir("cli_run");
  const fs::path model = save_two_input_model(dir);
  onnx_fp16::write_npz(dir / "in.npz", {{"x", kX}, {"scale", kScale}});
  const CliRun run = run_cli({"run", model.string(), "--input", (dir / "in.npz").string(), "--output",
                              (dir / "out.npz").string(), "--threads", "2", "--keep", "h"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  const auto out = onnx_fp16::read_tensors(dir / "out.npz");
  ASSERT_EQ(out.size(), 2u);
  // h = x * scale + b = [2.5, -8, 1.5, -7.5, -15, -3]; y = Relu(h).
  EXPECT_EQ(floats(out.at("h")), (std::vector<float>{2.5f, -8, 1.5f, -7.5f, -15, -3}));
  EXPECT_EQ(floats(out.at("y")), (std::vector<float>{2.5f, 0, 1.5f, 0, 0, 0}));
  EXPECT_EQ(out.at("y").shape(), (onnx_fp16::Shape{2, 3}));
  // The summary names each tensor with its type and shape, kept values marked.
  EXPECT_NE(run.out.find("y  FLOAT"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("[2,3]"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("(kept)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("3 nodes"), std::string::npos) << run.out;
}

// --repeat runs the model N times and reports the first run apart from the others; --profile
// shows each op type of the main graph with its node count, and the slowest nodes by name.
TEST(CliRun, RepeatAndProfileShowWhereTheTimeGoes) {
  const fs::path dir = fresh_temp_dir("cli_run_profile");
  const fs::path model = save_two_input_model(dir);
  onnx_fp16::write_npz(dir / "in.npz", {{"x", kX}, {"scale", kScale}});
  const CliRun run = run_cli({"run", model.string(), "--input", (dir / "in.npz").string(), "--output",
                              (dir / "out.npz").string(), "--repeat", "4", "--profile"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("Ran 4 times: first "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(", then median "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Time by op type (per run, the runs after the first"), std::string::npos) << run.out;
  // One row per op type, with how many nodes of that type the graph has; the Relu runs inside
  // the Add that feeds it (the executor's fused pairs), and the row says so.
  for (const char* op : {"Mul", "Add+Relu"}) {
    const auto row = run.out.find("\n  " + std::string(op) + " ");
    ASSERT_NE(row, std::string::npos) << op << " missing in: " << run.out;
    const std::string line = run.out.substr(row + 1, run.out.find('\n', row + 1) - row - 1);
    EXPECT_NE(line.find(" 1  "), std::string::npos) << line;
  }
  for (const char* node : {"'mul' (Mul)", "'add' (Add+Relu)"}) {
    EXPECT_NE(run.out.find(node), std::string::npos) << node << " missing in: " << run.out;
  }
  // The outputs are still written, once.
  EXPECT_EQ(floats(onnx_fp16::read_tensors(dir / "out.npz").at("y")), (std::vector<float>{2.5f, 0, 1.5f, 0, 0, 0}));
  // Without the options: neither block.
  const CliRun plain = run_cli({"run", model.string(), "--input", (dir / "in.npz").string(), "--output",
                                (dir / "plain.npz").string()});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("times:"), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("Time by op type"), std::string::npos) << plain.out;
}

TEST(CliRun, MergesInputFilesAndReadsNpyAndPb) {
  const fs::path dir = fresh_temp_dir("cli_run_merge");
  const fs::path model = save_two_input_model(dir);
  onnx_fp16::write_npz(dir / "x.npz", {{"x", kX}});
  {
    std::ofstream pb(dir / "scale.pb", std::ios::binary);
    ASSERT_TRUE(kScale.to_proto("scale").SerializeToOstream(&pb));
  }
  const CliRun run = run_cli({"run", model.string(), "-i", (dir / "x.npz").string(), "-i", (dir / "scale.pb").string(),
                              "-o", (dir / "out.npz").string(), "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(floats(onnx_fp16::read_tensors(dir / "out.npz").at("y")), (std::vector<float>{2.5f, 0, 1.5f, 0, 0, 0}));
}

TEST(CliRun, TestDataFolderTakesNamesFromTheModelsInputOrder) {
  const fs::path dir = fresh_temp_dir("cli_run_folder");
  const fs::path model = save_two_input_model(dir);
  fs::create_directory(dir / "test_data_set_0");
  for (const auto& [file, tensor] : {std::pair{"input_0.pb", kX}, std::pair{"input_1.pb", kScale}}) {
    std::ofstream pb(dir / "test_data_set_0" / file, std::ios::binary);
    ASSERT_TRUE(tensor.to_proto().SerializeToOstream(&pb));  // unnamed
  }
  const CliRun run = run_cli({"run", model.string(), "--input", (dir / "test_data_set_0").string(), "--output",
                              (dir / "out.npz").string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(floats(onnx_fp16::read_tensors(dir / "out.npz").at("y")), (std::vector<float>{2.5f, 0, 1.5f, 0, 0, 0}));
}

TEST(CliRun, SingleNpyFeedsTheOnlyInput) {
  const fs::path dir = fresh_temp_dir("cli_run_npy");
  const fs::path model = save_one_input_model(dir);
  onnx_fp16::write_npy(dir / "x.npy", Tensor::from_vector<float>({3, 2}, {1, -2, 3, -4, 5, -6}));
  const CliRun run = run_cli({"run", model.string(), "--input", (dir / "x.npy").string(), "--output", (dir / "out.npz").string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Tensor y = onnx_fp16::read_tensors(dir / "out.npz").at("y");
  EXPECT_EQ(y.shape(), (onnx_fp16::Shape{3, 2}));
  EXPECT_EQ(floats(y), (std::vector<float>{-1, 2, -3, 4, -5, 6}));
}

TEST(CliRun, InputsThatDoNotFitGiveOneClearLine) {
  const fs::path dir = fresh_temp_dir("cli_run_errors");
  const fs::path model = save_two_input_model(dir);
  const fs::path out = dir / "out.npz";
  const auto run_with = [&](const std::map<std::string, Tensor>& feeds) {
    onnx_fp16::write_npz(dir / "in.npz", feeds);
    return run_cli({"run", model.string(), "--input", (dir / "in.npz").string(), "--output", out.string()});
  };
  expect_run_error(run_with({{"x", kX}}), out, {"scale"});                                      // missing
  expect_run_error(run_with({{"x", kX}, {"scale", kScale}, {"z", kScale}}), out, {"'z'"});      // unknown
  expect_run_error(run_with({{"X", kX}, {"scale", kScale}}), out, {"'X'", "x"});               // misnamed
  expect_run_error(run_with({{"x", Tensor::from_vector<std::int64_t>({2, 3}, {1, 2, 3, 4, 5, 6})}, {"scale", kScale}}),
                   out, {"x", "FLOAT", "INT64"});                                               // wrong type
  expect_run_error(run_with({{"x", Tensor(onnx::TensorProto::FLOAT, {3, 3})}, {"scale", kScale}}), out,
                   {"x", "[2,3]"});                                                             // wrong shape

  onnx_fp16::write_npy(dir / "x.npy", kX);
  expect_run_error(run_cli({"run", model.string(), "--input", (dir / "x.npy").string(), "--output", out.string()}), out,
                   {"x.npy", "one unnamed tensor", "2 inputs", "'x', 'scale'"});
  onnx_fp16::write_npz(dir / "a.npz", {{"x", kX}, {"scale", kScale}});
  onnx_fp16::write_npz(dir / "b.npz", {{"x", kX}});
  expect_run_error(run_cli({"run", model.string(), "-i", (dir / "a.npz").string(), "-i", (dir / "b.npz").string(), "-o",
                            out.string()}),
                   out, {"input 'x' is given twice", "a.npz", "b.npz"});
  expect_run_error(run_cli({"run", model.string(), "-i", (dir / "missing.npz").string(), "-o", out.string()}), out,
                   {"missing.npz"});
}

TEST(CliRun, RefusesToOverwriteItsInputsAndNeedsItsOptions) {
  const fs::path dir = fresh_temp_dir("cli_run_paths");
  const fs::path model = save_two_input_model(dir);
  onnx_fp16::write_npz(dir / "in.npz", {{"x", kX}, {"scale", kScale}});
  const CliRun over_model = run_cli({"run", model.string(), "-i", (dir / "in.npz").string(), "-o", model.string()});
  EXPECT_EQ(over_model.exit_code, 1);
  EXPECT_NE(over_model.err.find("is the model file"), std::string::npos) << over_model.err;
  const CliRun over_input =
      run_cli({"run", model.string(), "-i", (dir / "in.npz").string(), "-o", (dir / "in.npz").string()});
  EXPECT_EQ(over_input.exit_code, 1);
  EXPECT_NE(over_input.err.find("is the input file"), std::string::npos) << over_input.err;
  EXPECT_EQ(onnx_fp16::read_tensors(dir / "in.npz").size(), 2u);
  EXPECT_EQ(run_cli({"run", model.string(), "-i", (dir / "in.npz").string()}).exit_code, 2);  // no --output
  // Without --input, the model's inputs are missing: named, not a usage error.
  expect_run_error(run_cli({"run", model.string(), "-o", (dir / "o.npz").string()}), dir / "o.npz", {"'x'"});
}

// A model without inputs runs without --input; a tensor beyond --memory-limit is one clear line.
TEST(CliRun, NeedsNoInputForAModelWithoutInputsAndHonoursTheMemoryLimit) {
  const fs::path dir = fresh_temp_dir("cli_run_limits");
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.output_untyped("y");
  g.initializer_i64("shape", {2}, {1000, 1'000'000});  // 4 GB of float32
  auto& fill = g.node("ConstantOfShape", {"shape"}, {"y"}, "fill");
  modelgen::attr_tensor(fill, "value", modelgen::float_tensor("value", {1}, {1.0f}));
  const fs::path path = dir / "fill.onnx";
  onnx_fp16::save_model(model, path);
  expect_run_error(run_cli({"run", path.string(), "-o", (dir / "o.npz").string(), "--memory-limit", "1GB"}),
                   dir / "o.npz", {"'fill'", "needs 4.0 GB, over the memory limit of 1.0 GB"});

  g.initializer_i64("small", {2}, {2, 2});
  model.mutable_graph()->mutable_node(0)->set_input(0, "small");
  onnx_fp16::save_model(model, path);
  const CliRun small = run_cli({"run", path.string(), "-o", (dir / "o.npz").string(), "--memory-limit", "1GB"});
  ASSERT_EQ(small.exit_code, 0) << small.err;
  EXPECT_EQ(floats(onnx_fp16::read_tensors(dir / "o.npz").at("y")), (std::vector<float>{1, 1, 1, 1}));
}

}  // namespace
