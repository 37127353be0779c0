// Streamed conversion (io/streamed_model.h): weights stay in their files until the save reads,
// converts and writes them block by block. Whatever the layout of the input, the files written
// must be byte for byte those of the whole-model path (load_model, convert, save_model), the
// clamping count the same, and a failure must leave nothing behind.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <csignal>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "io/deferred_tensor.h"
#include "io/model_save.h"
#include "io/streamed_model.h"
#include "mixed/streamed.h"
#include "onnx_fp16/mixed.h"
#include "modelgen/builder.h"
#include "modelgen/transformer_model.h"
#include "onnx_fp16/convert.h"
#include "half/half.h"
#include "onnx_fp16/error.h"
#include "onnx_fp16/evaluator.h"
#include "onnx_fp16/model_io.h"
#include "runtime/executor.h"
#include "runtime/graph_plan.h"
#include "runtime/kernel_registry.h"
#include "support/model_files.h"
#include "support/paths.h"
#include "support/run_cli.h"
#include "support/testdata.h"

namespace {

namespace fs = std::filesystem;
using onnx::TensorProto;
using onnx_fp16::Float16Options;
using onnx_fp16::SaveOptions;
using test_support::read_bytes;
using test_support::same_bytes;

std::vector<float> ramp(std::size_t count, float start, float step = 1.0f) {
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = start + step * static_cast<float>(i);
  return values;
}

// Weights of several sizes (one below the deferral threshold), values that the float16 clamping
// changes (tiny and huge), an int64 shape, and one weight read by a float16 and a float32 node
// (with op_block_list {"Sub"}), so the conversion duplicates it.
onnx::ModelProto weights_model() {
  onnx::ModelProto model = modelgen::make_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  std::vector<float> clampy = ramp(3000, -1.5f, 0.001f);
  clampy[7] = 1e-9f;
  clampy[8] = -3e-8f;
  clampy[9] = 7e4f;
  clampy[10] = -1e6f;
  g.input("X", TensorProto::FLOAT, {1, 3000})
      .initializer("W", {3000, 4}, ramp(12000, 0.25f, 0.01f))
      .initializer("clampy", {1, 3000}, clampy)
      .initializer("bias", {4}, {1, 2, 3, 4})
      .initializer("shared", {1, 4}, ramp(4, 7.0f))
      .output("Y", TensorProto::FLOAT, {1, 4})
      .output("Z", TensorProto::FLOAT, {1, 4});
  g.initializer_i64("shape", {2}, {1, 4});
  g.node("Mul", {"X", "clampy"}, {"xc"}, "mul_clampy");
  g.node("MatMul", {"xc", "W"}, {"xw"}, "matmul");
  g.node("Add", {"xw", "bias"}, {"y0"}, "add");
  g.node("Reshape", {"y0", "shape"}, {"y1"}, "reshape");
  g.node("Mul", {"y1", "shared"}, {"Y"}, "mul_shared");
  g.node("Sub", {"y1", "shared"}, {"Z"}, "sub_shared");
  return model;
}

// `model` with its float initializers moved into Constant nodes at the front, as paddle2onnx
// exports store every weight (the loader defers those like initializers).
onnx::ModelProto as_constant_nodes(onnx::ModelProto model) {
  onnx::GraphProto& graph = *model.mutable_graph();
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  google::protobuf::RepeatedPtrField<TensorProto> kept;
  for (TensorProto& tensor : *graph.mutable_initializer()) {
    if (tensor.data_type() != TensorProto::FLOAT) {
      *kept.Add() = std::move(tensor);
      continue;
    }
    onnx::NodeProto& node = *nodes.Add();
    node.set_op_type("Constant");
    node.set_name(tensor.name() + "_constant");
    node.add_output(tensor.name());
    onnx::AttributeProto& value = *node.add_attribute();
    value.set_name("value");
    value.set_type(onnx::AttributeProto::TENSOR);
    *value.mutable_t() = std::move(tensor);
  }
  for (onnx::NodeProto& node : *graph.mutable_node()) *nodes.Add() = std::move(node);
  graph.mutable_node()->Swap(&nodes);
  graph.mutable_initializer()->Swap(&kept);
  return model;
}

struct Written {
  std::string model;
  std::string data;  // the external data file, if one was written
  std::size_t values_clamped = 0;
};

Written read_written(const fs::path& dir, std::size_t clamped) {
  Written written{read_bytes(dir / "out.onnx"), {}, clamped};
  if (fs::exists(dir / "out.data")) written.data = read_bytes(dir / "out.data");
  return written;
}

// load_model + convert + save_model: the reference.
Written whole(const fs::path& input, const Float16Options& options, const SaveOptions& save, const std::string& label) {
  const fs::path dir = test_support::fresh_temp_dir(label + "_whole");
  onnx::ModelProto model = onnx_fp16::load_model(input);
  const auto report = onnx_fp16::convert_float_to_float16(model, options);
  onnx_fp16::save_model(model, dir / "out.onnx", save);
  return read_written(dir, report.values_clamped);
}

// load_model_streamed + convert + the streaming save.
Written streamed(const fs::path& input, const Float16Options& options, const SaveOptions& save,
                 const std::string& label, std::uint64_t defer_bytes = 1, std::uint64_t size_limit = 2'000'000'000) {
  const fs::path dir = test_support::fresh_temp_dir(label + "_streamed");
  onnx_fp16::io::StreamedModel loaded = onnx_fp16::io::load_model_streamed(input, defer_bytes);
  const auto report = onnx_fp16::convert_float_to_float16(loaded.model, options);
  const auto saved = onnx_fp16::io::save_model_with_limit(loaded.model, dir / "out.onnx", save, size_limit, &loaded.sources);
  return read_written(dir, report.values_clamped + saved.values_clamped);
}

void expect_same(const Written& actual, const Written& expected, const std::string& what) {
  EXPECT_TRUE(same_bytes(actual.model, expected.model)) << what << ": model file";
  EXPECT_TRUE(same_bytes(actual.data, expected.data)) << what << ": data file";
  EXPECT_EQ(actual.values_clamped, expected.values_clamped) << what;
}

SaveOptions external(std::size_t threshold = 1024) {
  SaveOptions save;
  save.external_data_file = "out.data";
  save.external_data_threshold = threshold;
  return save;
}

TEST(StreamedModel, DefersLargeWeightsAndKeepsShapesInMemory) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_defer");
  onnx_fp16::save_model(weights_model(), dir / "m.onnx");
  const auto loaded = onnx_fp16::io::load_model_streamed(dir / "m.onnx", 1024);
  std::vector<std::string> deferred;
  for (const auto& tensor : loaded.model.graph().initializer()) {
    if (onnx_fp16::io::is_deferred(tensor)) {
      deferred.push_back(tensor.name());
      EXPECT_FALSE(tensor.has_raw_data()) << tensor.name();
    }
  }
  // bias and shared (16 bytes) are under the threshold; shape is int64 (shape inference reads it).
  EXPECT_EQ(deferred, (std::vector<std::string>{"W", "clampy"}));
  EXPECT_TRUE(loaded.data_files.empty());

