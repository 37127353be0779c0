// Operator-specific typing: shape arithmetic, index-like ports, attribute-typed outputs, Cast,
// quantization, statistics outputs, com.microsoft ops, unknown ops, and constant clamping.
#include <gtest/gtest.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "modelgen/builder.h"
#include "onnx_fp16/evaluator.h"
#include "runtime/float_compute.h"
#include "support/conversion.h"
#include "support/ort_client.h"
#include "support/tensor_compare.h"

using namespace test_support;
using modelgen::GraphBuilder;
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int F16 = onnx::TensorProto::FLOAT16;
constexpr int I64 = onnx::TensorProto::INT64;

namespace {

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

onnx_fp16::Float16Options no_op_block_list() {
  onnx_fp16::Float16Options options;
  options.op_block_list.emplace();  // an empty list: block nothing
  return options;
}

}  // namespace

TEST(ConvertOps, FloatArithmeticComputingAShapeStaysFloat32) {
  // x[2,6] -> Reshape to (Shape(x)[0] * 2.0, -1) computed in float.
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 6}).output("y", F32, {4, 3});
  g.initializer("two", {}, {2.0f});
  g.initializer_i64("zero", {1}, {0});
  g.initializer_i64("minus_one", {1}, {-1});
  g.node("Shape", {"x"}, {"shape"}, "shape");
  g.node("Gather", {"shape", "zero"}, {"rows"}, "gather");
  auto& to_float = g.node("Cast", {"rows"}, {"rows_f"}, "to_float");
  modelgen::attr_int(to_float, "to", F32);
  g.node("Mul", {"rows_f", "two"}, {"rows2_f"}, "double_rows");
  auto& to_int = g.node("Cast", {"rows2_f"}, {"rows2"}, "to_int");
  modelgen::attr_int(to_int, "to", I64);
  g.node("Concat", {"rows2", "minus_one"}, {"new_shape"}, "concat");
  modelgen::attr_int(g.proto()->mutable_node()->Mutable(g.proto()->node_size() - 1)[0], "axis", 0);
  g.node("Relu", {"x"}, {"r"}, "relu");
  g.node("Reshape", {"r", "new_shape"}, {"y"}, "reshape");
  auto [converted, report] = convert_checked(model);
  const auto* kept = find_kept(report, "double_rows");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->reason, onnx_fp16::KeepReason::ShapeComputation);
  EXPECT_EQ(initializer_named(converted.graph(), "two")->data_type(), F32);
  EXPECT_EQ(attribute(*node_named(converted.graph(), "to_float"), "to")->i(), F32);
  EXPECT_EQ(report.casts_added, 0u);
  EXPECT_EQ(declared_elem_type(converted.graph(), "r"), F16);
}

TEST(ConvertOps, ResizeScalesStayFloat32OnAConvertedResize) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {1, 1, 2, 2}).output("y", F32, {1, 1, 4, 4});
  g.initializer("scales", {4}, {1, 1, 2, 2});
  g.node("Resize", {"x", "", "scales"}, {"y"}, "resize");
  auto [converted, report] = convert_checked(model, no_op_block_list());
  EXPECT_TRUE(report.kept_nodes.empty());
  EXPECT_EQ(initializer_named(converted.graph(), "scales")->data_type(), F32);
  EXPECT_EQ(output_elem_type(converted.graph(), 0), F16);
  if (ort_availability().installed) {
    auto out = run_in_ort(converted, {float_tensor("x", {1, 1, 2, 2}, {1, 2, 3, 4})});
    ASSERT_EQ(out.size(), 1u);
  }
}

TEST(ConvertOps, CastToFloatBecomesCastToFloat16) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("i", I64, {3}).output("y", F32, {3});
  auto& cast = g.node("Cast", {"i"}, {"f"}, "cast");
  modelgen::attr_int(cast, "to", F32);
  g.node("Relu", {"f"}, {"y"}, "relu");
  auto converted = convert_checked(model).model;
  EXPECT_EQ(attribute(*node_named(converted.graph(), "cast"), "to")->i(), F16);
  EXPECT_TRUE(nodes_of(converted.graph(), "Cast").size() == 1);
}

