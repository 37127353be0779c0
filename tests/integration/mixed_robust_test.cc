// Robust acceptance: a model auto-mixed accepts must hold on another faithful float16
// implementation, not only on the evaluator's bits. The other implementation is the numpy
// emulation (tests/emulation), which follows the same contract (float16 storage, float32
// arithmetic, one rounding per output) but accumulates in another order (numpy's matmul) or in
// float64 (--accumulate=float64): on a ResNet-50 the two differ from the evaluator by ~7e-4
// (relative L2) at the logits, which is what a GPU does too.
//
// The tolerance is chosen where the all-float16 model fails (worst logit at ~1.6x) so the
// search has to stop at the edge. Accepted on the evaluator's bits alone, the result fails on
// the emulation (the first test shows the problem exists, so the second can fail); accepted
// with the variants' spread, it passes on both emulations.
#include <gtest/gtest.h>
#include <onnx_fp16/compare.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/mixed.h>

#include <algorithm>
#include <map>
#include <random>

#include "modelgen/resnet_model.h"
#include "support/float16_emulation.h"
#include "support/paths.h"
#include "support/planted_model.h"

namespace {

using onnx_fp16::Feeds;
using onnx_fp16::MixedOptions;
using onnx_fp16::MixedReport;
using onnx_fp16::Tensor;

constexpr double kAtol = 0.0012;  // absolute only: the logits are ~1e-1, float16's error ~1e-3

struct Case {
  onnx::ModelProto float32;
  Feeds feeds;
  std::vector<Tensor> reference;  // the float32 model's outputs on the evaluator
};

const Case& resnet_case() {
  static const Case c = [] {
    modelgen::ResNetSpec spec;
    spec.image_size = 64;
    Case made;
    made.float32 = modelgen::resnet50_model(spec);
    std::mt19937 rng(1);
    made.feeds = {{"image", Tensor::from_vector<float>({1, 3, 64, 64}, test_support::normal_values(3 * 64 * 64, 1.0f, rng))}};
    const onnx_fp16::Evaluator evaluator(made.float32);
    made.reference = {evaluator.run(made.feeds).at("logits")};
    return made;
  }();
  return c;
}

struct Found {
  onnx::ModelProto model;
  MixedReport report;
};

// A search at kAtol with `variants`, in the improved order (the default budget) or in node order
// (budget 0); each computed once and shared by the tests.
const Found& search(int variants, bool node_order = false) {
  static std::map<std::pair<int, bool>, Found> done;
  auto [it, added] = done.try_emplace({variants, node_order});
  if (added) {
    it->second.model = resnet_case().float32;
    MixedOptions options;
    options.atol = kAtol;
    options.rtol = 0;
    options.keep_io_types = true;
    options.float16_variants = variants;
    if (node_order) options.sensitivity_budget = 0;
    it->second.report = onnx_fp16::auto_convert_mixed_precision(it->second.model, {resnet_case().feeds}, options);
  }
  return it->second;
}

// The worst |reference - x| / atol over the logits.
double worst_ratio(const Tensor& reference, const Tensor& x) {
  return onnx_fp16::compare_tensors(reference, x, {0, kAtol}).max_abs_error / kAtol;
}

struct Emulated {
  double float32_order = 0;  // numpy's float32 accumulation
  double float64 = 0;        // float64 accumulation
};

Emulated emulate(const onnx::ModelProto& model, const std::string& label) {
  const auto dir = test_support::fresh_temp_dir(label);
  const auto in_float32 = test_support::run_float16_emulation(dir, model, resnet_case().feeds);
  const auto in_float64 = test_support::run_float16_emulation(dir, model, resnet_case().feeds, {.accumulate_float64 = true});
  if (in_float32.size() != 1 || in_float64.size() != 1) return {1e9, 1e9};
  return {worst_ratio(resnet_case().reference[0], in_float32[0]), worst_ratio(resnet_case().reference[0], in_float64[0])};
}

TEST(MixedRobust, AcceptingOnTheEvaluatorsBitsAloneFailsOnAnotherImplementation) {
  if (!test_support::float16_emulation_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy and onnx";
  // In node order: which order found the result does not matter here, only that it sits at the
  // edge on the evaluator's bits (the improved order's result at this tolerance, since its
  // estimates came from chained cut points, lands at 0.87-0.88 elsewhere against 0.93).
  const Found& found = search(0, /*node_order=*/true);
  ASSERT_EQ(found.report.variants_checked, 1);
  ASSERT_EQ(found.report.margins.size(), 1u);
  EXPECT_LE(found.report.margins[0].evaluator_ratio, 1.0);
  EXPECT_GT(found.report.margins[0].evaluator_ratio, 0.9) << "the search should stop at the edge";
  const Emulated emulated = emulate(found.model, "robust_off");
  // Another implementation lands further from float32 than the room the evaluator's bits left
  // (measured here: 1.26 and 1.02 against 0.998), so the evaluator's verdict does not carry over.
  EXPECT_GT(std::max(emulated.float32_order, emulated.float64), found.report.margins[0].evaluator_ratio)
      << "the emulation no longer shows the problem robust acceptance solves (worst ratios " << emulated.float32_order
      << ", " << emulated.float64 << "); pick a tolerance where it does";
}

TEST(MixedRobust, AcceptedResultsHoldElsewhereAndTheImprovedOrderKeepsMoreFloat16) {
  if (!test_support::float16_emulation_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy and onnx";
  const Found& found = search(2);
  EXPECT_EQ(found.report.variants_checked, 3);
  ASSERT_EQ(found.report.margins.size(), 1u);
  const onnx_fp16::OutputMargin& margin = found.report.margins[0];
  EXPECT_LE(margin.robust_ratio, 1.0);
  EXPECT_LE(margin.evaluator_ratio, margin.robust_ratio);
  EXPECT_LE(margin.worst_ratio, margin.robust_ratio);
  EXPECT_GT(margin.variant_distance, 0.0) << "the variants must differ from the evaluator";
  EXPECT_GT(found.report.converted_nodes, 0u);
  const Emulated emulated = emulate(found.model, "robust_on");
  EXPECT_LE(emulated.float32_order, 1.0);
  EXPECT_LE(emulated.float64, 1.0);

  // Spending the tolerance where it buys the most: the improved order (each node's effect alone
  // measured, most FLOPs per squared effect first) keeps clearly more of the work in float16
  // than node order under the same robust acceptance (measured on another sample: 81% against
  // 47% of the FLOPs). (In this test: one process shares the improved search's result.)
  const MixedReport& by_node = search(2, true).report;
  EXPECT_EQ(found.report.order, onnx_fp16::SearchOrderKind::Sensitivity);
  EXPECT_EQ(by_node.order, onnx_fp16::SearchOrderKind::Node);
  const double improved_share = found.report.flops_float16 / found.report.flops_total;
  const double node_share = by_node.flops_float16 / by_node.flops_total;
  EXPECT_GT(improved_share, node_share + 0.1) << "improved " << improved_share << ", node order " << node_share;
}

}  // namespace