  // The same weights as Constant nodes' values: deferred the same way.
  onnx_fp16::save_model(as_constant_nodes(weights_model()), dir / "constants.onnx");
  const auto constants = onnx_fp16::io::load_model_streamed(dir / "constants.onnx", 1024);
  deferred.clear();
  for (const auto& node : constants.model.graph().node()) {
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_t() && onnx_fp16::io::is_deferred(attribute.t())) {
        deferred.push_back(node.output(0));
        EXPECT_FALSE(attribute.t().has_raw_data()) << node.name();
      }
    }
  }
  EXPECT_EQ(deferred, (std::vector<std::string>{"W", "clampy"}));
  EXPECT_EQ(onnx_fp16::io::count_deferred(constants.model), 2u);
}

TEST(StreamedModel, ConversionWritesTheBytesOfTheWholeModelPath) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_same");
  onnx_fp16::save_model(weights_model(), dir / "m.onnx");
  onnx_fp16::save_model(as_constant_nodes(weights_model()), dir / "constants.onnx");
  Float16Options keep_io;
  keep_io.keep_io_types = true;
  Float16Options duplicates;
  duplicates.op_block_list = std::vector<std::string>{"Sub"};
  Float16Options bfloat16;
  bfloat16.target = onnx_fp16::TargetType::BFloat16;
  Float16Options tight_clamp;
  tight_clamp.min_positive_val = 1e-3f;
  tight_clamp.max_finite_val = 1.0f;
  const std::vector<std::pair<std::string, Float16Options>> option_sets{
      {"default", {}}, {"keep_io", keep_io}, {"duplicates", duplicates}, {"bfloat16", bfloat16}, {"clamp", tight_clamp}};
  const std::vector<std::pair<std::string, SaveOptions>> layouts{
      {"inline", {}}, {"external", external()}, {"external_all", external(1)}};
  for (const std::string input : {"m.onnx", "constants.onnx"}) {
    for (const auto& [option_name, options] : option_sets) {
      for (const auto& [layout_name, save] : layouts) {
        const std::string what = input + " " + option_name + "/" + layout_name;
        const Written expected = whole(dir / input, options, save, "same");
        expect_same(streamed(dir / input, options, save, "same"), expected, what);
        expect_same(streamed(dir / input, options, save, "same", 20000), expected, what + " (threshold 20000)");
      }
    }
  }
  // The clamping rule changed values (counted as they stream past), the tight one many more.
  EXPECT_EQ(whole(dir / "m.onnx", {}, {}, "count").values_clamped, 4u);
  EXPECT_GT(whole(dir / "m.onnx", tight_clamp, {}, "count").values_clamped, 1000u);
}

