// The ORT client and tests/ort/ort_server.js together: every data type the protocol carries,
// errors that must not end the server, both optimization levels.
#include <gtest/gtest.h>

#include <fstream>

#include "support/ort_client.h"
#include "support/paths.h"
#include "support/tensor_data.h"

namespace test_support {
namespace {

using onnx::TensorProto;

// y = Identity(x) for one element type, saved in `dir`.
std::filesystem::path identity_model(const std::filesystem::path& dir, int elem_type) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("identity");
  auto* node = graph->add_node();
  node->set_op_type("Identity");
  node->add_input("x");
  node->add_output("y");
  for (auto* value : {graph->add_input(), graph->add_output()}) {
    value->set_name(value == &graph->input(0) ? "x" : "y");
    auto* tensor_type = value->mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(elem_type);
    tensor_type->mutable_shape()->add_dim()->set_dim_param("n");
  }
  const auto path = dir / ("identity_" + data_type_name(elem_type) + ".onnx");
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
  return path;
}

class OrtClientTest : public testing::Test {
 protected:
  void SetUp() override { ONNX_FP16_REQUIRE_ORT_OR_SKIP(); }
  std::filesystem::path dir_ = fresh_temp_dir("ort_client");
};

TEST_F(OrtClientTest, RoundTripsEveryDataType) {
  OrtClient& ort = OrtClient::shared();
  EXPECT_FALSE(ort.ort_version().empty());
  for (const int type : {TensorProto::BOOL, TensorProto::INT8, TensorProto::UINT8, TensorProto::INT16, TensorProto::UINT16,
                         TensorProto::INT32, TensorProto::UINT32, TensorProto::INT64, TensorProto::UINT64,
                         TensorProto::FLOAT16, TensorProto::FLOAT, TensorProto::DOUBLE}) {
    SCOPED_TRACE(data_type_name(type));
    const std::size_t count = 5;
    std::string bytes(count * element_size(type), '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 37 + 1);
    if (type == TensorProto::BOOL) bytes = std::string("\x01\x00\x01\x01\x00", 5);
    const auto input = make_raw_tensor("x", type, {static_cast<std::int64_t>(count)}, bytes);
    const auto result = ort.run(identity_model(dir_, type), {input});
    ASSERT_TRUE(result.ok()) << result.error;
    ASSERT_EQ(result.outputs.size(), 1u);
    EXPECT_EQ(result.outputs[0].name(), "y");
    EXPECT_EQ(result.outputs[0].data_type(), type);
    EXPECT_EQ(result.outputs[0].dims_size(), 1);
    EXPECT_EQ(raw_bytes(result.outputs[0]), bytes);
  }
}

TEST_F(OrtClientTest, RoundTripsStringsAndEmptyTensors) {
  OrtClient& ort = OrtClient::shared();
  TensorProto strings;
  strings.set_name("x");
  strings.set_data_type(TensorProto::STRING);
  strings.add_dims(3);
  for (const char* text : {"", "plain", "caf\xc3\xa9 \"quoted\"\n"}) strings.add_string_data(text);
  const auto result = ort.run(identity_model(dir_, TensorProto::STRING), {strings});
  ASSERT_TRUE(result.ok()) << result.error;
  ASSERT_EQ(result.outputs[0].string_data_size(), 3);
  EXPECT_EQ(result.outputs[0].string_data(2), "caf\xc3\xa9 \"quoted\"\n");

  const auto empty = ort.run(identity_model(dir_, TensorProto::FLOAT), {make_raw_tensor("x", TensorProto::FLOAT, {0}, "")});
  ASSERT_TRUE(empty.ok()) << empty.error;
  EXPECT_EQ(empty.outputs[0].dims(0), 0);
}

TEST_F(OrtClientTest, ErrorsComeBackAndTheServerGoesOn) {
  OrtClient& ort = OrtClient::shared();
  const auto model = identity_model(dir_, TensorProto::FLOAT);
  const auto x = make_raw_tensor("x", TensorProto::FLOAT, {1}, std::string(4, '\0'));

  const auto missing = ort.run(dir_ / "missing.onnx", {x});
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.error.find("missing.onnx"), std::string::npos) << missing.error;

  EXPECT_FALSE(ort.run(model, {}).ok());                                                       // no feed
  EXPECT_FALSE(ort.run(model, {make_raw_tensor("x", TensorProto::INT32, {1}, std::string(4, '\0'))}).ok());  // wrong type
  EXPECT_FALSE(ort.run(model, {make_raw_tensor("x", TensorProto::FLOAT, {2}, std::string(3, '\0'))}).ok());  // bad bytes

  std::ofstream(dir_ / "garbage.onnx") << "not a model";
  ASSERT_TRUE(ort.load(dir_ / "garbage.onnx").has_value());

  EXPECT_EQ(ort.load(model), std::nullopt);
  EXPECT_TRUE(ort.run(model, {x}).ok());
}

TEST_F(OrtClientTest, RunsWithOptimizationDisabled) {
  OrtClient ort(OrtClient::Options{.optimization = GraphOptimization::Disabled});
  const auto model = identity_model(dir_, TensorProto::FLOAT);
  const auto x = make_raw_tensor("x", TensorProto::FLOAT, {1}, std::string("\x00\x00\x80\x3f", 4));
  const auto result = ort.run(model, {x});
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(to_doubles(result.outputs[0]), std::vector<double>{1.0});
  EXPECT_EQ(ort.load(model, GraphOptimization::All), std::nullopt);
}

TEST_F(OrtClientTest, RestartsTheServerAfterATimeout) {
  OrtClient ort(OrtClient::Options{.timeout = std::chrono::milliseconds(0)});
  const auto model = identity_model(dir_, TensorProto::FLOAT);
  const auto late = ort.load(model);
  ASSERT_TRUE(late.has_value());
  EXPECT_NE(late->find("did not answer"), std::string::npos) << *late;

  ort.set_timeout(std::chrono::seconds(60));  // the next request starts a fresh server
  EXPECT_EQ(ort.load(model), std::nullopt);
}

}  // namespace
}  // namespace test_support
