// The evaluator on a MobileNetV3-large-shaped network (tools/modelgen/mobilenet_model.h): the
// kernels an edge CNN runs - depthwise 3x3 and 5x5 convolutions at strides 1 and 2 (the AVX-512
// rows where the CPU has them), squeeze-excitation, HardSigmoid, products cut into tiles - agree
// with ONNX Runtime, and the thread count does not change a bit.
#include <gtest/gtest.h>
#include <onnx_fp16/compare.h>
#include <onnx_fp16/evaluator.h>

#include <cstring>
#include <random>

#include "modelgen/mobilenet_model.h"
#include "support/conversion.h"
#include "support/ort_client.h"
#include "support/planted_model.h"

namespace {

using onnx_fp16::Tensor;

struct MobileNetCase {
  onnx::ModelProto model;
  Tensor image;
};

// 96x96: small enough for the test run, large enough that the early products are split into
// several tiles and every depthwise layer has rows wider than one vector.
MobileNetCase mobilenet_case() {
  MobileNetCase s;
  s.model = modelgen::mobilenet_v3_large_model({.image_size = 96, .classes = 100});
  std::mt19937 rng(11);
  s.image = Tensor::from_vector<float>({1, 3, 96, 96}, test_support::normal_values(3 * 96 * 96, 1.0f, rng));
  return s;
}

TEST(RuntimeMobileNet, AgreesWithOnnxRuntime) {
  ONNX_FP16_REQUIRE_ORT_OR_SKIP();
  const MobileNetCase s = mobilenet_case();
  const auto ours = onnx_fp16::Evaluator(s.model, {.threads = 2, .keep = {}}).run({{"image", s.image}});
  const auto ort = test_support::run_in_ort(s.model, {s.image.to_proto("image")});
  const Tensor reference = Tensor::from_proto(ort.at(0));
  const Tensor& logits = ours.at("logits");
  ASSERT_EQ(logits.shape(), reference.shape());
  // float32 accumulated in different orders over ~60 layers: agreement to a few float32 ulps of
  // the logits' scale, not bits.
  const onnx_fp16::TensorDifference d = onnx_fp16::compare_tensors(logits, reference, {1e-4, 1e-4});
  EXPECT_TRUE(d.close) << d.not_close << " not close, max abs error " << d.max_abs_error;
}

TEST(RuntimeMobileNet, ThreadCountDoesNotChangeABit) {
  const MobileNetCase s = mobilenet_case();
  const auto one = onnx_fp16::Evaluator(s.model, {.threads = 1, .keep = {}}).run({{"image", s.image}});
  const auto three = onnx_fp16::Evaluator(s.model, {.threads = 3, .keep = {}}).run({{"image", s.image}});
  const auto a = one.at("logits").bytes();
  const auto b = three.at("logits").bytes();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0);
}

}  // namespace