TEST(StreamedModel, AModelOverTheProtobufLimitGoesExternalAsTheWholePathDoes) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_limit");
  onnx_fp16::save_model(weights_model(), dir / "m.onnx");
  onnx::ModelProto model = onnx_fp16::load_model(dir / "m.onnx");
  onnx_fp16::convert_float_to_float16(model);
  const fs::path expected_dir = test_support::fresh_temp_dir("streamed_limit_whole");
  onnx_fp16::io::save_model_with_limit(model, expected_dir / "out.onnx", {}, 10'000);
  const fs::path actual_dir = test_support::fresh_temp_dir("streamed_limit_streamed");
  auto loaded = onnx_fp16::io::load_model_streamed(dir / "m.onnx", 1);
  onnx_fp16::convert_float_to_float16(loaded.model);
  const auto result = onnx_fp16::io::save_model_with_limit(loaded.model, actual_dir / "out.onnx", {}, 10'000, &loaded.sources);
  ASSERT_EQ(result.external_data_file, std::optional<std::string>("out.onnx.data"));
  EXPECT_TRUE(same_bytes(read_bytes(actual_dir / "out.onnx"), read_bytes(expected_dir / "out.onnx")));
  EXPECT_TRUE(same_bytes(read_bytes(actual_dir / "out.onnx.data"), read_bytes(expected_dir / "out.onnx.data")));
}

// The input's weights as external data in several layouts: one shared file (aligned offsets,
// as save_model writes it), one file per tensor, and one file with unaligned offsets where the
// last tensor has no "length" (it runs to the end of the file).
void point_at(TensorProto& tensor, const std::string& location, std::uint64_t offset, std::optional<std::uint64_t> length) {
  tensor.clear_raw_data();
  tensor.clear_external_data();
  auto add = [&](const std::string& key, const std::string& value) {
    auto* e = tensor.add_external_data();
    e->set_key(key);
    e->set_value(value);
  };
  add("location", location);
  add("offset", std::to_string(offset));
  if (length) add("length", std::to_string(*length));
  tensor.set_data_location(TensorProto::EXTERNAL);
}

fs::path external_layout(const std::string& layout) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_layout_" + layout);
  onnx::ModelProto model = weights_model();
  if (layout == "shared") {
    onnx_fp16::save_model(model, dir / "m.onnx", external(16));
    return dir / "m.onnx";
  }
  std::string packed;
  int index = 0;
  for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (tensor.data_type() != TensorProto::FLOAT) continue;
    const std::string bytes = tensor.raw_data();
    if (layout == "per_tensor") {
      const std::string name = "w" + std::to_string(index++) + ".bin";
      test_support::write_bytes(dir / name, bytes);
      point_at(tensor, name, 0, bytes.size());
    } else {  // unaligned: 3 bytes of padding before each tensor; the last without a length
      packed += "pad";
      const bool last = &tensor == &model.graph().initializer(3);
      point_at(tensor, "sub/packed.bin", packed.size(), last ? std::nullopt : std::optional<std::uint64_t>(bytes.size()));
      packed += bytes;
    }
  }
  if (layout == "unaligned") {
    fs::create_directories(dir / "sub");
    test_support::write_bytes(dir / "sub" / "packed.bin", packed);
  }
  test_support::write_bytes(dir / "m.onnx", test_support::serialized(model));
  return dir / "m.onnx";
}

TEST(StreamedModel, ExternalDataInputsOfEveryLayout) {
  for (const std::string layout : {"shared", "per_tensor", "unaligned"}) {
    const fs::path input = external_layout(layout);
    std::vector<std::pair<fs::path, std::string>> before;
    for (const auto& entry : fs::recursive_directory_iterator(input.parent_path())) {
      if (entry.is_regular_file()) before.emplace_back(entry.path(), read_bytes(entry.path()));
    }
    for (const auto& save : {SaveOptions{}, external()}) {
      const std::string what = layout + (save.external_data_file ? "/external" : "/inline");
      expect_same(streamed(input, {}, save, "layout"), whole(input, {}, save, "layout"), what);
    }
    const auto loaded = onnx_fp16::io::load_model_streamed(input, 1);
    EXPECT_EQ(loaded.data_files.size(), layout == "per_tensor" ? 4u : 1u) << layout;
    for (const auto& [path, bytes] : before) EXPECT_TRUE(same_bytes(read_bytes(path), bytes)) << path << " changed";
  }
}

// Runs `action`, expecting an onnx_fp16::Error; returns its message.
std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const onnx_fp16::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(StreamedModel, BrokenInputsGetTheWholePathsErrors) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_broken");
  const std::string bytes = test_support::serialized(weights_model());
  test_support::write_bytes(dir / "truncated.onnx", bytes.substr(0, bytes.size() / 2));
  test_support::write_bytes(dir / "empty.onnx", "");
  test_support::write_bytes(dir / "text.onnx", "this is not a model at all, just some words");
  onnx::ModelProto escaping = weights_model();
  point_at(*escaping.mutable_graph()->mutable_initializer(0), "../secret.bin", 0, 48000);
  test_support::write_bytes(dir / "escaping.onnx", test_support::serialized(escaping));
  onnx::ModelProto short_data = weights_model();
  test_support::write_bytes(dir / "short.bin", std::string(100, 'x'));
  point_at(*short_data.mutable_graph()->mutable_initializer(0), "short.bin", 0, 48000);
  test_support::write_bytes(dir / "short.onnx", test_support::serialized(short_data));
  for (const std::string name : {"truncated.onnx", "empty.onnx", "text.onnx", "escaping.onnx", "short.onnx", "absent.onnx"}) {
    const std::string expected = error_of([&] { onnx_fp16::load_model(dir / name); });
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(error_of([&] { onnx_fp16::io::load_model_streamed(dir / name, 1); }), expected) << name;
  }
}