TEST(ConvertOps, CastReadOnlyByKeptNodesStaysFloat32) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("i", I64, {3}).input("x", F32, {3}).output("y", F32, {3});
  auto& cast = g.node("Cast", {"i"}, {"f"}, "cast");
  modelgen::attr_int(cast, "to", F32);
  g.node("Max", {"f", "x"}, {"m"}, "max");
  g.node("Relu", {"m"}, {"y"}, "relu");
  auto [converted, report] = convert_checked(model);
  EXPECT_EQ(attribute(*node_named(converted.graph(), "cast"), "to")->i(), F32);
  ASSERT_NE(find_kept(report, "cast"), nullptr);
  EXPECT_EQ(find_kept(report, "cast")->reason, onnx_fp16::KeepReason::CastFollowsConsumers);
  EXPECT_EQ(node_named(converted.graph(), "max")->input(0), "f");  // no int64 -> float16 -> float32 trip
}

TEST(ConvertOps, AttributeTypedOutputsAreRewritten) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 3}).output("y", F32, {2, 3}).output("r", F32, {2, 3});
  g.initializer_i64("shape", {2}, {2, 3});
  auto& fill = g.node("ConstantOfShape", {"shape"}, {"filled"}, "fill");
  modelgen::attr_tensor(fill, "value", modelgen::float_tensor("", {1}, {1e-9f}));
  g.node("Add", {"x", "filled"}, {"y"}, "add");
  auto& random = g.node("RandomNormal", {}, {"r"}, "random");
  modelgen::attr_ints(random, "shape", {2, 3});
  auto [converted, report] = convert_checked(model);
  const auto* value = attribute(*node_named(converted.graph(), "fill"), "value");
  EXPECT_EQ(value->t().data_type(), F16);
  std::uint16_t bits;
  std::memcpy(&bits, value->t().raw_data().data(), 2);
  EXPECT_EQ(bits, 0x0002);  // clamped to 1e-7, the float16 nearest to it (2 * 2^-24)
  EXPECT_EQ(attribute(*node_named(converted.graph(), "random"), "dtype")->i(), F16);
  EXPECT_EQ(output_elem_type(converted.graph(), 1), F16);
}

TEST(ConvertOps, ConstantNodesAreConvertedNotCast) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  auto& c = g.node("Constant", {}, {"c"}, "c");
  auto* a = c.add_attribute();
  a->set_name("value_floats");
  a->set_type(onnx::AttributeProto::FLOATS);
  a->add_floats(2.0f);
  a->add_floats(3.0f);
  g.node("Mul", {"x", "c"}, {"y"}, "mul");
  auto [converted, report] = convert_checked(model);
  EXPECT_TRUE(nodes_of(converted.graph(), "Cast").empty());
  EXPECT_EQ(attribute(*node_named(converted.graph(), "c"), "value")->t().data_type(), F16);
  EXPECT_EQ(report.constants_converted, 1u);
}

TEST(ConvertOps, QuantizeLinearInputStaysFloat32) {
  auto model = modelgen::make_model(13);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {4}).output("q", onnx::TensorProto::UINT8, {4});
  g.initializer("scale", {}, {0.1f});
  g.node("Relu", {"x"}, {"r"}, "relu");
  g.node("QuantizeLinear", {"r", "scale"}, {"q"}, "quant");
  auto [converted, report] = convert_checked(model);
  EXPECT_EQ(find_kept(report, "quant")->reason, onnx_fp16::KeepReason::NoFloat16InSchema);
  EXPECT_EQ(producer_of(converted.graph(), node_named(converted.graph(), "quant")->input(0))->op_type(), "Cast");
  EXPECT_EQ(initializer_named(converted.graph(), "scale")->data_type(), F32);
}

