// com.microsoft NhwcConv: Conv on channels-last data. ONNX Runtime has it on CUDA only, so the
// reference is ONNX Runtime's CPU running the same convolution as Transpose -> Conv -> Transpose.
#include <gtest/gtest.h>
#include <onnx_fp16/compare.h>
#include <onnx_fp16/evaluator.h>

#include <random>

#include "modelgen/builder.h"
#include "support/conversion.h"
#include "support/ort_client.h"
#include "support/planted_model.h"
#include "support/run_node.h"

namespace {

using onnx_fp16::Tensor;
constexpr int F32 = onnx::TensorProto::FLOAT;

void conv_attributes(onnx::NodeProto& node) {
  modelgen::attr_ints(node, "strides", {2, 1});
  modelgen::attr_ints(node, "pads", {1, 0, 1, 2});
  modelgen::attr_int(node, "group", 2);
}

TEST(RuntimeNhwcConv, IsConvOnChannelsLastData) {
  ONNX_FP16_REQUIRE_ORT_OR_SKIP();
  std::mt19937 rng(3);
  // X [N=2, H=5, W=6, C=4]; W [M=6, C/group=2, 3, 3]; B [6].
  const Tensor x = Tensor::from_vector<float>({2, 5, 6, 4}, test_support::normal_values(240, 1.0f, rng));
  const Tensor w = Tensor::from_vector<float>({6, 2, 3, 3}, test_support::normal_values(108, 0.5f, rng));
  const Tensor b = Tensor::from_vector<float>({6}, test_support::normal_values(6, 0.5f, rng));
  const auto nhwc = test_support::run_node("NhwcConv", {{"x", x}, {"w", w}, {"b", b}}, {"y"}, conv_attributes, 1,
                                           "com.microsoft");
  const Tensor& y = nhwc.at("y");
  ASSERT_EQ(y.shape(), (onnx_fp16::Shape{2, 3, 6, 6}));

  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 5, 6, 4}).input("w", F32, {6, 2, 3, 3}).input("b", F32, {6}).output("y", F32, {2, 3, 6, 6});
  modelgen::attr_ints(g.node("Transpose", {"x"}, {"x_first"}, "to_first"), "perm", {0, 3, 1, 2});
  conv_attributes(g.node("Conv", {"x_first", "w", "b"}, {"y_first"}, "conv"));
  modelgen::attr_ints(g.node("Transpose", {"y_first"}, {"y"}, "to_last"), "perm", {0, 2, 3, 1});
  const auto ort = test_support::run_in_ort(model, {x.to_proto("x"), w.to_proto("w"), b.to_proto("b")});
  const onnx_fp16::TensorDifference d = onnx_fp16::compare_tensors(y, Tensor::from_proto(ort.at(0)), {1e-5, 1e-5});
  EXPECT_TRUE(d.close) << d.not_close << " not close, max abs error " << d.max_abs_error;
}

TEST(RuntimeNhwcConv, RefusesInputsWithoutSpatialDimensions) {
  const Tensor x = Tensor::from_vector<float>({2, 4}, std::vector<float>(8));
  const Tensor w = Tensor::from_vector<float>({1, 4, 1}, std::vector<float>(4));
  try {
    test_support::run_node("NhwcConv", {{"x", x}, {"w", w}}, {"y"}, {}, 1, "com.microsoft");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("rank 3 or more"), std::string::npos) << e.what();
  }
}

}  // namespace