TEST(StreamedModel, AFailureHalfWayLeavesNothingBehind) {
  const fs::path input = external_layout("per_tensor");
  auto loaded = onnx_fp16::io::load_model_streamed(input, 1);
  onnx_fp16::convert_float_to_float16(loaded.model);
  // The weights' file shrinks between load and save (another process rewrote it).
  fs::resize_file(input.parent_path() / "w0.bin", 10);
  for (const auto& save : {SaveOptions{}, external()}) {
    const fs::path out = test_support::fresh_temp_dir("streamed_half_way");
    const std::string message = error_of([&] {
      onnx_fp16::io::save_model_with_limit(loaded.model, out / "out.onnx", save, 2'000'000'000, &loaded.sources);
    });
    EXPECT_NE(message.find("w0.bin' ended early"), std::string::npos) << message;
    EXPECT_TRUE(test_support::folder_entries(out).empty()) << "a partial file was left in " << out;
  }
}

TEST(StreamedModel, SavingDeferredTensorsWithoutTheirFilesIsRefused) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_no_sources");
  onnx_fp16::save_model(weights_model(), dir / "m.onnx");
  const auto loaded = onnx_fp16::io::load_model_streamed(dir / "m.onnx", 1);
  const std::string message = error_of([&] { onnx_fp16::save_model(loaded.model, dir / "out.onnx"); });
  EXPECT_NE(message.find("deferred tensors come without their files"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir / "out.onnx"));
}

// A write that fails half way (here: the file size limit, as a full disk would) is a clear
// error naming the file, exit 1, and nothing left behind: no output, no data file, no
// temporary file.
TEST(StreamedModel, CliWriteFailureHalfWayLeavesNothing) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_write_failure");
  modelgen::TransformerSpec spec;
  spec.weight_bytes = 4'000'000;
  onnx_fp16::save_model(modelgen::transformer_model(spec), dir / "in.onnx");
  const fs::path out = test_support::fresh_temp_dir("streamed_write_failure_out");
  struct rlimit before {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  struct rlimit limit = before;
  limit.rlim_cur = 1'000'000;  // the child inherits it; the test's own files are written already
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
  for (const std::string external : {"", "--external-data=w.bin"}) {
    std::vector<std::string> args{"convert", (dir / "in.onnx").string(), (out / "out.onnx").string()};
    if (!external.empty()) args.push_back(external);
    const auto run = test_support::run_cli(args);
    EXPECT_EQ(run.exit_code, 1) << external;
    const std::string target = external.empty() ? (out / "out.onnx").string() : (out / "w.bin").string();
    EXPECT_NE(run.err.find("cannot write '" + target + "': File too large"), std::string::npos) << run.err;
    EXPECT_TRUE(test_support::folder_entries(out).empty()) << "left behind in " << out;
  }
  std::signal(SIGXFSZ, old_handler);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &before), 0);
}

// An Evaluator made from a path reads the weights from the files into its tensors; it computes
// exactly what an Evaluator of the loaded model computes, for inline, Constant-node and external weights, in
// float32 and float16.
TEST(StreamedModel, EvaluatorFromAPathComputesWhatTheLoadedModelDoes) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_evaluator");
  onnx_fp16::save_model(weights_model(), dir / "inline.onnx");
  onnx::ModelProto converted = weights_model();
  onnx_fp16::convert_float_to_float16(converted);
  onnx_fp16::save_model(converted, dir / "float16.onnx");
  onnx_fp16::save_model(as_constant_nodes(weights_model()), dir / "constants.onnx");
  std::vector<float> x(3000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  for (const fs::path& model :
       {dir / "inline.onnx", dir / "float16.onnx", dir / "constants.onnx", external_layout("per_tensor")}) {
    const onnx_fp16::Evaluator from_path(model);
    const onnx_fp16::Evaluator from_proto(onnx_fp16::load_model(model));
    const bool half = from_proto.inputs()[0].type == TensorProto::FLOAT16;
    onnx_fp16::Feeds feeds;
    if (half) {
      std::vector<std::uint16_t> h(x.size());
      onnx_fp16::half::floats_to_halves_clamped(x, h, {});
      onnx_fp16::Tensor t = onnx_fp16::Tensor::uninitialized(TensorProto::FLOAT16, {1, 3000});
      std::memcpy(t.mutable_bytes().data(), h.data(), h.size() * 2);
      feeds.emplace("X", t);
    } else {
      feeds.emplace("X", onnx_fp16::Tensor::from_vector<float>({1, 3000}, x));
    }
    const auto expected = from_proto.run(feeds);
    const auto actual = from_path.run(feeds);
    ASSERT_EQ(actual.size(), expected.size()) << model;
    for (const auto& [name, tensor] : expected) {
      const auto& other = actual.at(name);
      EXPECT_EQ(other.dtype(), tensor.dtype()) << model << " " << name;
      EXPECT_TRUE(std::equal(other.bytes().begin(), other.bytes().end(), tensor.bytes().begin(), tensor.bytes().end()))
          << model << " " << name;
    }
  }
}

// 256 x 256 values i % 97 / 97: a weight of 256 KiB (raw_data copied or read once compiled).
std::vector<float> ramp_values() {
  std::vector<float> ramp(256 * 256);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<float>(i % 97) / 97.0f;
  return ramp;
}