// Valid in float16 by the schema, but ONNX Runtime has no float16 kernel: kept, with the reason.
TEST(ConvertOps, NodesTheRuntimeCannotTakeInFloat16StayFloat32) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {3, 3}).input("i", onnx::TensorProto::INT64, {1, 3}).output("e", F32, {3, 3}).output("s", F32, {3, 3});
  g.node("EyeLike", {"x"}, {"e"}, "eye");
  g.node("Relu", {"x"}, {"r"}, "relu");
  auto& scatter = g.node("ScatterElements", {"r", "i", "u"}, {"s"}, "scatter_add");
  modelgen::attr_string(scatter, "reduction", "add");
  g.initializer("u", {1, 3}, {1, 2, 3});
  auto [converted, report] = convert_checked(model);
  for (const char* name : {"eye", "scatter_add"}) {
    const onnx_fp16::KeptNode* kept = find_kept(report, name);
    ASSERT_NE(kept, nullptr) << name;
    EXPECT_EQ(kept->reason, onnx_fp16::KeepReason::RuntimeLimitation) << name;
    EXPECT_NE(kept->detail.find("ONNX Runtime"), std::string::npos) << kept->detail;
  }
  EXPECT_EQ(find_kept(report, "relu"), nullptr);
}

// Dynamically quantized products (ORT's quantizer: DynamicQuantizeLinear, ConvInteger or
// MatMulInteger, Cast, Mul by the scales): the int32 sums reach millions before the scale brings
// them down, beyond float16's 65504. Before this rule every output of the converted model was inf.
// The Cast and the scaling Mul stay float32 and what follows converts; bfloat16, with float32's
// range, keeps nothing for it.
TEST(ConvertOps, IntegerSumsStayFloat32UntilScaled) {
  constexpr int U8 = onnx::TensorProto::UINT8;
  std::uint32_t seed = 12345;
  auto bytes = [&](std::size_t count) {
    std::vector<std::uint8_t> values(count);
    for (auto& v : values) {
      seed = seed * 1664525u + 1013904223u;
      v = static_cast<std::uint8_t>(seed >> 24);
    }
    return values;
  };
  auto model = modelgen::make_model(13);
  GraphBuilder g(model.mutable_graph());
  g.input("x", U8, {1, 16, 8, 8}).input("a", U8, {4, 64}).output("y", F32, {1, 8, 8, 8}).output("z", F32, {4, 16});
  for (const auto& [name, dims] : std::vector<std::pair<std::string, std::vector<std::int64_t>>>{{"W", {8, 16, 3, 3}}, {"B", {64, 16}}}) {
    onnx::TensorProto& w = *model.mutable_graph()->add_initializer();
    w.set_name(name);
    w.set_data_type(U8);
    std::size_t count = 1;
    for (const auto d : dims) {
      w.add_dims(d);
      count *= static_cast<std::size_t>(d);
    }
    const auto values = bytes(count);
    w.set_raw_data(std::string(values.begin(), values.end()));
  }
  g.initializer("scale", {}, {1e-4f});
  // The convolution's bias is added to the sums before the scale, as some exporters write it.
  g.initializer("bias", {8, 1, 1}, {-3000.f, -1500.f, -500.f, 0.f, 250.f, 1000.f, 2000.f, 4000.f});
  modelgen::attr_ints(g.node("ConvInteger", {"x", "W"}, {"acc"}, "conv"), "pads", {1, 1, 1, 1});
  modelgen::attr_int(g.node("Cast", {"acc"}, {"accf"}, "conv_cast"), "to", F32);
  g.node("Add", {"accf", "bias"}, {"biased"}, "conv_bias");
  g.node("Mul", {"biased", "scale"}, {"y0"}, "conv_scale");
  g.node("Relu", {"y0"}, {"y"}, "conv_relu");
  g.node("MatMulInteger", {"a", "B"}, {"mm"}, "matmul");
  modelgen::attr_int(g.node("Cast", {"mm"}, {"mmf"}, "matmul_cast"), "to", F32);
  g.node("Mul", {"mmf", "scale"}, {"z0"}, "matmul_scale");
  g.node("Relu", {"z0"}, {"z"}, "matmul_relu");

  auto [converted, report] = convert_checked(model);
  for (const char* name : {"conv_cast", "conv_bias", "conv_scale", "matmul_cast", "matmul_scale"}) {
    const onnx_fp16::KeptNode* kept = find_kept(report, name);
    ASSERT_NE(kept, nullptr) << name;
    EXPECT_EQ(kept->reason, onnx_fp16::KeepReason::IntegerSums) << name;
    EXPECT_NE(kept->detail.find(name[0] == 'c' ? "'conv' (ConvInteger)" : "'matmul' (MatMulInteger)"), std::string::npos)
        << kept->detail;
  }
  EXPECT_EQ(find_kept(report, "conv_relu"), nullptr);
  EXPECT_EQ(find_kept(report, "matmul_relu"), nullptr);

  const onnx_fp16::Feeds feeds{{"x", onnx_fp16::Tensor::from_vector<std::uint8_t>({1, 16, 8, 8}, bytes(1024))},
                               {"a", onnx_fp16::Tensor::from_vector<std::uint8_t>({4, 64}, bytes(256))}};
  const auto expected = onnx_fp16::Evaluator(model).run(feeds);
  const auto actual = onnx_fp16::Evaluator(converted).run(feeds);
  for (const char* output : {"y", "z"}) {
    const auto want = onnx_fp16::runtime::to_float_vector(expected.at(output));
    const auto got = onnx_fp16::runtime::to_float_vector(actual.at(output));
    ASSERT_EQ(got.size(), want.size());
    const float largest = *std::max_element(want.begin(), want.end());
    EXPECT_GT(largest, 1.0f) << output;  // the sums were far beyond 65504 before the scale
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::isfinite(got[i])) << output << "[" << i << "]";
      EXPECT_NEAR(got[i], want[i], 1e-3f * largest) << output << "[" << i << "]";
    }
  }
  if (ort_availability().installed) {
    const auto ort = run_in_ort(converted, {feeds.at("x").to_proto("x"), feeds.at("a").to_proto("a")});
    EXPECT_EQ(ort.size(), 2u);
  }

  onnx_fp16::Float16Options bf16;
  bf16.target = onnx_fp16::TargetType::BFloat16;
  const auto bfloat = convert_checked(model, bf16);
  for (const auto& kept : bfloat.report.kept_nodes) EXPECT_NE(kept.reason, onnx_fp16::KeepReason::IntegerSums) << kept.name;
}

