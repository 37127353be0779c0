// Loading and saving models: inline and external data, sub-graphs, paths that try to leave the
// model's folder, broken files, atomic replacement and byte-for-byte determinism.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "io/model_save.h"
#include "io/proto_walk.h"
#include "modelgen/builder.h"
#include "onnx_fp16/error.h"
#include "onnx_fp16/inspect.h"
#include "onnx_fp16/model_io.h"
#include "support/model_files.h"
#include "support/paths.h"

namespace {

namespace fs = std::filesystem;
using onnx::TensorProto;
using onnx_fp16::load_model;
using onnx_fp16::save_model;
using onnx_fp16::SaveOptions;
using test_support::external_entry;
using test_support::folder_entries;
using test_support::parse_raw;
using test_support::read_bytes;
using test_support::same_bytes;
using test_support::serialized;
using test_support::write_bytes;

std::vector<float> ramp(std::size_t count, float start) {
  std::vector<float> values(count);
  std::iota(values.begin(), values.end(), start);
  return values;
}

// X[1,1250] @ W[1250,4] + bias[4] -> Y, with a second big weight so two tensors go external:
// W is 20000 bytes (not a multiple of 4096, so the next one shows the alignment), bias is 16.
onnx::ModelProto weights_model() {
  onnx::ModelProto model = modelgen::make_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("X", TensorProto::FLOAT, {1, 1250})
      .initializer("W", {1250, 4}, ramp(5000, 0.5f))
      .initializer("bias", {4}, {1, 2, 3, 4})
      .initializer("scale", {1, 4}, ramp(4, 7.0f))
      .initializer("big_scale", {1024, 4}, ramp(4096, -3.0f))
      .output("Y", TensorProto::FLOAT, {1, 4});
  g.node("MatMul", {"X", "W"}, {"xw"}, "matmul");
  g.node("Add", {"xw", "bias"}, {"y0"}, "add");
  g.node("Mul", {"y0", "scale"}, {"y1"}, "mul");
  g.node("Mul", {"y1", "big_scale"}, {"Y"}, "mul_big");
  return model;
}

// If(cond) { then: Constant + initializer + a nested If whose branch holds another Constant }
// else { Constant }: tensors at three depths, in initializers and in attributes.
onnx::ModelProto subgraph_model() {
  onnx::ModelProto model = modelgen::make_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("cond", TensorProto::BOOL, {}).output("out", TensorProto::FLOAT, {512});
  auto& outer_if = g.node("If", {"cond"}, {"out"}, "outer_if");

  modelgen::GraphBuilder then_branch(modelgen::attr_graph(outer_if, "then_branch"));
  then_branch.initializer("then_weight", {512}, ramp(512, 1.0f)).output("then_out", TensorProto::FLOAT, {512});
  modelgen::attr_tensor(then_branch.node("Constant", {}, {"then_const"}, "then_constant"), "value",
                        modelgen::float_tensor("then_const_value", {512}, ramp(512, 100.0f)));
  auto& inner_if = then_branch.node("If", {"cond"}, {"inner_out"}, "inner_if");
  then_branch.node("Add", {"then_const", "then_weight"}, {"sum"}, "then_add");
  then_branch.node("Add", {"sum", "inner_out"}, {"then_out"}, "then_add2");

  modelgen::GraphBuilder inner_then(modelgen::attr_graph(inner_if, "then_branch"));
  inner_then.output("deep", TensorProto::FLOAT, {512});
  modelgen::attr_tensor(inner_then.node("Constant", {}, {"deep"}, "deep_constant"), "value",
                        modelgen::float_tensor("deep_value", {512}, ramp(512, 1000.0f)));
  modelgen::GraphBuilder inner_else(modelgen::attr_graph(inner_if, "else_branch"));
  inner_else.output("shallow", TensorProto::FLOAT, {512});
  modelgen::attr_tensor(inner_else.node("Constant", {}, {"shallow"}, "shallow_constant"), "value",
                        modelgen::float_tensor("shallow_value", {512}, ramp(512, -1000.0f)));

  modelgen::GraphBuilder else_branch(modelgen::attr_graph(outer_if, "else_branch"));
  else_branch.output("else_out", TensorProto::FLOAT, {512});
  modelgen::attr_tensor(else_branch.node("Constant", {}, {"else_out"}, "else_constant"), "value",
                        modelgen::float_tensor("else_value", {512}, ramp(512, -5.0f)));
  return model;
}

std::vector<const TensorProto*> all_tensors(const onnx::ModelProto& model) {
  std::vector<const TensorProto*> tensors;
  onnx_fp16::io::for_each_nested<TensorProto>(model, [&](const TensorProto& t) { tensors.push_back(&t); });
  return tensors;
}

// Runs `action`, expecting an onnx_fp16::Error whose message holds every one of `parts`.
void expect_error(const std::function<void()>& action, const std::vector<std::string>& parts) {
  try {
    action();
    ADD_FAILURE() << "no error thrown";
  } catch (const onnx_fp16::Error& error) {
    const std::string message = error.what();
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  }
}

// A model with one initializer "w" that points to external data, saved as-is.
fs::path model_with_reference(const fs::path& folder, const std::string& location, const std::string& offset = "",
                              const std::string& length = "") {
  onnx::ModelProto model = modelgen::make_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("X", TensorProto::FLOAT, {4}).output("Y", TensorProto::FLOAT, {4});
  g.node("Add", {"X", "w"}, {"Y"});
  TensorProto* w = model.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(TensorProto::FLOAT);
  w->add_dims(4);
  w->set_data_location(TensorProto::EXTERNAL);
  auto add = [&](const std::string& key, const std::string& value) {
    if (value.empty()) return;
    auto* e = w->add_external_data();
    e->set_key(key);
    e->set_value(value);
  };
  add("location", location);
  add("offset", offset);
  add("length", length);
  const fs::path path = folder / "model.onnx";
  write_bytes(path, serialized(model));
  return path;
}

// float16 in int32_data (one value per int32, as the spec stores it) is 2 bytes of data per
// value wherever bytes are counted: the model's total and the census agree.
TEST(ModelIo, TensorBytesCountFloat16InTypedFieldsAsStored) {
  auto model = modelgen::make_model(17);
  auto* half = model.mutable_graph()->add_initializer();
  half->set_name("h");
  half->set_data_type(onnx::TensorProto::FLOAT16);
  half->add_dims(4);
  for (int bits : {0x3c00, 0x4000, 0x4200, 0x4400}) half->add_int32_data(bits);
  auto* floats = model.mutable_graph()->add_initializer();
  floats->set_name("f");
  floats->set_data_type(onnx::TensorProto::FLOAT);
  floats->add_dims(3);
  for (float value : {1.0f, 2.0f, 3.0f}) floats->add_float_data(value);
  EXPECT_EQ(onnx_fp16::initializer_bytes(model), 8u + 12u);
  const onnx_fp16::Census census = onnx_fp16::take_census(model);
  EXPECT_EQ(census.initializer_bytes.at("float16"), 8u);
  EXPECT_EQ(census.initializer_bytes.at("float32"), 12u);
}

TEST(ModelIo, InlineRoundTrip) {
  const fs::path dir = test_support::fresh_temp_dir("io_inline");
  const onnx::ModelProto model = weights_model();
  save_model(model, dir / "m.onnx");
  EXPECT_EQ(folder_entries(dir), std::set<std::string>{"m.onnx"});  // no temp file, no data file
  EXPECT_TRUE(same_bytes(read_bytes(dir / "m.onnx"), serialized(model)));
  EXPECT_TRUE(same_bytes(serialized(load_model(dir / "m.onnx")), serialized(model)));
}

TEST(ModelIo, ExternalDataFileOffsetsAlignmentAndRoundTrip) {
  const fs::path dir = test_support::fresh_temp_dir("io_external");
  const onnx::ModelProto model = weights_model();
  const std::string before = serialized(model);
  SaveOptions options;
  options.external_data_file = "weights.bin";
  save_model(model, dir / "m.onnx", options);
  EXPECT_TRUE(same_bytes(serialized(model), before)) << "save_model changed its input";
  EXPECT_EQ(folder_entries(dir), (std::set<std::string>{"m.onnx", "weights.bin"}));

  const onnx::ModelProto on_disk = parse_raw(dir / "m.onnx");
  const std::string data = read_bytes(dir / "weights.bin");
  const auto& saved = on_disk.graph().initializer();
  const auto& original = model.graph().initializer();
  ASSERT_EQ(saved.size(), 4);
  // W (20000 bytes) at 0, big_scale (16384 bytes) at the next multiple of 4096: 20480.
  EXPECT_EQ(saved[0].name(), "W");
  EXPECT_EQ(saved[0].data_location(), TensorProto::EXTERNAL);
  EXPECT_FALSE(saved[0].has_raw_data());
  EXPECT_EQ(external_entry(saved[0], "location"), "weights.bin");
  EXPECT_EQ(external_entry(saved[0], "offset"), "0");
  EXPECT_EQ(external_entry(saved[0], "length"), "20000");
  EXPECT_EQ(external_entry(saved[3], "offset"), "20480");
  EXPECT_EQ(external_entry(saved[3], "length"), "16384");
  EXPECT_EQ(data.size(), 20480u + 16384u);
  EXPECT_TRUE(same_bytes(data.substr(0, 20000), original[0].raw_data()));
  EXPECT_EQ(data.substr(20000, 480), std::string(480, '\0'));
  EXPECT_TRUE(same_bytes(data.substr(20480), original[3].raw_data()));
  // Below the 1024-byte threshold: stays inline.
  for (int small : {1, 2}) {
    EXPECT_EQ(saved[small].data_location(), TensorProto::DEFAULT) << saved[small].name();
    EXPECT_TRUE(same_bytes(saved[small].raw_data(), original[small].raw_data()));
  }

  const onnx::ModelProto loaded = load_model(dir / "m.onnx");
  EXPECT_TRUE(same_bytes(loaded.graph().initializer(0).raw_data(), original[0].raw_data()));
  EXPECT_EQ(loaded.graph().initializer(0).external_data_size(), 0);
  EXPECT_EQ(loaded.graph().initializer(0).data_location(), TensorProto::DEFAULT);
  EXPECT_TRUE(same_bytes(serialized(loaded), before));
}

TEST(ModelIo, ThresholdDecidesWhatGoesExternal) {
  const fs::path dir = test_support::fresh_temp_dir("io_threshold");
  SaveOptions options;
  options.external_data_file = "all.data";
  options.external_data_threshold = 16;  // now "bias" and "scale" (16 bytes) go too
  save_model(weights_model(), dir / "m.onnx", options);
  const onnx::ModelProto on_disk = parse_raw(dir / "m.onnx");
  for (const auto& tensor : on_disk.graph().initializer()) {
    EXPECT_EQ(tensor.data_location(), TensorProto::EXTERNAL) << tensor.name();
    EXPECT_EQ(std::stoull(external_entry(tensor, "offset")) % 4096, 0u) << tensor.name();
  }
  EXPECT_TRUE(same_bytes(serialized(load_model(dir / "m.onnx")), serialized(weights_model())));
}

TEST(ModelIo, ExternalDataInNestedSubgraphs) {
  const fs::path dir = test_support::fresh_temp_dir("io_subgraph");
  const onnx::ModelProto model = subgraph_model();
  SaveOptions options;
  options.external_data_file = "sub.data";
  save_model(model, dir / "m.onnx", options);

  const onnx::ModelProto on_disk = parse_raw(dir / "m.onnx");
  std::set<std::string> external;
  for (const TensorProto* tensor : all_tensors(on_disk)) {
    if (tensor->data_location() == TensorProto::EXTERNAL) external.insert(tensor->name());
    EXPECT_FALSE(tensor->has_raw_data()) << tensor->name();
  }
  EXPECT_EQ(external, (std::set<std::string>{"then_weight", "then_const_value", "deep_value", "shallow_value",
                                             "else_value"}));
  const onnx::ModelProto loaded = load_model(dir / "m.onnx");
  for (const TensorProto* tensor : all_tensors(loaded)) {
    EXPECT_EQ(tensor->data_location(), TensorProto::DEFAULT) << tensor->name();
    EXPECT_EQ(tensor->raw_data().size(), 2048u) << tensor->name();
  }
  EXPECT_TRUE(same_bytes(serialized(loaded), serialized(model)));
}

TEST(ModelIo, ExternalLocationsMustStayInTheModelFolder) {
  const fs::path root = test_support::fresh_temp_dir("io_escape");
  const fs::path folder = root / "model";
  fs::create_directories(folder / "sub");
  write_bytes(root / "x.data", std::string(16, 'x'));  // exists: the refusal is about the path

  expect_error([&] { load_model(model_with_reference(folder, "../x.data")); }, {"'w'", "../x.data", "model.onnx"});
  expect_error([&] { load_model(model_with_reference(folder, "sub/../../x.data")); }, {"'w'", "sub/../../x.data"});
  expect_error([&] { load_model(model_with_reference(folder, "/etc/passwd")); }, {"'w'", "/etc/passwd", "absolute"});
  expect_error([&] { load_model(model_with_reference(folder, ".")); }, {"'w'"});

  fs::create_symlink(root / "x.data", folder / "link.data");
  expect_error([&] { load_model(model_with_reference(folder, "link.data")); }, {"'w'", "link.data", "outside"});
  fs::create_directory_symlink(root, folder / "up");
  expect_error([&] { load_model(model_with_reference(folder, "up/x.data")); }, {"'w'", "up/x.data"});

  // A link that stays inside is fine.
  write_bytes(folder / "sub" / "real.data", std::string(16, '\1'));
  fs::create_symlink("sub/real.data", folder / "inside.data");
  const onnx::ModelProto loaded = load_model(model_with_reference(folder, "inside.data"));
  EXPECT_EQ(loaded.graph().initializer(0).raw_data(), std::string(16, '\1'));
}

TEST(ModelIo, MissingOrShortExternalFile) {
  const fs::path folder = test_support::fresh_temp_dir("io_missing");
  expect_error([&] { load_model(model_with_reference(folder, "absent.data")); }, {"'w'", "absent.data", "not found"});

  write_bytes(folder / "short.data", std::string(10, 's'));
  expect_error([&] { load_model(model_with_reference(folder, "short.data", "0", "16")); }, {"'w'", "short.data", "short"});
  expect_error([&] { load_model(model_with_reference(folder, "short.data", "12")); }, {"'w'", "short.data", "offset"});
  expect_error([&] { load_model(model_with_reference(folder, "short.data", "x1")); }, {"'w'", "offset", "x1"});

  // Without a length: from the offset to the end of the file.
  write_bytes(folder / "tail.data", "0123456789abcdefXYZ");
  EXPECT_EQ(load_model(model_with_reference(folder, "tail.data", "3")).graph().initializer(0).raw_data(),
            "3456789abcdefXYZ");
  EXPECT_EQ(load_model(model_with_reference(folder, "tail.data", "3", "4")).graph().initializer(0).raw_data(), "3456");
}

TEST(ModelIo, BrokenModelFilesNameTheFile) {
  const fs::path dir = test_support::fresh_temp_dir("io_broken");
  expect_error([&] { load_model(dir / "nothing.onnx"); }, {"nothing.onnx", "not found"});
  expect_error([&] { load_model(dir); }, {dir.string(), "folder"});

  write_bytes(dir / "empty.onnx", "");
  expect_error([&] { load_model(dir / "empty.onnx"); }, {"empty.onnx", "empty"});

  const std::string valid = serialized(weights_model());
  write_bytes(dir / "half.onnx", valid.substr(0, valid.size() / 2));
  expect_error([&] { load_model(dir / "half.onnx"); }, {"half.onnx", "truncated"});

  write_bytes(dir / "text.onnx", "This is a text file, certainly not an ONNX model.\n");
  expect_error([&] { load_model(dir / "text.onnx"); }, {"text.onnx", "not an ONNX model"});

  onnx::ModelProto no_ir = weights_model();
  no_ir.clear_ir_version();
  write_bytes(dir / "no_ir.onnx", serialized(no_ir));
  expect_error([&] { load_model(dir / "no_ir.onnx"); }, {"no_ir.onnx", "ir_version"});

  onnx::ModelProto no_graph = weights_model();
  no_graph.clear_graph();
  write_bytes(dir / "no_graph.onnx", serialized(no_graph));
  expect_error([&] { load_model(dir / "no_graph.onnx"); }, {"no_graph.onnx", "graph"});
}

TEST(ModelIo, UnreadableModelFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const fs::path dir = test_support::fresh_temp_dir("io_unreadable");
  write_bytes(dir / "locked.onnx", serialized(weights_model()));
  fs::permissions(dir / "locked.onnx", fs::perms::none);
  expect_error([&] { load_model(dir / "locked.onnx"); }, {"locked.onnx", "ermission"});
}

TEST(ModelIo, FailedSavesLeaveNothingBehind) {
  const fs::path dir = test_support::fresh_temp_dir("io_atomic");
  expect_error([&] { save_model(weights_model(), dir / "no_such_folder" / "m.onnx"); }, {"no_such_folder/m.onnx"});
  EXPECT_TRUE(folder_entries(dir).empty());

  SaveOptions escaping;
  escaping.external_data_file = "../outside.data";
  expect_error([&] { save_model(weights_model(), dir / "m.onnx", escaping); }, {"m.onnx", "../outside.data"});
  EXPECT_TRUE(folder_entries(dir).empty());
  EXPECT_FALSE(fs::exists(dir.parent_path() / "outside.data"));

  fs::create_directory(dir / "a_folder.onnx");
  expect_error([&] { save_model(weights_model(), dir / "a_folder.onnx"); }, {"a_folder.onnx", "folder"});
  fs::remove(dir / "a_folder.onnx");
}

TEST(ModelIo, ExistingOutputIsReplacedOnlyOnSuccess) {
  const fs::path dir = test_support::fresh_temp_dir("io_replace");
  write_bytes(dir / "m.onnx", "old contents");
  // The data file and the model's temporary file are both written before this fails: the
  // model cannot fit the (tiny) limit because the threshold keeps every tensor inline.
  SaveOptions options;
  options.external_data_threshold = 1'000'000;
  expect_error([&] { onnx_fp16::io::save_model_with_limit(weights_model(), dir / "m.onnx", options, 100); },
               {"m.onnx", "threshold"});
  EXPECT_EQ(read_bytes(dir / "m.onnx"), "old contents");
  EXPECT_EQ(folder_entries(dir), std::set<std::string>{"m.onnx"});

  save_model(weights_model(), dir / "m.onnx");
  EXPECT_TRUE(same_bytes(read_bytes(dir / "m.onnx"), serialized(weights_model())));
  EXPECT_EQ(folder_entries(dir), std::set<std::string>{"m.onnx"});
}

TEST(ModelIo, SameModelGivesSameBytes) {
  const fs::path dir = test_support::fresh_temp_dir("io_deterministic");
  SaveOptions options;
  options.external_data_file = "a.data";
  save_model(subgraph_model(), dir / "a.onnx", options);
  const std::string first_model = read_bytes(dir / "a.onnx"), first_data = read_bytes(dir / "a.data");
  save_model(subgraph_model(), dir / "a.onnx", options);
  EXPECT_TRUE(same_bytes(read_bytes(dir / "a.onnx"), first_model));
  EXPECT_TRUE(same_bytes(read_bytes(dir / "a.data"), first_data));
  save_model(subgraph_model(), dir / "inline1.onnx");
  save_model(subgraph_model(), dir / "inline2.onnx");
  EXPECT_TRUE(same_bytes(read_bytes(dir / "inline1.onnx"), read_bytes(dir / "inline2.onnx")));
}

TEST(ModelIo, AutomaticExternalDataAboveTheLimit) {
  const fs::path dir = test_support::fresh_temp_dir("io_automatic");
  const onnx::ModelProto model = weights_model();
  const std::uint64_t size = model.ByteSizeLong();

  onnx_fp16::io::save_model_with_limit(model, dir / "small_enough.onnx", {}, size);
  EXPECT_EQ(folder_entries(dir), std::set<std::string>{"small_enough.onnx"});

  onnx_fp16::io::save_model_with_limit(model, dir / "big.onnx", {}, size - 1);
  EXPECT_TRUE(fs::exists(dir / "big.onnx.data"));
  const onnx::ModelProto on_disk = parse_raw(dir / "big.onnx");
  EXPECT_EQ(external_entry(on_disk.graph().initializer(0), "location"), "big.onnx.data");
  EXPECT_LT(on_disk.ByteSizeLong(), 2000u);
  EXPECT_TRUE(same_bytes(serialized(load_model(dir / "big.onnx")), serialized(model)));
}

TEST(ModelIo, InitializerBytesCountsEveryGraphAndRepresentation) {
  onnx::ModelProto model = subgraph_model();  // one 2048-byte initializer, in a sub-graph
  modelgen::GraphBuilder g(model.mutable_graph());
  g.initializer("raw", {3}, {1, 2, 3});                // 12 bytes
  g.initializer_i64("typed", {2}, {5, 6});             // 16 bytes in int64_data
  TensorProto* halves = model.mutable_graph()->add_initializer();
  halves->set_data_type(TensorProto::FLOAT16);        // 3 values in int32_data: 6 bytes
  for (int v : {0x3c00, 0x4000, 0x4200}) halves->add_int32_data(v);
  EXPECT_EQ(onnx_fp16::initializer_bytes(model), 2048u + 12u + 16u + 6u);
}

}  // namespace