// y = x (256) times the ramp `w`, with the other `initializers` (ramps too) read by no node, in
// that order.
onnx::ModelProto ramp_product(const std::vector<std::string>& initializers) {
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", onnx::TensorProto::FLOAT, {256}).output("y", onnx::TensorProto::FLOAT, {256});
  for (const std::string& name : initializers) g.initializer(name, {256, 256}, ramp_values());
  g.node("MatMul", {"x", "w"}, {"y"}, "product");
  return model;
}

// An initializer no node reads is not loaded: its bytes, read or copied once the plan is
// compiled, used to land in the freed buffer of the dropped tensor (a large unused weight is
// common in exported models; the sanitizer build caught the write). In memory (raw_data over
// 64 KiB, copied later) and from a path (read from the file later), among used weights.
TEST(StreamedModel, UnreadWeightsAreNotLoaded) {
  const onnx::ModelProto model = ramp_product({"unused_before", "w", "unused_after"});
  const std::vector<float> ramp = ramp_values();
  const fs::path dir = test_support::fresh_temp_dir("unread_weights");
  onnx_fp16::save_model(model, dir / "model.onnx");
  const onnx_fp16::Feeds feeds{{"x", onnx_fp16::Tensor::from_vector<float>({256}, std::vector<float>(256, 1.0f))}};
  std::vector<float> expected(256, 0.0f);
  for (std::size_t j = 0; j < 256; ++j) {
    for (std::size_t i = 0; i < 256; ++i) expected[j] += ramp[i * 256 + j];
  }
  for (const bool from_path : {false, true}) {
    const auto y = (from_path ? onnx_fp16::Evaluator(dir / "model.onnx") : onnx_fp16::Evaluator(model)).run(feeds).at("y");
    const auto values = y.data<float>();
    ASSERT_EQ(values.size(), 256u);
    for (std::size_t j = 0; j < 256; ++j) EXPECT_NEAR(values[j], expected[j], 1e-3f * expected[j]) << j;
  }
}

// Plans of one model compiled with the same LoadedInitializers (the search's engines, one per
// flat model its samples run) share the weights: the second takes the first's tensors instead of
// reading copies, with the same values; what the first dropped unread is not shared.
TEST(StreamedModel, PlansOfOneModelShareTheWeightsTheyRead) {
  const onnx::ModelProto model = ramp_product({"w", "unused"});
  const std::vector<float> ramp = ramp_values();
  onnx_fp16::runtime::LoadedInitializers loaded;
  onnx_fp16::runtime::PlanOptions options;
  options.registry = &onnx_fp16::runtime::KernelRegistry::builtin();
  options.opsets[""] = 17;
  options.loaded = &loaded;
  const auto first = onnx_fp16::runtime::compile_main_graph(model.graph(), options);
  const auto second = onnx_fp16::runtime::compile_main_graph(model.graph(), options);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.count(&model.graph().initializer(0)), 1u);
  ASSERT_EQ(first->constants.size(), 1u);
  ASSERT_EQ(second->constants.size(), 1u);
  const onnx_fp16::Tensor& a = first->constants[0].second;
  const onnx_fp16::Tensor& b = second->constants[0].second;
  EXPECT_EQ(a.bytes().data(), b.bytes().data()) << "read twice";
  ASSERT_EQ(b.data<float>().size(), ramp.size());
  EXPECT_EQ(std::memcmp(b.data<float>().data(), ramp.data(), ramp.size() * sizeof(float)), 0);
  // Without the map each plan reads its own.
  options.loaded = nullptr;
  const auto own = onnx_fp16::runtime::compile_main_graph(model.graph(), options);
  EXPECT_NE(own->constants.at(0).second.bytes().data(), a.bytes().data());
}

// A weight of 10 MB, over two of the parts (4 MiB) a plan reads on separate threads, and its
// float16 form (5 MB saved: the conversion converts each part on its own).
onnx::ModelProto wide_weight_model() {
  onnx::ModelProto model = modelgen::make_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  std::vector<float> w(512 * 5000);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * static_cast<float>(i)) * 0.05f;
  g.input("X", TensorProto::FLOAT, {1, 512})
      .initializer("W", {512, 5000}, w)
      .initializer("bias", {5000}, ramp(5000, -2.0f, 0.001f))
      .output("Y", TensorProto::FLOAT, {1, 5000});
  g.node("MatMul", {"X", "W"}, {"xw"}, "matmul");
  g.node("Add", {"xw", "bias"}, {"Y"}, "add");
  return model;
}

// `tensor`'s float32 / float16 raw_data moved to the typed field (float_data, or int32_data
// holding float16 bits): the same values, which Tensor::from_proto reads value by value.
void raw_to_typed(TensorProto& tensor) {
  if (!tensor.has_raw_data()) return;
  const std::string raw = tensor.raw_data();
  if (tensor.data_type() == TensorProto::FLOAT) {
    std::vector<float> values(raw.size() / 4);
    std::memcpy(values.data(), raw.data(), raw.size());
    for (const float v : values) tensor.add_float_data(v);
  } else if (tensor.data_type() == TensorProto::FLOAT16) {
    std::vector<std::uint16_t> bits(raw.size() / 2);
    std::memcpy(bits.data(), raw.data(), raw.size());
    for (const std::uint16_t b : bits) tensor.add_int32_data(b);
  } else {
    return;
  }
  tensor.clear_raw_data();
}