// A node reading or writing a sequence of float32 tensors stays float32: a sequence cannot be cast.
TEST(ConvertOps, NodesOnSequencesOfFloat32StayFloat32) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.initializer_i64("zero", {}, {0});
  g.node("Relu", {"x"}, {"r"}, "relu");
  g.node("SequenceConstruct", {"r", "x"}, {"seq"}, "construct");
  g.node("SequenceAt", {"seq", "zero"}, {"y"}, "at");
  auto [converted, report] = convert_checked(model);
  for (const char* name : {"construct", "at"}) {
    const onnx_fp16::KeptNode* kept = find_kept(report, name);
    ASSERT_NE(kept, nullptr) << name;
    EXPECT_EQ(kept->reason, onnx_fp16::KeepReason::NonTensorTypes) << name;
  }
  EXPECT_EQ(find_kept(report, "relu"), nullptr);
}

TEST(ConvertOps, LayerNormalizationStatisticsStayFloat32) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 4}).output("y", F32, {2, 4}).output("mean", F32, {2, 1});
  g.initializer("gamma", {4}, {1, 1, 1, 1});
  g.initializer("beta", {4}, {0, 0, 0, 0});
  g.node("LayerNormalization", {"x", "gamma", "beta"}, {"y", "mean"}, "ln");
  auto [converted, report] = convert_checked(model);
  EXPECT_EQ(output_elem_type(converted.graph(), 0), F16);
  EXPECT_EQ(output_elem_type(converted.graph(), 1), F16);  // cast from the float32 statistic
  const auto* cast = producer_of(converted.graph(), "mean");
  ASSERT_EQ(cast->op_type(), "Cast");
  EXPECT_EQ(producer_of(converted.graph(), cast->input(0))->name(), "ln");
}

TEST(ConvertOps, MicrosoftFusedMatMulConvertsByBuiltinRule) {
  auto model = modelgen::make_model();
  modelgen::add_opset(model, "com.microsoft", 1);
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {2, 2}).output("y", F32, {2, 2});
  g.initializer("b", {2, 2}, {1, 2, 3, 4});
  g.node("FusedMatMul", {"a", "b"}, {"y"}, "fmm", "com.microsoft");
  auto report = onnx_fp16::convert_float_to_float16(model);
  EXPECT_TRUE(report.kept_nodes.empty());
  EXPECT_EQ(initializer_named(model.graph(), "b")->data_type(), F16);
}