onnx::ModelProto with_typed_fields(onnx::ModelProto model) {
  for (TensorProto& tensor : *model.mutable_graph()->mutable_initializer()) raw_to_typed(tensor);
  for (onnx::NodeProto& node : *model.mutable_graph()->mutable_node()) {
    for (onnx::AttributeProto& attribute : *node.mutable_attribute()) {
      if (attribute.has_t()) raw_to_typed(*attribute.mutable_t());
    }
  }
  return model;
}

// A plan reads a streamed model's weights in parts of 4 MiB spread over its threads (on one
// thread, faulting in BERT-base's 436 MB took twice as long), and copies a model's own large
// raw_data the same way: every part must land where it belongs, converted parts too. The
// outputs must be bit for bit those of the same weights in typed fields (read value by value).
TEST(StreamedModel, WeightsReadInPartsOnSeveralThreadsAreTheWholeWeights) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_parts");
  onnx_fp16::save_model(wide_weight_model(), dir / "inline.onnx");
  onnx_fp16::save_model(as_constant_nodes(wide_weight_model()), dir / "constants.onnx");
  std::vector<float> x(512);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i));
  for (const fs::path& path : {dir / "inline.onnx", dir / "constants.onnx"}) {
    for (const bool to_float16 : {false, true}) {
      const std::string what = path.filename().string() + (to_float16 ? ", float16" : "");
      onnx::ModelProto whole_model = onnx_fp16::load_model(path);
      onnx_fp16::io::StreamedModel loaded = onnx_fp16::io::load_model_streamed(path);
      ASSERT_GT(onnx_fp16::io::count_deferred(loaded.model), 0u) << what;
      Float16Options options;
      options.keep_io_types = true;
      if (to_float16) {
        onnx_fp16::convert_float_to_float16(whole_model, options);
        onnx_fp16::convert_float_to_float16(loaded.model, options);
      }
      onnx_fp16::EvaluatorOptions one_thread;
      one_thread.threads = 1;
      onnx_fp16::EvaluatorOptions two_threads;
      two_threads.threads = 2;
      const onnx_fp16::Evaluator reference(with_typed_fields(whole_model), one_thread);
      const onnx_fp16::Evaluator copied(whole_model, two_threads);
      const onnx_fp16::runtime::Executor parts(std::move(loaded.model), two_threads, &loaded.sources);
      const onnx_fp16::Feeds feeds{{"X", onnx_fp16::Tensor::from_vector<float>({1, 512}, x)}};
      const onnx_fp16::Tensor expected = reference.run(feeds).at("Y");
      for (const onnx_fp16::Tensor& actual : {parts.run(feeds).at("Y"), copied.run(feeds).at("Y")}) {
        EXPECT_TRUE(std::equal(actual.bytes().begin(), actual.bytes().end(), expected.bytes().begin(), expected.bytes().end()))
            << what;
      }
    }
  }
}

// The file changed between the load and the plan's reads (the parts read on other threads):
// the error names the weight and the file, whichever thread read it.
TEST(StreamedModel, AWeightFileCutShortAfterLoadingNamesTheWeight) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_cut");
  onnx_fp16::save_model(wide_weight_model(), dir / "model.onnx");
  onnx_fp16::io::StreamedModel loaded = onnx_fp16::io::load_model_streamed(dir / "model.onnx");
  fs::resize_file(dir / "model.onnx", fs::file_size(dir / "model.onnx") / 2);
  onnx_fp16::EvaluatorOptions two_threads;
  two_threads.threads = 2;
  try {
    onnx_fp16::runtime::Executor executor(std::move(loaded.model), two_threads, &loaded.sources);
    FAIL() << "a weight cut short was read";
  } catch (const onnx_fp16::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("initializer 'W'"), std::string::npos) << message;
    EXPECT_NE(message.find("model.onnx' ended early"), std::string::npos) << message;
  }
}

// A serialized model in memory (the Python package's bytes) streams as a file does: its
// weights stay in the bytes until the evaluator reads them or the result is serialized, which
// must give the bytes of the whole-model path (converted or not, the clamping counted alike).
TEST(StreamedModel, BytesInMemoryStreamAsAFileDoes) {
  const fs::path dir = test_support::fresh_temp_dir("streamed_memory");
  for (const onnx::ModelProto& original : {weights_model(), as_constant_nodes(weights_model()), wide_weight_model()}) {
    const std::string bytes = original.SerializeAsString();
    const std::span<const std::byte> memory(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    for (const bool to_float16 : {false, true}) {
      const std::string what = std::to_string(bytes.size()) + " bytes" + (to_float16 ? ", float16" : "");
      onnx::ModelProto whole_model = original;
      onnx_fp16::io::StreamedModel loaded = onnx_fp16::io::load_model_streamed(memory, "<test bytes>");
      ASSERT_GT(onnx_fp16::io::count_deferred(loaded.model), 0u) << what;
      std::size_t whole_clamped = 0, streamed_clamped = 0;
      Float16Options options;
      options.op_block_list = {"Sub"};
      if (to_float16) {
        whole_clamped = onnx_fp16::convert_float_to_float16(whole_model, options).values_clamped;
        streamed_clamped = onnx_fp16::convert_float_to_float16(loaded.model, options).values_clamped;
      }
      onnx_fp16::save_model(whole_model, dir / "whole.onnx");
      std::string serialized;
      const auto saved = onnx_fp16::io::serialize_streamed(loaded.model, loaded.sources, [&](std::uint64_t size) {
        serialized.resize(size);
        return std::span<std::byte>(reinterpret_cast<std::byte*>(serialized.data()), serialized.size());
      });
      EXPECT_TRUE(same_bytes(serialized, read_bytes(dir / "whole.onnx"))) << what;
      EXPECT_EQ(streamed_clamped + saved.values_clamped, whole_clamped) << what;
      const bool has_clampy =
          std::any_of(original.graph().initializer().begin(), original.graph().initializer().end(),
                      [](const TensorProto& t) { return t.name() == "clampy"; }) ||
          std::any_of(original.graph().node().begin(), original.graph().node().end(),
                      [](const onnx::NodeProto& n) { return n.output_size() > 0 && n.output(0) == "clampy"; });
      if (to_float16 && has_clampy) {
        EXPECT_GT(whole_clamped, 0u) << what;  // weights_model's tiny and huge values
      }
    }
    // The evaluator from the bytes computes what the one from the parsed model does.
    onnx_fp16::EvaluatorOptions two_threads;
    two_threads.threads = 2;
    const onnx_fp16::Evaluator from_bytes(memory, two_threads);
    const onnx_fp16::Evaluator from_model(original, two_threads);
    const auto& input = from_model.inputs().at(0);
    std::vector<float> x(static_cast<std::size_t>(input.dims.at(1)));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * static_cast<float>(i));
    const onnx_fp16::Feeds feeds{{input.name, onnx_fp16::Tensor::from_vector<float>({1, static_cast<std::int64_t>(x.size())}, x)}};
    const auto expected = from_model.run(feeds);
    const auto actual = from_bytes.run(feeds);
    for (const auto& [name, tensor] : expected) {
      const auto& other = actual.at(name);
      EXPECT_TRUE(std::equal(other.bytes().begin(), other.bytes().end(), tensor.bytes().begin(), tensor.bytes().end()))
          << bytes.size() << " bytes: " << name;
    }
  }
  const std::string garbage = "\xff\xff\xff\xff not a model";
  try {
    onnx_fp16::Evaluator evaluator(std::span<const std::byte>(reinterpret_cast<const std::byte*>(garbage.data()), garbage.size()));
    FAIL() << "garbage bytes made an evaluator";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an ONNX model"), std::string::npos) << e.what();
  }
}