TEST(ConvertOps, UnknownOpIsKeptAndReported) {
  auto model = modelgen::make_model();
  modelgen::add_opset(model, "custom", 1);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.value_info("t", F32, {2});
  g.node("Mystery", {"x"}, {"t"}, "mystery", "custom");
  g.node("Relu", {"t"}, {"y"}, "relu");
  auto report = onnx_fp16::convert_float_to_float16(model);
  ASSERT_NE(find_kept(report, "mystery"), nullptr);
  EXPECT_EQ(find_kept(report, "mystery")->reason, onnx_fp16::KeepReason::UnknownOperator);
  EXPECT_NE(find_kept(report, "mystery")->detail.find("custom::Mystery"), std::string::npos);
  EXPECT_EQ(nodes_of(model.graph(), "Cast").size(), 2u);
}

TEST(ConvertOps, UntypeableTensorIsAnErrorNamingIt) {
  auto model = modelgen::make_model();
  modelgen::add_opset(model, "custom", 1);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.node("Mystery", {"x"}, {"t"}, "mystery", "custom");
  g.node("Relu", {"t"}, {"y"}, "relu");
  try {
    onnx_fp16::convert_float_to_float16(model);
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("'t'"), std::string::npos) << message;
    EXPECT_NE(message.find("mystery"), std::string::npos) << message;
    EXPECT_NE(message.find("relu"), std::string::npos) << message;
  }
}

TEST(ConvertOps, ConstantClampingIsBitExact) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // value -> expected float16 bits (min_positive_val 1e-7, max_finite_val 1e4)
  const std::vector<std::pair<float, std::uint16_t>> cases{
      {0.0f, 0x0000},    {-0.0f, 0x8000},   {1e-9f, 0x0002},  {-1e-9f, 0x8002}, {1e-7f, 0x0002},
      {1e5f, 0x70E2},    {-1e5f, 0xF0E2},   {1e4f, 0x70E2},   {inf, 0x7C00},    {-inf, 0xFC00},
      {1.0f, 0x3C00},    {0.1f, 0x2E66},    {65504.0f, 0x70E2}, {1e-6f, 0x0011},
  };
  std::vector<float> values;
  for (auto& c : cases) values.push_back(c.first);
  values.push_back(nan);
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {static_cast<std::int64_t>(values.size())}).output("y", F32, {static_cast<std::int64_t>(values.size())});
  g.initializer("c", {static_cast<std::int64_t>(values.size())}, values);
  g.node("Add", {"x", "c"}, {"y"}, "add");
  auto [converted, report] = convert_checked(model);
  const auto* c = initializer_named(converted.graph(), "c");
  ASSERT_EQ(c->raw_data().size(), values.size() * 2);
  std::vector<std::uint16_t> bits(values.size());
  std::memcpy(bits.data(), c->raw_data().data(), c->raw_data().size());
  for (std::size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(bits[i], cases[i].second) << "value " << cases[i].first;
  EXPECT_EQ(bits.back() & 0x7C00, 0x7C00);
  EXPECT_NE(bits.back() & 0x03FF, 0);  // still NaN
  EXPECT_EQ(report.values_clamped, 5u);  // +-1e-9, +-1e5, 65504
}

TEST(ConvertOps, CustomClampBounds) {
  auto model = modelgen::make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.initializer("c", {2}, {1e-3f, 5000.0f});
  g.node("Add", {"x", "c"}, {"y"}, "add");
  onnx_fp16::Float16Options options;
  options.min_positive_val = 1e-2f;
  options.max_finite_val = 1000.0f;
  auto [converted, report] = convert_checked(model, options);
  std::uint16_t bits[2];
  std::memcpy(bits, initializer_named(converted.graph(), "c")->raw_data().data(), 4);
  EXPECT_EQ(bits[0], 0x211F);  // float16(0.01)
  EXPECT_EQ(bits[1], 0x63D0);  // float16(1000)
  EXPECT_EQ(report.values_clamped, 2u);
}