// Automatic mixed precision file to file (the CLI's and the Python package's path): weights
// left in their files, read by the engine, the screens and the final check, streamed to the
// output. It must write the bytes of the in-memory search, whatever the engine (improved:
// incremental; baseline: a rebuilt evaluator per attempt), with the initializer screen reading
// deferred weights, from inline and external-data inputs, inline and external outputs.
TEST(StreamedModel, AutoMixedWritesTheBytesOfTheInMemorySearch) {
  std::vector<float> x(3000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * std::sin(static_cast<float>(i));
  const std::vector<onnx_fp16::Feeds> samples{{{"X", onnx_fp16::Tensor::from_vector<float>({1, 3000}, x)}}};
  const fs::path dir = test_support::fresh_temp_dir("streamed_auto_mixed");
  onnx_fp16::save_model(weights_model(), dir / "inline.onnx");
  int searches = 0;
  for (const fs::path& input : {dir / "inline.onnx", external_layout("per_tensor")}) {
    for (const auto strategy : {onnx_fp16::SearchStrategy::Improved, onnx_fp16::SearchStrategy::Baseline}) {
      for (const SaveOptions& save : {SaveOptions{}, external()}) {
        onnx_fp16::MixedOptions options;
        options.rtol = 0.001;
        options.atol = 0.0001;
        options.strategy = strategy;
        options.init_max = 1e5;  // reads the deferred 'clampy'
        options.threads = 1;
        // Every node tried: by default the light Add/Mul/Sub (0.02% of this model's FLOPs) are
        // kept without an attempt and the MatMul is predicted to fail, so nothing would convert.
        options.skip_predicted_failures = false;
        const std::string what = input.filename().string() + (strategy == onnx_fp16::SearchStrategy::Baseline ? " baseline" : " improved") +
                                 (save.external_data_file ? " external" : " inline");
        const fs::path whole_dir = test_support::fresh_temp_dir("auto_mixed_whole");
        onnx::ModelProto model = onnx_fp16::load_model(input);
        const auto expected = onnx_fp16::auto_convert_mixed_precision(model, samples, options);
        onnx_fp16::save_model(model, whole_dir / "out.onnx", save);

        const fs::path streamed_dir = test_support::fresh_temp_dir("auto_mixed_streamed");
        onnx_fp16::io::StreamedModel loaded = onnx_fp16::io::load_model_streamed(input, 1);
        ASSERT_GT(onnx_fp16::io::count_deferred(loaded.model), 0u) << what;
        auto actual = onnx_fp16::mixed::auto_convert_mixed_precision(loaded.model, loaded.sources, samples, options);
        const auto saved = onnx_fp16::io::save_model_with_limit(loaded.model, streamed_dir / "out.onnx", save,
                                                                onnx_fp16::io::kAutomaticExternalDataLimit, &loaded.sources);
        actual.conversion.values_clamped += saved.values_clamped;

        expect_same(read_written(streamed_dir, actual.conversion.values_clamped),
                    read_written(whole_dir, expected.conversion.values_clamped), what);
        ASSERT_EQ(actual.kept_nodes.size(), expected.kept_nodes.size()) << what;
        for (std::size_t k = 0; k < expected.kept_nodes.size(); ++k) {
          EXPECT_EQ(actual.kept_nodes[k].name, expected.kept_nodes[k].name) << what;
          EXPECT_EQ(actual.kept_nodes[k].reason, expected.kept_nodes[k].reason) << what;
        }
        EXPECT_EQ(actual.final_check, expected.final_check) << what;
        // What makes the comparison worth something: a screen read a deferred weight, and the
        // search converted some nodes.
        EXPECT_TRUE(std::any_of(expected.kept_nodes.begin(), expected.kept_nodes.end(),
                                [](const auto& k) { return k.reason == onnx_fp16::MixedKeepReason::InitMax; }))
            << what;
        EXPECT_GT(expected.converted_nodes, 0u) << what;
        ++searches;
      }
    }
  }
  EXPECT_EQ(searches, 8);
}

// Every model of ONNX's backend test data, all its eligible initializers deferred: the streamed
// conversion's file is the whole path's, or both fail with the same message.
TEST(StreamedModel, EveryTestdataModelConvertsToTheSameBytes) {
  int compared = 0;
  for (const std::string& folder : test_support::testdata_folders()) {
    for (const auto& test_case : test_support::list_testdata_cases(folder)) {
      std::string whole_error, streamed_error;
      Written expected, actual;
      try {
        expected = whole(test_case.model(), {}, {}, "testdata");
      } catch (const onnx_fp16::Error& error) {
        whole_error = error.what();
      }
      try {
        actual = streamed(test_case.model(), {}, {}, "testdata");
      } catch (const onnx_fp16::Error& error) {
        streamed_error = error.what();
      }
      EXPECT_EQ(streamed_error, whole_error) << test_case.id();
      if (whole_error.empty() && streamed_error.empty()) {
        expect_same(actual, expected, test_case.id());
        ++compared;
      }
    }
  }
  if (compared == 0) GTEST_SKIP() << "no libonnx-testdata at " << test_support::testdata_root();
  EXPECT_GT(compared, 1000);
}

// The CLI converts a model without holding its weights: its peak memory grows by a small part
// of the weights over that of converting a tiny model. Judged by the peak the CLI reports
// (VmHWM of its own image): a cap by ulimit -v cannot work with the sanitizer build, which
// reserves terabytes of address space, wait4's ru_maxrss carries the forking test process's
// peak, and the sanitizer build's own floor (its 100 MB binary, shadow memory) is measured by
// the tiny model.
TEST(StreamedModel, CliPeakMemoryDoesNotGrowWithTheWeights) {
#if defined(__SANITIZE_THREAD__)
  // Its shadow memory grows with every byte the CLI touches, the staging blocks of the weights
  // streamed through included: the peak says nothing about what is held (scripts/tsan.sh).
  GTEST_SKIP() << "no memory peak to judge under ThreadSanitizer";
#endif
  const fs::path dir = test_support::fresh_temp_dir("streamed_rss");
  std::uint64_t weights = 0;
  {
    modelgen::TransformerSpec spec;
    spec.weight_bytes = 160'000'000;
    const onnx::ModelProto model = modelgen::transformer_model(spec);
    onnx_fp16::save_model(model, dir / "big.onnx");
    weights = onnx_fp16::initializer_bytes(model);
    onnx_fp16::save_model(as_constant_nodes(model), dir / "big_constants.onnx");  // as paddle2onnx stores weights
  }
  ASSERT_GT(weights, 150'000'000u);
  onnx_fp16::save_model(weights_model(), dir / "tiny.onnx");
  auto peak_converting = [&](const std::string& name) -> std::uint64_t {
    const fs::path report = dir / (name + ".json");
    const auto run = test_support::run_cli({"convert", (dir / (name + ".onnx")).string(),
                                            (dir / (name + "16.onnx")).string(), "--report", report.string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("Memory:         peak"), std::string::npos) << run.out;
    return nlohmann::json::parse(test_support::read_file(report)).at("peak_memory_bytes").get<std::uint64_t>();
  };
  const std::uint64_t floor = peak_converting("tiny");
  const std::uint64_t peak = peak_converting("big");
  EXPECT_GT(floor, 1'000'000u);
  // The whole-model path grows by more than the input plus the output (240 MB here).
  EXPECT_LT(peak, floor + weights / 4) << "peak " << peak / 1'000'000 << " MB (tiny model: " << floor / 1'000'000
                                       << " MB) for " << weights / 1'000'000 << " MB of weights";
  EXPECT_GT(fs::file_size(dir / "big16.onnx"), weights / 2);
  const std::uint64_t constants_peak = peak_converting("big_constants");
  EXPECT_LT(constants_peak, floor + weights / 4) << "Constant nodes: peak " << constants_peak / 1'000'000 << " MB";
  EXPECT_GT(fs::file_size(dir / "big_constants16.onnx"), weights / 2);
}

}  // namespace
