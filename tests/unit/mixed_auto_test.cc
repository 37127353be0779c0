// auto_convert_mixed_precision end to end: what it keeps, why, what it refuses, and that the
// model it returns is valid and within tolerance in the evaluator and in ONNX Runtime.
#include <gtest/gtest.h>
#include <onnx_fp16/compare.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/mixed.h>
#include <onnx_fp16/checker.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <random>
#include <set>

#include "modelgen/builder.h"
#include "modelgen/example_model.h"
#include "modelgen/sensitive_models.h"
#include "support/conversion.h"
#include "support/ort_client.h"
#include "support/planted_model.h"
#include "support/subgraph_models.h"
#include "support/test_env.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Feeds;
using onnx_fp16::MixedKeepReason;
using onnx_fp16::MixedOptions;
using onnx_fp16::MixedReport;
using onnx_fp16::SearchStrategy;
using onnx_fp16::Tensor;
constexpr int F32 = onnx::TensorProto::FLOAT;

using test_support::normal_values;
using test_support::planted_overflow_model;

Feeds sample_x(std::uint32_t seed, float scale = 1.0f) { return test_support::planted_model_sample(seed, scale); }

MixedOptions tolerances(double rtol, double atol, SearchStrategy strategy = SearchStrategy::Improved) {
  MixedOptions options;
  options.rtol = rtol;
  options.atol = atol;
  options.strategy = strategy;
  return options;
}

std::set<std::string> kept_names(const MixedReport& report) {
  std::set<std::string> names;
  for (const auto& node : report.kept_nodes) names.insert(node.name);
  return names;
}

using test_support::error_of;

// The largest absolute error of `model` converted plainly to float16 (keep_io_types) on output
// "y" of `sample`: tests set their tolerance to a fraction of it, so that only part fits.
double plain_float16_error(const onnx::ModelProto& model, const Feeds& sample) {
  const Tensor expected = onnx_fp16::Evaluator(model).run(sample).at("y");
  onnx::ModelProto plain = model;
  onnx_fp16::Float16Options keep_io;
  keep_io.keep_io_types = true;
  onnx_fp16::convert_float_to_float16(plain, keep_io);
  return onnx_fp16::compare_tensors(expected, onnx_fp16::Evaluator(plain).run(sample).at("y"), {0, 1}).max_abs_error;
}

// The deep chain's search at 60% of its plain float16 error (only part of it fits), on one
// sample of normal values; `adjust` sets the options a test varies.
MixedReport search_deep_chain(const std::function<void(MixedOptions&)>& adjust) {
  std::mt19937 rng(3);
  const Feeds sample{{"x", Tensor::from_vector<float>({8, 64}, test_support::normal_values(8 * 64, 1.0f, rng))}};
  static const double plain_error = plain_float16_error(test_support::deep_chain_model(16), sample);
  onnx::ModelProto model = test_support::deep_chain_model(16);
  MixedOptions options = tolerances(0, plain_error * 0.6);
  options.keep_io_types = true;
  adjust(options);
  return onnx_fp16::auto_convert_mixed_precision(model, {sample}, options);
}

const std::set<std::string> kPlanted{"planted/square", "planted/normalize"};

TEST(MixedAuto, BaselineSearchFindsThePlantedOverflow) {
  onnx::ModelProto model = planted_overflow_model();
  const MixedReport report =
      onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1), sample_x(2)}, tolerances(1e-2, 1e-2, SearchStrategy::Baseline));
  EXPECT_EQ(kept_names(report), kPlanted);
  EXPECT_EQ(report.engine, onnx_fp16::CandidateEngineKind::Rebuild);
  EXPECT_EQ(report.candidate_nodes, 7u);
  EXPECT_EQ(report.converted_nodes, 5u);
  for (const auto& node : report.kept_nodes) {
    EXPECT_EQ(node.reason, MixedKeepReason::Search) << node.name;
    EXPECT_NE(node.detail.find("not close"), std::string::npos) << node.detail;  // the error it caused
  }
  EXPECT_GT(report.attempts, 4);
}

TEST(MixedAuto, ImprovedSearchKeepsTheSameNodesWithLessWork) {
  onnx::ModelProto baseline_model = planted_overflow_model();
  onnx::ModelProto improved_model = planted_overflow_model();
  const std::vector<Feeds> samples{sample_x(1), sample_x(2)};
  const MixedReport baseline = onnx_fp16::auto_convert_mixed_precision(
      baseline_model, samples, tolerances(1e-2, 1e-2, SearchStrategy::Baseline));
  MixedOptions improved_options = tolerances(1e-2, 1e-2);
  improved_options.float16_variants = 0;  // the baseline's acceptance: the engines' work compared alone
  const MixedReport improved = onnx_fp16::auto_convert_mixed_precision(improved_model, samples, improved_options);
  EXPECT_EQ(kept_names(improved), kPlanted);
  EXPECT_EQ(improved.engine, onnx_fp16::CandidateEngineKind::Incremental);
  for (const auto& node : improved.kept_nodes) {
    EXPECT_EQ(node.reason, MixedKeepReason::Float16Overflow) << node.name;
    EXPECT_NE(node.detail.find("65504"), std::string::npos) << node.detail;
  }
  EXPECT_EQ(improved.attempts, 1);  // the screen found both; the rest converts at once
  EXPECT_LT(improved.attempts, baseline.attempts);
  EXPECT_LT(improved.full_run_equivalents, baseline.full_run_equivalents);
  // Both results are the same model.
  EXPECT_EQ(improved_model.SerializeAsString(), baseline_model.SerializeAsString());
}

TEST(MixedAuto, TheResultIsValidAndWithinToleranceInOnnxRuntime) {
  ONNX_FP16_REQUIRE_ORT_OR_SKIP();
  onnx::ModelProto model = planted_overflow_model();
  const Feeds sample = sample_x(1);
  const onnx_fp16::Evaluator float32(planted_overflow_model());
  const Tensor expected = float32.run(sample).at("y");
  onnx_fp16::auto_convert_mixed_precision(model, {sample}, tolerances(1e-2, 1e-2));
  EXPECT_NO_THROW(onnx_fp16::check_model_full(model));
  const auto ort_outputs = test_support::run_in_ort(model, test_support::inputs_for(model, {sample.at("x").to_proto("x")}));
  ASSERT_EQ(ort_outputs.size(), 1u);
  const Tensor ort_y = Tensor::from_proto(ort_outputs[0]);
  const onnx_fp16::TensorDifference d = onnx_fp16::compare_tensors(expected, ort_y, {1e-2, 1e-2});
  EXPECT_TRUE(d.close) << d.not_close << " not close, max abs error " << d.max_abs_error;
  // And plain float16 conversion would not have been.
  onnx::ModelProto plain = planted_overflow_model();
  onnx_fp16::convert_float_to_float16(plain);
  const auto plain_outputs = test_support::run_in_ort(plain, test_support::inputs_for(plain, {sample.at("x").to_proto("x")}));
  EXPECT_FALSE(onnx_fp16::allclose(expected, Tensor::from_proto(plain_outputs[0]), {1e-2, 1e-2}));
}

TEST(MixedAuto, EverySampleMustPass) {
  // On small inputs nothing overflows; only the Div fails, because the conversion clamps its
  // divisor 1e5 to max_finite_val (1e4). On ordinary inputs the square overflows too.
  onnx::ModelProto small_only = planted_overflow_model();
  const MixedReport one = onnx_fp16::auto_convert_mixed_precision(small_only, {sample_x(1, 0.02f)},
                                                                  tolerances(1e-2, 1e-2, SearchStrategy::Baseline));
  EXPECT_EQ(kept_names(one), std::set<std::string>{"planted/normalize"});
  onnx::ModelProto both = planted_overflow_model();
  const MixedReport two = onnx_fp16::auto_convert_mixed_precision(both, {sample_x(1, 0.02f), sample_x(2)},
                                                                  tolerances(1e-2, 1e-2, SearchStrategy::Baseline));
  EXPECT_EQ(kept_names(two), kPlanted);
}

TEST(MixedAuto, AFailingSampleEndsItsAttempt) {
  // The sample that overflows comes first: a failing attempt never runs the second one. (The
  // baseline strategy: the improved one's screen leaves no attempt to fail here.)
  onnx::ModelProto model = planted_overflow_model();
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(
      model, {sample_x(2), sample_x(1, 0.02f)}, tolerances(1e-2, 1e-2, SearchStrategy::Baseline));
  EXPECT_EQ(kept_names(report), kPlanted);
  // Running both samples every time would take 2 per attempt, 2 for the every-node-kept check,
  // 2 for the float32 reference and 2 for the final check.
  EXPECT_LT(report.evaluator_runs, 2 * report.attempts + 6);
}

TEST(MixedAuto, AValidationFunctionAloneDrivesTheSearch) {
  onnx::ModelProto model = planted_overflow_model();
  MixedOptions options;
  options.strategy = SearchStrategy::Baseline;
  int calls = 0;
  std::set<int> candidate_types;
  options.validate = [&](const std::vector<Tensor>& reference, const std::vector<Tensor>& candidate) {
    // The first call is the float32 model against itself; then candidates.
    if (calls++ > 0) candidate_types.insert(candidate.at(0).dtype());
    return onnx_fp16::allclose(reference.at(0), candidate.at(0), {0.0, 0.05});
  };
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, options);
  EXPECT_EQ(kept_names(report), kPlanted);
  EXPECT_GT(calls, report.attempts);
  EXPECT_EQ(candidate_types, std::set<int>{onnx::TensorProto::FLOAT16});  // keep_io_types is off
}

TEST(MixedAuto, RefusesWhatItCannotJudge) {
  onnx::ModelProto model = planted_overflow_model();
  EXPECT_NE(error_of([&] { onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, MixedOptions{}); })
                .find("needs a tolerance"),
            std::string::npos);
  EXPECT_NE(error_of([&] { onnx_fp16::auto_convert_mixed_precision(model, {}, tolerances(0.1, 0.1)); })
                .find("at least one sample"),
            std::string::npos);
  const std::string misnamed = error_of([&] {
    onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1), {{"z", sample_x(2).at("x")}}}, tolerances(0.1, 0.1));
  });
  EXPECT_NE(misnamed.find("sample 1"), std::string::npos) << misnamed;
  EXPECT_NE(misnamed.find("'z'"), std::string::npos) << misnamed;
  const std::string mistyped = error_of([&] {
    onnx_fp16::auto_convert_mixed_precision(model, {{{"x", Tensor::from_vector<double>({4, 16}, std::vector<double>(64))}}},
                                            tolerances(0.1, 0.1));
  });
  EXPECT_NE(mistyped.find("'x'"), std::string::npos) << mistyped;
  EXPECT_EQ(model.SerializeAsString(), planted_overflow_model().SerializeAsString());  // untouched
}

TEST(MixedAuto, RefusesAFloat32ModelThatFailsItself) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {4}).output("y", F32, {4});
  g.node("Log", {"x"}, {"l"}, "log");  // log of a negative number: NaN
  g.node("Abs", {"l"}, {"y"}, "abs");
  const Feeds sample{{"x", Tensor::from_vector<float>({4}, {1, 2, -3, 4})}};
  const std::string message = error_of([&] { onnx_fp16::auto_convert_mixed_precision(model, {sample}, tolerances(0.1, 0.1)); });
  EXPECT_NE(message.find("float32 model does not pass its own validation"), std::string::npos) << message;
}

TEST(MixedAuto, RefusesWhenEvenKeepingEveryNodeFails) {
  // Without keep_io_types the output is float16: a tolerance tighter than its rounding cannot hold.
  onnx::ModelProto model = planted_overflow_model();
  const std::string message =
      error_of([&] { onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, tolerances(0.0, 1e-7)); });
  EXPECT_NE(message.find("even with every node kept"), std::string::npos) << message;
  EXPECT_NE(message.find("keep_io_types"), std::string::npos) << message;
  MixedOptions keep_io = tolerances(0.0, 1e-7);
  keep_io.keep_io_types = true;
  EXPECT_NO_THROW(onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, keep_io));
}

// A declared shape that contradicts the inferred one makes ONNX shape inference fail: the report
// says so (with the reason) instead of claiming it ran.
TEST(MixedAuto, ReportsAShapeInferenceFailure) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {4}).output("y", F32, {4});
  g.node("Relu", {"x"}, {"h"}, "first");
  g.node("Neg", {"h"}, {"y"}, "second");
  auto* declared = model.mutable_graph()->add_value_info();
  declared->set_name("h");
  declared->mutable_type()->mutable_tensor_type()->set_elem_type(F32);
  declared->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(3);
  const Feeds sample{{"x", Tensor::from_vector<float>({4}, {1, -2, 3, -4})}};
  MixedOptions options = tolerances(0.01, 0.001);
  options.keep_io_types = true;
  onnx::ModelProto contradicted = model;
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(contradicted, {sample}, options);
  EXPECT_FALSE(report.conversion.shape_inference_ran);
  EXPECT_NE(report.conversion.shape_inference_error.find("differ"), std::string::npos)
      << report.conversion.shape_inference_error;
  model.mutable_graph()->clear_value_info();
  const MixedReport ran = onnx_fp16::auto_convert_mixed_precision(model, {sample}, options);
  EXPECT_TRUE(ran.conversion.shape_inference_ran) << ran.conversion.shape_inference_error;
}

// keep_io_types counts wherever it is set: in MixedOptions or in its conversion options.
TEST(MixedAuto, KeepIoTypesCountsInEitherOptions) {
  onnx::ModelProto model = planted_overflow_model();
  MixedOptions keep_io = tolerances(0.0, 1e-7);
  keep_io.conversion.keep_io_types = true;  // would fail as in the test above if it were ignored
  EXPECT_NO_THROW(onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, keep_io));
}

// If whose then-branch squares large values (else: a doubling), read with Tanh(x) after it.
onnx::ModelProto branching_model() {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {8}).input("flag", onnx::TensorProto::BOOL, {}).output("y", F32, {8});
  auto& branch = g.node("If", {"flag"}, {"branch_out"}, "branch");
  {
    GraphBuilder then_branch(modelgen::attr_graph(branch, "then_branch"));
    then_branch.output("then_out", F32, {8});
    then_branch.initializer("gain", {}, {1000.0f}).initializer("divisor", {}, {1e6f});
    then_branch.node("Mul", {"x", "gain"}, {"big"}, "then/scale");
    then_branch.node("Mul", {"big", "big"}, {"square"}, "then/square");
    then_branch.node("Div", {"square", "divisor"}, {"then_out"}, "then/normalize");
    GraphBuilder else_branch(modelgen::attr_graph(branch, "else_branch"));
    else_branch.output("else_out", F32, {8});
    else_branch.initializer("two", {}, {2.0f});
    else_branch.node("Mul", {"x", "two"}, {"else_out"}, "else/double");
  }
  g.node("Tanh", {"x"}, {"t"}, "activation");
  g.node("Add", {"branch_out", "t"}, {"y"}, "merge");
  return model;
}

Feeds branching_sample(bool flag) {
  std::mt19937 rng(5);
  return {{"x", Tensor::from_vector<float>({8}, normal_values(8, 1.0f, rng))},
          {"flag", Tensor::from_vector<bool>({}, {flag})}};
}

// The baseline (the spec's bisection) decides a node with subgraphs as one unit: kept, its
// bodies stay float32 as well.
TEST(MixedAuto, TheBaselineDecidesANodeWithItsSubgraphs) {
  onnx::ModelProto model = branching_model();
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(
      model, {branching_sample(true)}, tolerances(1e-2, 1e-2, SearchStrategy::Baseline));
  EXPECT_EQ(report.engine, onnx_fp16::CandidateEngineKind::Rebuild);
  EXPECT_EQ(report.candidate_nodes, 3u);
  EXPECT_EQ(kept_names(report), std::set<std::string>{"branch"});
  const onnx::GraphProto& then_graph = test_support::node_named(model.graph(), "branch")->attribute(0).g();
  for (const auto& init : then_graph.initializer()) EXPECT_EQ(init.data_type(), F32) << init.name();
}

// The improved search decides every node inside: the branch a sample takes is screened and
// searched like the main graph (an exporter may put the whole model in an If), the If itself
// decides only its outputs, and the branch no sample takes stays float32, unchecked. The result
// runs in ONNX Runtime within the tolerance.
TEST(MixedAuto, TheImprovedSearchDecidesTheNodesInsideSubgraphs) {
  onnx::ModelProto model = branching_model();
  const Feeds sample = branching_sample(true);
  const Tensor expected = onnx_fp16::Evaluator(branching_model()).run(sample).at("y");
  MixedOptions options = tolerances(1e-2, 1e-2);
  options.keep_io_types = true;
  onnx::ModelProto baseline_model = branching_model();
  MixedOptions baseline_options = options;
  baseline_options.strategy = SearchStrategy::Baseline;
  const MixedReport baseline = onnx_fp16::auto_convert_mixed_precision(baseline_model, {sample}, baseline_options);
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample}, options);
  EXPECT_EQ(report.candidate_nodes, 7u);  // the If, four nodes inside it, Tanh, Add
  std::map<std::string, MixedKeepReason> reasons;
  std::map<std::string, std::string> graphs;
  for (const auto& node : report.kept_nodes) {
    reasons[node.name] = node.reason;
    graphs[node.name] = node.graph;
  }
  EXPECT_EQ(reasons, (std::map<std::string, MixedKeepReason>{{"then/square", MixedKeepReason::Float16Overflow},
                                                             {"then/normalize", MixedKeepReason::Float16Overflow},
                                                             {"else/double", MixedKeepReason::NotRun}}));
  EXPECT_EQ(graphs["then/square"], "branch/then_branch");
  EXPECT_EQ(graphs["else/double"], "branch/else_branch");
  // then/scale computes in float16: its gain is stored so.
  const onnx::GraphProto& then_graph = test_support::node_named(model.graph(), "branch")->attribute(0).g();
  const onnx::NodeProto& scale = *test_support::node_named(then_graph, "then/scale");
  int gains = 0;
  for (const auto& init : then_graph.initializer()) {
    if (init.name() != scale.input(1)) continue;
    ++gains;
    EXPECT_EQ(init.data_type(), onnx::TensorProto::FLOAT16);
  }
  EXPECT_EQ(gains, 1);
  // The shares count the nodes inside: more of the FLOPs in float16 than the baseline's.
  EXPECT_GT(report.flops_float16, baseline.flops_float16);
  EXPECT_DOUBLE_EQ(report.flops_total, baseline.flops_total);
  ONNX_FP16_REQUIRE_ORT_OR_SKIP();
  EXPECT_NO_THROW(onnx_fp16::check_model_full(model));
  const auto ort_outputs = test_support::run_in_ort(
      model, test_support::inputs_for(model, {sample.at("x").to_proto("x"), sample.at("flag").to_proto("flag")}));
  ASSERT_EQ(ort_outputs.size(), 1u);
  const onnx_fp16::TensorDifference d = onnx_fp16::compare_tensors(expected, Tensor::from_proto(ort_outputs[0]), {1e-2, 1e-2});
  EXPECT_TRUE(d.close) << d.not_close << " not close, max abs error " << d.max_abs_error;
}

// A model wrapped whole in an If (an exporter's habit: Silero VAD, merged decoders) whose samples
// all take one branch is searched as the flat model they run: on the incremental engine, with
// cut points and the error model inside the branch, to the bare model's result (the If passes
// its branch's outputs on; the branch no sample takes stays float32, not run). Samples that take
// both branches leave it to the rebuild engine, which runs whole models.
TEST(MixedAuto, AModelInsideAnIfEverySampleTakesIsSearchedAsTheFlatModel) {
  std::mt19937 rng(3);
  const std::vector<Feeds> bare_samples{
      {{"image", Tensor::from_vector<float>({1, 3, 32, 32}, normal_values(3 * 32 * 32, 1.0f, rng))}},
      {{"image", Tensor::from_vector<float>({2, 3, 32, 32}, normal_values(2 * 3 * 32 * 32, 1.0f, rng))}}};
  std::vector<Feeds> samples = bare_samples;
  for (Feeds& sample : samples) sample.emplace("flag", Tensor::scalar(true));
  MixedOptions options = tolerances(1e-3, 1e-3);
  options.keep_io_types = true;
  options.threads = 2;
  onnx::ModelProto bare = modelgen::example_model();
  const MixedReport expected = onnx_fp16::auto_convert_mixed_precision(bare, bare_samples, options);
  onnx::ModelProto wrapped = test_support::wrapped_in_if(modelgen::example_model());
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(wrapped, samples, options);
  EXPECT_EQ(report.engine, onnx_fp16::CandidateEngineKind::Incremental);
  // Measured: 84.2% of the FLOPs in float16 bare, 83.8% wrapped (the If is a unit of its own).
  const double bare_share = expected.flops_float16 / expected.flops_total;
  EXPECT_GT(bare_share, 0.5);
  EXPECT_NEAR(report.flops_float16 / report.flops_total, bare_share, 0.02);
  for (const auto& node : report.kept_nodes) {
    const bool untaken = node.graph == "choose/else_branch";
    EXPECT_EQ(untaken, node.reason == MixedKeepReason::NotRun) << node.name;
    if (!untaken) {
      EXPECT_EQ(node.graph, node.name == "choose" ? "main" : "choose/then_branch") << node.name;
    }
  }
  for (const auto& margin : report.margins) EXPECT_LE(margin.robust_ratio, 1.0) << margin.name;
  // Its runs count in full runs of the model the samples run, the branch taken (not both): the
  // flat engine's own float32 run is one per sample, by nodes as by FLOPs.
  const auto flat = std::find_if(report.phases.begin(), report.phases.end(),
                                 [](const onnx_fp16::MixedPhase& phase) { return phase.name == "flat engine"; });
  ASSERT_NE(flat, report.phases.end());
  EXPECT_NEAR(flat->full_run_equivalents, 2.0, 0.01);
  EXPECT_NEAR(flat->flop_run_equivalents, 2.0, 0.01);
  // Both branches taken, one per sample: the two flat models on an engine each (GroupedEngine),
  // which keeps about as much float16 as the bare model (the same network in either branch);
  // both branches ran, so neither is kept as not run.
  std::vector<Feeds> both = samples;
  both[1]["flag"] = Tensor::scalar(false);
  onnx::ModelProto again = test_support::wrapped_in_if(modelgen::example_model());
  const MixedReport mixed_flags = onnx_fp16::auto_convert_mixed_precision(again, both, options);
  EXPECT_EQ(mixed_flags.engine, onnx_fp16::CandidateEngineKind::Incremental);
  EXPECT_NEAR(mixed_flags.flops_float16 / mixed_flags.flops_total, bare_share, 0.05);
  for (const auto& node : mixed_flags.kept_nodes) EXPECT_NE(node.reason, MixedKeepReason::NotRun) << node.name;
  for (const auto& margin : mixed_flags.margins) EXPECT_LE(margin.robust_ratio, 1.0) << margin.name;
  // Each sample's flat model runs once in the flat engine's float32 run.
  const auto grouped = std::find_if(mixed_flags.phases.begin(), mixed_flags.phases.end(),
                                    [](const onnx_fp16::MixedPhase& phase) { return phase.name == "flat engine"; });
  ASSERT_NE(grouped, mixed_flags.phases.end());
  EXPECT_NEAR(grouped->full_run_equivalents, 2.0, 0.01);
  // And the result passes when converted and run for real: the final check says so.
  EXPECT_NE(mixed_flags.final_check.find("passes"), std::string::npos) << mixed_flags.final_check;
}

// Another implementation computes a float32 node's result a few float32 ulps away, and the
// Cast to float16 its float16 reader needs then rounds some elements the other way: the
// variants simulate that too. Here the MatMul stays float32 and only the Add m + m (a doubling,
// which rounds nothing its float16 input has not) is float16, so every difference between the
// variants and the evaluator comes from that Cast. With the MatMul converted as well, its own
// output is nudged instead.
TEST(MixedAuto, VariantsMoveTheCastOfAFloat32ResultToFloat16) {
  constexpr int kFloat = onnx::TensorProto::FLOAT;
  std::mt19937 rng(11);
  auto make = [] {
    std::mt19937 weights(7);
    auto model = modelgen::make_model(17);
    modelgen::GraphBuilder g(model.mutable_graph());
    g.input("x", kFloat, {16, 64}).output("y", kFloat, {16, 64});
    g.initializer("w", {64, 64}, test_support::normal_values(64 * 64, 0.125f, weights));
    g.node("MatMul", {"x", "w"}, {"m"}, "product");
    g.node("Add", {"m", "m"}, {"y"}, "double");
    return model;
  };
  const Feeds sample{{"x", Tensor::from_vector<float>({16, 64}, test_support::normal_values(16 * 64, 1.0f, rng))}};
  auto margin = [&](const std::string& keep) {
    onnx::ModelProto model = make();
    MixedOptions options = tolerances(0.5, 0.5);
    options.keep_io_types = true;
    options.search = false;
    options.keep_node_pattern = keep;
    const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample}, options);
    EXPECT_EQ(report.converted_nodes, keep.empty() ? 2u : 1u) << keep;
    EXPECT_EQ(report.variants_checked, 1 + MixedOptions{}.float16_variants);
    return report.margins.at(0);
  };
  const auto cast_only = margin("product");
  EXPECT_GT(cast_only.variant_distance, 0.0) << "the variants left the float32 MatMul's cast alone";
  EXPECT_LT(cast_only.variant_distance, 1e-3) << "a flip is one float16 ulp on a few elements";
  EXPECT_GT(cast_only.robust_ratio, cast_only.evaluator_ratio);
  EXPECT_GT(margin("").variant_distance, 0.0);
}

TEST(MixedAuto, ScreensKeepNodesWithoutASearch) {
  onnx::ModelProto model = planted_overflow_model();
  MixedOptions options = tolerances(1e-2, 1e-2, SearchStrategy::Baseline);
  options.search = false;
  options.keep_ops = {"Tanh"};
  options.keep_node_pattern = "planted/(square|normalize)";
  options.init_max = 5e4;
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, options);
  std::map<std::string, MixedKeepReason> reasons;
  for (const auto& node : report.kept_nodes) reasons[node.name] = node.reason;
  EXPECT_EQ(reasons, (std::map<std::string, MixedKeepReason>{{"activation", MixedKeepReason::KeepOp},
                                                              {"planted/square", MixedKeepReason::KeepNode},
                                                              {"planted/normalize", MixedKeepReason::KeepNode}}));
  EXPECT_EQ(report.attempts, 0);
  // --init-max: the Div reads 1e5 > 5e4 (the name screen is checked first, so drop it).
  options.keep_node_pattern.clear();
  onnx::ModelProto again = planted_overflow_model();
  const MixedReport by_weights = onnx_fp16::auto_convert_mixed_precision(again, {sample_x(1)}, options);
  bool found = false;
  for (const auto& node : by_weights.kept_nodes) found |= node.name == "planted/normalize" && node.reason == MixedKeepReason::InitMax;
  EXPECT_TRUE(found);
  // --data-max: values above 100 (s reaches hundreds).
  MixedOptions by_data = tolerances(1e-2, 1e-2, SearchStrategy::Baseline);
  by_data.search = false;
  by_data.data_max = 100.0;
  onnx::ModelProto third = planted_overflow_model();
  const MixedReport data = onnx_fp16::auto_convert_mixed_precision(third, {sample_x(1)}, by_data);
  EXPECT_EQ(kept_names(data), (std::set<std::string>{"planted/scale", "planted/square", "planted/normalize"}));
  EXPECT_NE(error_of([&] {
              MixedOptions bad = tolerances(0.1, 0.1);
              bad.keep_node_pattern = "(";
              onnx::ModelProto m = planted_overflow_model();
              onnx_fp16::auto_convert_mixed_precision(m, {sample_x(1)}, bad);
            }).find("--keep-node"),
            std::string::npos);
}

// The incremental engine measures each weight's largest |x| once, for the conversion's clamp,
// and the range screens take it from there instead of scanning the weights again: the weight
// 'gain' (300, left unclamped by max_finite_val 1e4) must still trip --data-max 250.
TEST(MixedAuto, DataMaxJudgesWeightsTheEngineMeasured) {
  MixedOptions options = tolerances(1e-2, 1e-2);
  options.search = false;
  options.data_max = 250.0;
  onnx::ModelProto model = planted_overflow_model();
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, options);
  EXPECT_EQ(report.engine, onnx_fp16::CandidateEngineKind::Incremental);
  const onnx_fp16::MixedKeptNode* scale = nullptr;
  for (const auto& node : report.kept_nodes) {
    if (node.name == "planted/scale") scale = &node;
  }
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->reason, MixedKeepReason::DataMax);
  EXPECT_NE(scale->detail.find("reads 'gain' with |x| up to 300 > --data-max 250"), std::string::npos) << scale->detail;
}

TEST(MixedAuto, ReportsProgressAfterEachAttempt) {
  onnx::ModelProto model = planted_overflow_model();
  MixedOptions options = tolerances(1e-2, 1e-2, SearchStrategy::Baseline);
  std::vector<onnx_fp16::MixedProgress> seen;
  options.progress = [&](const onnx_fp16::MixedProgress& p) { seen.push_back(p); };
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, options);
  int attempts = 0;
  for (const auto& p : seen) {
    if (p.attempt == 0) continue;
    ++attempts;
    EXPECT_EQ(p.attempt, attempts);
    EXPECT_EQ(p.bar.size(), 48u);
    EXPECT_NE(p.line.find("attempt " + std::to_string(p.attempt)), std::string::npos);
    EXPECT_FALSE(p.segments.empty());
  }
  EXPECT_EQ(attempts, report.attempts);
  EXPECT_EQ(report.log.size(), seen.size());
  EXPECT_NE(seen.back().line.find("done"), std::string::npos) << seen.back().line;
}

}  // namespace

namespace {

// scores + (1 - mask) * -3.4e38 -> Softmax: the float32 mask constant is beyond float16, but the
// conversion clamps it to -max_finite_val (-1e4) and exp(-1e4) is 0 as exp(-3.4e38) is.
onnx::ModelProto masked_softmax_model() {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("scores", F32, {2, 8}).input("mask", F32, {2, 8}).output("probabilities", F32, {2, 8});
  g.initializer("one", {}, {1.0f}).initializer("lowest", {}, {-3.4e38f});
  g.node("Sub", {"one", "mask"}, {"inverted"}, "mask/invert");
  g.node("Mul", {"inverted", "lowest"}, {"bias"}, "mask/scale");
  g.node("Add", {"scores", "bias"}, {"masked"}, "mask/add");
  g.node("Softmax", {"masked"}, {"probabilities"}, "softmax");
  return model;
}

// Searches a masked-softmax model on one sample with masked positions (rtol 1e-2, atol 1e-3,
// keep_io_types) and expects no node kept for overflow: the mask constant is clamped first.
MixedReport search_masked_softmax(onnx::ModelProto& model) {
  std::mt19937 rng(3);
  std::vector<float> mask(16, 1.0f);
  mask[6] = mask[7] = mask[15] = 0.0f;
  const Feeds sample{{"scores", Tensor::from_vector<float>({2, 8}, normal_values(16, 1.0f, rng))},
                     {"mask", Tensor::from_vector<float>({2, 8}, mask)}};
  MixedOptions options = tolerances(1e-2, 1e-3);
  options.keep_io_types = true;
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample}, options);
  for (const auto& node : report.kept_nodes) {
    EXPECT_NE(node.reason, MixedKeepReason::Float16Overflow) << node.name << ": " << node.detail;
  }
  return report;
}

}  // namespace

TEST(MixedAuto, RangeScreenJudgesTheValuesTheConvertedModelComputes) {
  onnx::ModelProto model = masked_softmax_model();
  const MixedReport report = search_masked_softmax(model);
  EXPECT_EQ(report.converted_nodes, report.candidate_nodes) << "the clamped mask path is exact in float16";
}

TEST(MixedAuto, SearchesForBFloat16Too) {
  onnx::ModelProto model = planted_overflow_model();
  MixedOptions options = tolerances(2e-2, 2e-2);
  options.conversion.target = onnx_fp16::TargetType::BFloat16;
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1), sample_x(2)}, options);
  EXPECT_EQ(report.target, onnx_fp16::TargetType::BFloat16);
  EXPECT_GT(report.converted_nodes, 0u);
  for (const auto& node : report.kept_nodes) {
    // bfloat16 has float32's range: nothing overflows, and the range screen does not apply.
    EXPECT_NE(node.reason, MixedKeepReason::Float16Overflow) << node.name;
  }
  bool has_bfloat16 = false;
  for (const auto& value : model.graph().value_info()) {
    has_bfloat16 = has_bfloat16 || value.type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16;
  }
  for (const auto& init : model.graph().initializer()) has_bfloat16 = has_bfloat16 || init.data_type() == onnx::TensorProto::BFLOAT16;
  EXPECT_TRUE(has_bfloat16) << "the result holds no bfloat16 value";
  EXPECT_EQ(report.final_check.rfind("passes", 0), 0u) << report.final_check;
}

TEST(MixedAuto, ReportsFlopAndWeightSharesAndMargins) {
  onnx::ModelProto model = planted_overflow_model();
  MixedOptions options = tolerances(1e-2, 1e-2);
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample_x(1)}, options);
  EXPECT_GT(report.flops_total, 0.0);
  EXPECT_GT(report.flops_float16, 0.0);
  EXPECT_LT(report.flops_float16, report.flops_total) << "the planted nodes stay float32";
  EXPECT_GT(report.weight_bytes_total, 0.0);
  ASSERT_EQ(report.margins.size(), static_cast<std::size_t>(model.graph().output_size()));
  for (const auto& margin : report.margins) {
    EXPECT_LE(margin.robust_ratio, 1.0) << margin.name;
    EXPECT_GE(margin.robust_ratio, margin.evaluator_ratio) << margin.name;
  }
  EXPECT_EQ(report.variants_checked, 1 + options.float16_variants);
  for (const auto& node : report.kept_nodes) EXPECT_GE(node.sensitivity, 0.0) << node.name << ": measured by the improved strategy";
}

// The result's margins come from the search's last passed run, not from a run of their own: they
// must be what the result computes, as the same nodes chosen without a search measure them
// (there the margins come from a run), also where the search's last attempt was refused and
// the engine's implementations last computed something else.
TEST(MixedAuto, MarginsAreThoseOfTheResultItself) {
  const MixedReport searched = search_deep_chain([](MixedOptions&) {});
  ASSERT_FALSE(searched.kept_nodes.empty());
  ASSERT_GT(searched.converted_nodes, 0u);
  std::string kept;  // the names hold no regex metacharacter but '/'
  for (const auto& node : searched.kept_nodes) kept += (kept.empty() ? "" : "|") + node.name;
  const MixedReport chosen = search_deep_chain([&](MixedOptions& options) {
    options.search = false;
    options.keep_node_pattern = kept;
  });
  ASSERT_EQ(chosen.converted_nodes, searched.converted_nodes);
  ASSERT_EQ(chosen.margins.size(), searched.margins.size());
  for (std::size_t o = 0; o < searched.margins.size(); ++o) {
    EXPECT_EQ(searched.margins[o].evaluator_ratio, chosen.margins[o].evaluator_ratio);
    EXPECT_EQ(searched.margins[o].worst_ratio, chosen.margins[o].worst_ratio);
    EXPECT_EQ(searched.margins[o].robust_ratio, chosen.margins[o].robust_ratio);
    EXPECT_EQ(searched.margins[o].variant_distance, chosen.margins[o].variant_distance);
  }
}

// The result is checked once more on implementations the search never ran (holdout_variants):
// other nudge patterns than its own variants, so their worst ratio differs from the variants';
// an output over 0.8 of the tolerance there gets a warning line. Without variants, or with 0, none.
TEST(MixedAuto, TheResultIsCheckedOnImplementationsTheSearchNeverRan) {
  auto search = [](int variants, int holdout) {
    return search_deep_chain([&](MixedOptions& options) {
      options.float16_variants = variants;
      options.holdout_variants = holdout;
    });
  };
  const MixedReport checked = search(4, 3);
  EXPECT_EQ(checked.holdout_variants, 3);
  ASSERT_FALSE(checked.margins.empty());
  for (const auto& margin : checked.margins) {
    EXPECT_GT(margin.holdout_ratio, 0.0) << margin.name;
    // Another draw of the same spread: not the search's own implementations' worst, but near it
    // (measured: variants 0.58, holdout 0.63, the evaluator alone 0.42).
    EXPECT_NE(margin.holdout_ratio, margin.worst_ratio) << margin.name << ": the search's own implementations";
    EXPECT_LT(std::abs(margin.holdout_ratio - margin.worst_ratio), 0.5 * margin.worst_ratio) << margin.name;
    // Each implementation's own worst, in the order run; the margin's figure is their largest.
    ASSERT_EQ(margin.holdout_ratios.size(), 3u) << margin.name;
    EXPECT_EQ(*std::max_element(margin.holdout_ratios.begin(), margin.holdout_ratios.end()), margin.holdout_ratio);
    EXPECT_GT(*std::min_element(margin.holdout_ratios.begin(), margin.holdout_ratios.end()), 0.0) << margin.name;
  }
  // A warning names each output over the tolerance there.
  bool warned = false;
  for (const auto& line : checked.log) warned = warned || line.rfind("warning: on 3 float16 implementations", 0) == 0;
  bool over = false;
  for (const auto& margin : checked.margins) over = over || margin.holdout_ratio > 0.8;
  EXPECT_EQ(warned, over);

  // Each holdout implementation is one full run per sample.
  const MixedReport unchecked = search(4, 0);
  EXPECT_EQ(unchecked.holdout_variants, 0);
  for (const auto& margin : unchecked.margins) EXPECT_LT(margin.holdout_ratio, 0.0) << margin.name;
  EXPECT_NEAR(checked.full_run_equivalents - unchecked.full_run_equivalents, 3.0, 0.01);
  EXPECT_EQ(search(0, 3).holdout_variants, 0) << "no variants: the evaluator's bits alone, nothing to hold out";
}

// The report's phases say where the search's seconds and runs went: in the order they ran, each
// its share, adding up to the report's totals; a second search's phases come again, prefixed.
TEST(MixedAuto, ThePhasesAddUpToTheSearchsSecondsAndRuns) {
  auto names_of = [](const MixedReport& report) {
    std::vector<std::string> names;
    for (const auto& phase : report.phases) names.push_back(phase.name);
    return names;
  };
  auto check_sums = [](const MixedReport& report) {
    double seconds = 0, runs = 0, flop_runs = 0;
    for (const auto& phase : report.phases) {
      EXPECT_GE(phase.seconds, 0.0) << phase.name;
      EXPECT_GE(phase.full_run_equivalents, 0.0) << phase.name;
      EXPECT_GE(phase.flop_run_equivalents, 0.0) << phase.name;
      seconds += phase.seconds;
      runs += phase.full_run_equivalents;
      flop_runs += phase.flop_run_equivalents;
    }
    EXPECT_NEAR(seconds, report.seconds, 1e-9);
    EXPECT_NEAR(runs, report.full_run_equivalents, 1e-9);
    EXPECT_NEAR(flop_runs, report.flop_run_equivalents, 1e-9);
  };
  auto flop_runs_of = [](const MixedReport& report, const std::string& name) {
    for (const auto& phase : report.phases) {
      if (phase.name == name) return phase.flop_run_equivalents;
    }
    return -1.0;
  };
  auto runs_of = [](const MixedReport& report, const std::string& name) {
    for (const auto& phase : report.phases) {
      if (phase.name == name) return phase.full_run_equivalents;
    }
    return -1.0;
  };
  const MixedReport report = search_deep_chain([](MixedOptions& options) { options.holdout_variants = 3; });
  ASSERT_FALSE(report.searched_again);
  ASSERT_GT(report.nodes_measured + report.nodes_measured_to_cut, 0u) << "the first attempt fails: the order is measured";
  EXPECT_EQ(names_of(report),
            (std::vector<std::string>{"analysis", "engine", "float32 run", "local errors", "screens and endpoints",
                                      "first attempt", "order", "attempts", "margins and holdout",
                                      "final conversion and check"}));
  check_sums(report);
  // One sample: the float32 run and the final check are one full run each; the holdout's 3
  // implementations one each; the analysis and the engine's compilation none; the local errors
  // none either (the order measures every node of the chain and reads each one's local error
  // from its own run).
  EXPECT_NEAR(runs_of(report, "float32 run"), 1.0, 1e-9);
  EXPECT_EQ(runs_of(report, "local errors"), 0.0);
  EXPECT_NEAR(runs_of(report, "final conversion and check"), 1.0, 1e-9);
  EXPECT_NEAR(runs_of(report, "margins and holdout"), 3.0, 0.01);
  EXPECT_EQ(runs_of(report, "analysis"), 0.0);
  EXPECT_EQ(runs_of(report, "engine"), 0.0);
  EXPECT_GT(runs_of(report, "order"), 0.0);
  // Weighed by FLOPs, a full run is one full run still; the order's runs, each from a converted
  // layer's node to the chain's end, are not: a run that starts at a layer's Tanh skips that
  // layer's product, so the products run fewer times than the node count says.
  EXPECT_NEAR(flop_runs_of(report, "float32 run"), 1.0, 1e-9);
  EXPECT_NEAR(flop_runs_of(report, "final conversion and check"), 1.0, 1e-9);
  EXPECT_EQ(flop_runs_of(report, "analysis"), 0.0);
  EXPECT_LT(flop_runs_of(report, "order"), runs_of(report, "order"));

  // Searched again (K 1 fails its holdout, as in the test below): its phases follow, prefixed.
  const MixedReport retried = search_deep_chain([](MixedOptions& options) {
    options.spread_safety = 1.0;
    options.holdout_variants = 4;
    options.skip_predicted_failures = false;
  });
  ASSERT_TRUE(retried.searched_again);
  const std::vector<std::string> names = names_of(retried);
  const std::vector<std::string> again(std::find(names.begin(), names.end(), "again: endpoints"), names.end());
  EXPECT_EQ(again, (std::vector<std::string>{"again: endpoints", "again: first attempt", "again: order",
                                             "again: attempts", "again: margins and holdout",
                                             "final conversion and check"}));
  // The second search takes the first one's order (measured on the evaluator alone, from the
  // same endpoints, under the same tolerance: it would come out the same) instead of measuring
  // it again; the test below checks its result is the one a fresh search finds.
  EXPECT_EQ(runs_of(retried, "again: order"), 0.0);
  EXPECT_GT(runs_of(retried, "order"), 0.0);
  EXPECT_TRUE(std::any_of(retried.log.begin(), retried.log.end(), [](const std::string& line) {
    return line.rfind("order: as the first search measured it", 0) == 0;
  }));
  check_sums(retried);
}

// Unless told how many, the holdout gets a tenth of the search's own full runs, from 4 to 16: a
// search that ran long affords more draws of the user's runtime, and a rare bad one (1 in 12 on
// PaddleOCR det's default result) needs them. A count outside 0-64 is refused.
TEST(MixedAuto, TheHoldoutScalesWithTheSearchUnlessItsCountIsGiven) {
  auto search = [](std::optional<int> holdout, double spread_safety) {
    return search_deep_chain([&](MixedOptions& options) {
      options.holdout_variants = holdout;
      options.spread_safety = spread_safety;
    });
  };
  for (const double safety : {2.5, 1.5}) {
    const MixedReport unchecked = search(0, safety);
    const MixedReport automatic = search(std::nullopt, safety);
    ASSERT_FALSE(automatic.searched_again) << "the deep chain's result holds on its holdout; K " << safety;
    // The search's own full runs: all but the final check (and the float32 run, when the engine
    // did not make it), one sample.
    const double search_runs = unchecked.full_run_equivalents;
    const long lowest = std::clamp(std::lround(0.1 * (search_runs - 2)), 4l, 16l);
    const long highest = std::clamp(std::lround(0.1 * search_runs), 4l, 16l);
    EXPECT_GE(automatic.holdout_variants, lowest) << search_runs << " full runs, K " << safety;
    EXPECT_LE(automatic.holdout_variants, highest) << search_runs << " full runs, K " << safety;
    EXPECT_NEAR(automatic.full_run_equivalents - unchecked.full_run_equivalents, automatic.holdout_variants, 0.01);
    EXPECT_EQ(search(5, safety).holdout_variants, 5) << "a count given is the count run";
  }
  EXPECT_NE(error_of([&] { search(65, 2.5); }).find("holdout_variants must be between 0 and 64 (got 65)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { search(-1, 2.5); }).find("holdout_variants must be between 0 and 64 (got -1)"),
            std::string::npos);
}

// A short search's default holdout (4, more than a tenth of its runs) stops after its first
// tenth, at least two implementations, when none of them reaches half the tolerance: a result
// that clear is not near the 0.8 that searches again. A count given is run whole, and a result
// nearer the edge gets the whole default count.
TEST(MixedAuto, AClearHoldoutStopsAfterItsFirstTwoImplementations) {
  auto search = [](std::optional<int> holdout, double looser) {
    return search_deep_chain([&](MixedOptions& options) {
      options.holdout_variants = holdout;
      options.atol = *options.atol * looser;
    });
  };
  const MixedReport clear = search(std::nullopt, 20);
  const MixedReport unchecked = search(0, 20);
  ASSERT_EQ(clear.margins.size(), 1u);
  EXPECT_EQ(clear.holdout_variants, 2);
  EXPECT_EQ(clear.margins[0].holdout_ratios.size(), 2u);
  EXPECT_GT(clear.margins[0].holdout_ratio, 0.0);
  EXPECT_LE(clear.margins[0].holdout_ratio, 0.5);
  EXPECT_NEAR(clear.full_run_equivalents - unchecked.full_run_equivalents, 2.0, 0.01);
  const MixedReport given = search(4, 20);
  EXPECT_EQ(given.holdout_variants, 4) << "a count given is the count run";
  EXPECT_EQ(given.margins[0].holdout_ratios.size(), 4u);
  EXPECT_EQ(given.margins[0].holdout_ratios[0], clear.margins[0].holdout_ratios[0]) << "the same implementations first";
  EXPECT_EQ(given.margins[0].holdout_ratios[1], clear.margins[0].holdout_ratios[1]);

  const MixedReport near_edge = search(std::nullopt, 1);
  ASSERT_EQ(near_edge.margins.size(), 1u);
  const std::vector<double>& ratios = near_edge.margins[0].holdout_ratios;
  ASSERT_GE(ratios.size(), 2u);
  EXPECT_GT(std::max(ratios[0], ratios[1]), 0.5) << "the first two are not clear";
  EXPECT_GE(near_edge.holdout_variants, 4) << "so the whole default count runs";
}

// A result over 0.8 of the tolerance on the holdout is searched for once more, from scratch, on
// twice as many simulated implementations (the same margin): the second result is the one a search
// with those implementations finds, checked on other held-out ones. With a search budget it is not
// searched again: the warning stays. With 16 implementations already, the margin widens x1.4.
TEST(MixedAuto, AResultThatFailsTheHoldoutIsSearchedForAgainOnMoreImplementations) {
  auto search = [](double safety, int holdout, double budget, int variants = 4) {
    return search_deep_chain([&](MixedOptions& options) {
      options.spread_safety = safety;
      options.holdout_variants = holdout;
      options.search_budget = budget;
      options.float16_variants = variants;
      // Every node tried: the search fills the tolerance to the edge of what its own variants
      // pass, which is what a holdout catches (the predicted runs stop short of it here).
      options.skip_predicted_failures = false;
    });
  };
  // K = 1 keeps what its own 4 variants pass: measured 1.20 on the holdout.
  const MixedReport retried = search(1.0, 4, 0);
  ASSERT_TRUE(retried.searched_again);
  EXPECT_DOUBLE_EQ(retried.spread_safety_used, 1.0);
  EXPECT_EQ(retried.variants_checked, 1 + 8);
  auto logged = [](const MixedReport& report, const std::string& text) {
    return std::any_of(report.log.begin(), report.log.end(),
                       [&](const std::string& line) { return line.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(logged(retried, "on 4 implementations the search never ran: searching again on 8 simulated float16 "
                              "implementations with spread_safety 1"));
  ASSERT_FALSE(retried.margins.empty());
  EXPECT_LE(retried.margins[0].holdout_ratio, 1.0) << "measured 0.85";
  // Over 0.8, the most a result may reach on the holdout: the second result gets the warning.
  EXPECT_EQ(logged(retried, "warning:"), retried.margins[0].holdout_ratio > 0.8);
  // Under the tolerance there but over 0.8 is searched for again too. Which K puts the first
  // result in (0.8, 1.0] on the holdout depends on the bits of every product (measured: 0.95
  // at K = 1.4 with OpenBLAS's kernels, 0.78 with the own AVX-512 kernel), so the test looks
  // for one: kept as it is, with the warning, when a search budget rules out a second search.
  double near_edge_safety = 0;
  for (const double safety : {1.4, 1.3, 1.2, 1.5, 1.6, 1.1}) {
    const MixedReport near_edge = search(safety, 4, 1000);
    ASSERT_FALSE(near_edge.margins.empty());
    const double ratio = near_edge.margins[0].holdout_ratio;
    EXPECT_EQ(logged(near_edge, "warning: on 4 float16 implementations the search never ran"), ratio > 0.8) << safety;
    EXPECT_FALSE(near_edge.searched_again) << "a budget rules out a second search";
    if (ratio > 0.8 && ratio <= 1.0) {
      near_edge_safety = safety;
      break;
    }
  }
  ASSERT_GT(near_edge_safety, 0) << "no K in 1.1-1.6 leaves the first result in (0.8, 1.0] on the holdout";
  const MixedReport near_edge_again = search(near_edge_safety, 4, 0);
  EXPECT_TRUE(near_edge_again.searched_again);
  EXPECT_EQ(near_edge_again.variants_checked, 1 + 8);
  ASSERT_FALSE(near_edge_again.margins.empty());
  EXPECT_EQ(logged(near_edge_again, "warning:"), near_edge_again.margins[0].holdout_ratio > 0.8);

  const MixedReport first = search(1.0, 0, 0);      // the first search alone
  const MixedReport wider = search(1.0, 0, 0, 8);   // the second, from scratch on 8 implementations
  EXPECT_FALSE(first.searched_again);
  EXPECT_EQ(retried.attempts, first.attempts + wider.attempts);
  EXPECT_EQ(retried.flops_float16, wider.flops_float16);
  EXPECT_LE(retried.flops_float16, first.flops_float16);

  const MixedReport budgeted = search(1.0, 4, 1000);
  EXPECT_FALSE(budgeted.searched_again);
  EXPECT_TRUE(logged(budgeted, "warning: on 4 float16 implementations the search never ran"));

  // 16 implementations already: the second search widens the margin instead.
  // (K = 1 on 16 holds on 4 and 16 held out, 0.73 and 0.79; 64 find 1.02.)
  const MixedReport many = search(1.0, 64, 0, 16);
  ASSERT_TRUE(many.searched_again);
  EXPECT_EQ(many.variants_checked, 1 + 16);
  EXPECT_DOUBLE_EQ(many.spread_safety_used, 1.4);
  EXPECT_TRUE(logged(many, "searching again on 16 simulated float16 implementations with spread_safety 1.4"));
}

// Nodes the caller chose (no search) are checked on the holdout and warned about, but not searched
// for again: `--no-search --keep-node ... --holdout N` is how a result is re-checked on more
// implementations, and a second search would change what is being measured.
TEST(MixedAuto, ChosenNodesAreCheckedOnTheHoldoutButNeverSearchedAgain) {
  const MixedReport chosen = search_deep_chain([](MixedOptions& options) {
    options.search = false;  // every node in float16: far over the tolerance
    options.holdout_variants = 4;
  });
  EXPECT_FALSE(chosen.searched_again);
  EXPECT_EQ(chosen.attempts, 0);
  EXPECT_EQ(chosen.holdout_variants, 4);
  ASSERT_FALSE(chosen.margins.empty());
  EXPECT_GT(chosen.margins[0].holdout_ratio, 1.0);
  EXPECT_EQ(chosen.margins[0].holdout_ratios.size(), 4u);
  EXPECT_TRUE(std::any_of(chosen.log.begin(), chosen.log.end(), [](const std::string& line) {
    return line.rfind("warning: on 4 float16 implementations the search never ran", 0) == 0;
  }));
  EXPECT_NE(chosen.final_check.find("FAILS"), std::string::npos) << chosen.final_check;
}

// The default search keeps without an attempt what its error model predicts to fail, so its
// predictions must not condemn a node that passes. On a GPT-shaped decoder with a planted
// centring, (x + 300) - ReduceMean(x + 300): the ReduceMean, estimated up to a cut point at 5.3
// of the tolerance alone, passes (the baseline converts it); such an estimate is now checked at
// the outputs. And the Add and Sub that do fail alone (54x) were left out of the error model's
// first calibration, which then took their error for everyone else's (scale 1000): every node
// predicted to fail (on the 4-layer model, 132 of 159 kept).
TEST(MixedAuto, PredictionsKeepOnlyWhatFailsOnAPlantedDecoder) {
  modelgen::GptSpec spec;
  spec.layers = 2;
  const modelgen::SensitiveModel planted = modelgen::sensitive_gpt_model(spec);
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::int64_t> token(0, spec.vocab_size - 1);
  std::vector<std::int64_t> ids(32);
  for (auto& id : ids) id = token(rng);
  const Feeds sample{{"input_ids", Tensor::from_vector<std::int64_t>({1, 32}, ids)}};
  onnx::ModelProto model = planted.model;
  MixedOptions options = tolerances(1e-2, 1e-2);
  options.keep_io_types = true;
  options.skip_predicted_failures = true;
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample}, options);
  EXPECT_EQ(kept_names(report), std::set<std::string>(planted.planted.begin(), planted.planted.end()));
  for (const auto& node : report.kept_nodes) {
    if (node.op_type == "Add" || node.op_type == "Sub") {
      EXPECT_NE(node.detail.find("converted alone: worst element at"), std::string::npos) << node.name << ": " << node.detail;
    }
  }
}

// The same on a BERT-shaped encoder with a naive softmax and (x + 512) - 512 planted: only the
// planted nodes stay float32. The error model's first rounds fill half the room it predicts
// below 1; a light rest of the order left to a round of its own would be kept without an attempt
// (too light for one), so it rides with the round before where the two together are predicted
// to pass. Without that, the calibration for robust ratios (a wider first prediction) left the
// encoder's last light Adds float32: more FLOPs in float32 than the baseline search keeps.
TEST(MixedAuto, PredictionsKeepOnlyWhatFailsOnAPlantedEncoder) {
  modelgen::TransformerSpec spec = modelgen::bert_base_spec();
  spec.hidden_size = 128;  // smaller than mixed_bench's 256 x 12 layers x 128 positions, and as telling
  spec.layers = 6;
  const modelgen::SensitiveModel planted = modelgen::sensitive_bert_model(spec);
  const std::int64_t sequence = 64;
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::int64_t> token(0, 999);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(sequence));
  for (auto& id : ids) id = token(rng);
  std::vector<std::int64_t> mask(static_cast<std::size_t>(sequence), 1);
  std::fill(mask.end() - 8, mask.end(), 0);  // padding, so the attention mask matters
  const Feeds sample{{"input_ids", Tensor::from_vector<std::int64_t>({1, sequence}, ids)},
                     {"attention_mask", Tensor::from_vector<std::int64_t>({1, sequence}, mask)}};
  onnx::ModelProto model = planted.model;
  MixedOptions options = tolerances(1e-2, 1e-2);
  options.keep_io_types = true;
  const MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {sample}, options);
  EXPECT_EQ(kept_names(report), std::set<std::string>(planted.planted.begin(), planted.planted.end()));
}

TEST(MixedAuto, ImprovedNeverKeepsMoreFlopsInFloat32ThanBaseline) {
  for (const double tolerance : {1e-2, 3e-2}) {
    onnx::ModelProto baseline_model = planted_overflow_model();
    onnx::ModelProto improved_model = planted_overflow_model();
    const std::vector<Feeds> samples{sample_x(1), sample_x(2)};
    const MixedReport baseline = onnx_fp16::auto_convert_mixed_precision(
        baseline_model, samples, tolerances(tolerance, tolerance, SearchStrategy::Baseline));
    MixedOptions improved_options = tolerances(tolerance, tolerance);
    improved_options.float16_variants = 0;  // the same acceptance as the baseline's
    const MixedReport improved = onnx_fp16::auto_convert_mixed_precision(improved_model, samples, improved_options);
    EXPECT_GE(improved.flops_float16, baseline.flops_float16) << "tolerance " << tolerance;
  }
}

// The improved order converts each searched node alone first, heaviest first, within its budget
// of full-run equivalents, and reports each kept node's effect; a budget of 0 is node order.
TEST(MixedAuto, ImprovedOrderMeasuresNodesAloneWithinItsBudget) {
  const std::vector<Feeds> samples{sample_x(1)};
  auto search = [&](double budget) {
    onnx::ModelProto model = planted_overflow_model();
    MixedOptions options = tolerances(0, 2e-4);  // tight: the search keeps nodes besides the screened ones
    options.keep_io_types = true;
    options.sensitivity_budget = budget;
    return onnx_fp16::auto_convert_mixed_precision(model, samples, options);
  };
  auto screened = [](const MixedReport& report) {
    return static_cast<std::size_t>(std::count_if(report.kept_nodes.begin(), report.kept_nodes.end(), [](const auto& node) {
      return node.reason != MixedKeepReason::Search && node.reason != MixedKeepReason::Predicted;
    }));
  };
  const MixedReport measured = search(100);
  EXPECT_EQ(measured.order, onnx_fp16::SearchOrderKind::Sensitivity);
  EXPECT_EQ(measured.nodes_measured, measured.candidate_nodes - screened(measured)) << "every searched node";
  int kept_by_search = 0;
  for (const auto& node : measured.kept_nodes) {
    if (node.reason != MixedKeepReason::Search && node.reason != MixedKeepReason::Predicted) continue;
    ++kept_by_search;
    EXPECT_GT(node.output_effect, 0.0) << node.name << ": its effect alone at the outputs";
  }
  EXPECT_GT(kept_by_search, 0) << "pick a tighter tolerance: the search kept nothing";

  const MixedReport node_order = search(0);
  EXPECT_EQ(node_order.order, onnx_fp16::SearchOrderKind::Node);
  EXPECT_EQ(node_order.nodes_measured, 0u);
  for (const auto& node : node_order.kept_nodes) EXPECT_LT(node.output_effect, 0.0) << node.name;

  const MixedReport partly = search(0.5);  // half a full run: the heaviest node or two
  EXPECT_GE(partly.nodes_measured, 1u);
  EXPECT_LT(partly.nodes_measured, measured.nodes_measured);
  EXPECT_NE(error_of([&] { search(-1); }).find("sensitivity_budget"), std::string::npos);
}

// The error model (each node's effect alone, added in quadrature, corrected by every attempt)
// keeps nodes predicted to break the tolerance without trying them (skip_predicted_failures),
// and segments too light to be worth an attempt. By default every heavy node is tried, as in
// the spec's bisection, and a light one only when the model does not predict it to fail. Both
// results pass; skipping costs fewer attempts.
TEST(MixedAuto, TheErrorModelKeepsNodesPredictedToFailWithoutTryingThem) {
  // 72% of the plain float16 model's error lets only part of it fit (less left no light node
  // undecided: a third once the variants nudged casts too, a half once the spread counted 2.5
  // times, search_deep_chain's 60% once the order's estimates came from chained cut points).
  auto search = [](bool skip_predicted) {
    return search_deep_chain([&](MixedOptions& options) {
      options.atol = *options.atol * 1.2;
      options.sensitivity_budget = 100;  // every node measured
      options.skip_predicted_failures = skip_predicted;
    });
  };
  const MixedReport predicted = search(true);
  const MixedReport tried = search(false);
  std::size_t not_tried = 0;
  std::size_t too_light = 0;  // the Adds and Tanhs: 0.05% of the FLOPs each, below an attempt's worth
  for (const auto& node : predicted.kept_nodes) {
    if (node.reason != MixedKeepReason::Predicted) continue;
    if (node.detail.find("too light for an attempt") != std::string::npos) {
      ++too_light;
      EXPECT_NE(node.op_type, "MatMul") << node.name << " holds 6% of the FLOPs";
      continue;
    }
    ++not_tried;
    EXPECT_NE(node.detail.find("predicted over the tolerance"), std::string::npos) << node.detail;
    // Measured at the outputs (output_effect), or up to a cut point (an estimate: no output_effect).
    if (node.detail.find("(measured up to a cut point)") == std::string::npos) {
      EXPECT_NE(node.detail.find("(measured)"), std::string::npos) << node.detail;
      EXPECT_GT(node.output_effect, 0.0) << node.name;
    }
  }
  EXPECT_GT(not_tried, 0u) << "the model predicted nothing to fail";
  EXPECT_GT(too_light, 0u) << "every light node was tried";
  std::size_t light_predicted = 0;
  for (const auto& node : tried.kept_nodes) {
    if (node.reason != MixedKeepReason::Predicted) continue;
    ++light_predicted;
    EXPECT_NE(node.op_type, "MatMul") << node.name << " holds 6% of the FLOPs: the default tries it";
    EXPECT_NE(node.detail.find("predicted over the tolerance"), std::string::npos) << node.detail;
    EXPECT_NE(node.detail.find("% of the model's FLOPs or weight bytes)"), std::string::npos) << node.detail;
  }
  EXPECT_GT(light_predicted, 0u) << "the default tried every light node";
  EXPECT_LT(predicted.attempts, tried.attempts);
  for (const MixedReport* report : {&predicted, &tried}) {
    ASSERT_FALSE(report->margins.empty());
    EXPECT_LE(report->margins[0].robust_ratio, 1.0);
    EXPECT_GT(report->flops_float16, 0.0);
    EXPECT_LT(report->flops_float16, report->flops_total);
  }
}

// search_budget bounds what the search spends: no attempt starts once it is spent, the nodes
// not decided by then stay float32 with reason Budget, and the result (the last accepted state)
// passes like any other. The report's total overshoots by at most the attempt under way and the
// final check. 0 is no limit.
TEST(MixedAuto, TheSearchBudgetStopsTheSearchAndTheResultStillPasses) {
  auto search = [](double budget) {
    return search_deep_chain([&](MixedOptions& options) { options.search_budget = budget; });
  };
  const MixedReport unbounded = search(0);
  EXPECT_FALSE(unbounded.budget_spent);
  for (const auto& node : unbounded.kept_nodes) EXPECT_NE(node.reason, MixedKeepReason::Budget) << node.name;
  ASSERT_GT(unbounded.full_run_equivalents, 8.0) << "too cheap a search to cut short";

  const double budget = unbounded.full_run_equivalents / 3;
  const MixedReport bounded = search(budget);
  EXPECT_TRUE(bounded.budget_spent);
  EXPECT_LT(bounded.attempts, unbounded.attempts);
  // The attempt under way (the evaluator and 4 variants, one sample), the holdout check (a tenth
  // of the search's runs, at least 4) and the final check on top.
  EXPECT_GE(bounded.holdout_variants, std::clamp(std::lround(0.1 * budget), 4l, 16l));
  EXPECT_LE(bounded.holdout_variants, std::clamp(std::lround(0.1 * (budget + 5)), 4l, 16l));
  EXPECT_LE(bounded.full_run_equivalents, budget + 5 + bounded.holdout_variants + 1);
  std::size_t unreached = 0;
  for (const auto& node : bounded.kept_nodes) {
    if (node.reason != MixedKeepReason::Budget) continue;
    ++unreached;
    EXPECT_NE(node.detail.find("the search budget of"), std::string::npos) << node.detail;
  }
  EXPECT_GT(unreached, 0u);
  EXPECT_EQ(bounded.final_check.rfind("passes", 0), 0u) << bounded.final_check;
  ASSERT_FALSE(bounded.margins.empty());
  EXPECT_LE(bounded.margins[0].robust_ratio, 1.0);
  EXPECT_LE(bounded.flops_float16, unbounded.flops_float16);
  // Spent before the first attempt: nothing measured the order, and every node kept still has its
  // local error (the engine's pass over the candidates).
  const MixedReport spent_at_once = search(0.01);
  EXPECT_EQ(spent_at_once.attempts, 0);
  ASSERT_FALSE(spent_at_once.kept_nodes.empty());
  for (const auto& node : spent_at_once.kept_nodes) EXPECT_GE(node.sensitivity, 0.0) << node.name;
  EXPECT_NE(error_of([&] { search(-1); }).find("search_budget"), std::string::npos);
}

// Nodes that only move or exactly map their producer's values (Reshape, Transpose, Relu) are
// decided with that producer by the improved search: in float16 they round nothing the producer
// has not, so alone they are not worth an attempt, and kept alone beside a converted producer
// (or converted beside a kept one) they only add Casts and rounding. The baseline, the spec's
// bisection, still tries every node.
TEST(MixedAuto, NodesThatOnlyMoveValuesFollowTheirProducer) {
  constexpr int kLayers = 8;
  auto make = [] {
    std::mt19937 rng(11);
    auto model = modelgen::make_model(17);
    GraphBuilder g(model.mutable_graph());
    g.input("x", F32, {8, 64}).output("y", F32, {8, 64});
    g.initializer_i64("heads", {3}, {8, 8, 8});
    g.initializer_i64("rows", {2}, {8, 64});
    std::string value = "x";
    for (int l = 0; l < kLayers; ++l) {
      const std::string id = std::to_string(l);
      g.initializer("w" + id, {64, 64}, normal_values(64 * 64, 0.125f, rng));
      g.initializer("b" + id, {64}, normal_values(64, 0.1f, rng));
      g.node("MatMul", {value, "w" + id}, {"m" + id}, "layer" + id + "/matmul");
      g.node("Add", {"m" + id, "b" + id}, {"a" + id}, "layer" + id + "/bias");
      g.node("Reshape", {"a" + id, "heads"}, {"h" + id}, "layer" + id + "/split_heads");
      modelgen::attr_ints(g.node("Transpose", {"h" + id}, {"p" + id}, "layer" + id + "/transpose"), "perm", {1, 0, 2});
      g.node("Reshape", {"p" + id, "rows"}, {"r" + id}, "layer" + id + "/merge_heads");
      const std::string out = l + 1 == kLayers ? "y" : "t" + id;
      g.node("Relu", {"r" + id}, {out}, "layer" + id + "/relu");
      value = out;
    }
    return model;
  };
  std::mt19937 rng(3);
  const Feeds sample{{"x", Tensor::from_vector<float>({8, 64}, normal_values(8 * 64, 1.0f, rng))}};
  // A third of the plain float16 model's error: part of the chain must stay float32.
  const double plain_error = plain_float16_error(make(), sample);
  ASSERT_GT(plain_error, 0.0);
  auto search = [&](SearchStrategy strategy) {
    onnx::ModelProto model = make();
    MixedOptions options = tolerances(0, plain_error / 3, strategy);
    options.keep_io_types = true;
    return onnx_fp16::auto_convert_mixed_precision(model, {sample}, options);
  };

  const MixedReport improved = search(SearchStrategy::Improved);
  const std::set<std::string> kept = kept_names(improved);
  int followers_kept = 0;
  for (const auto& node : improved.kept_nodes) {
    const bool moves_values = node.op_type == "Reshape" || node.op_type == "Transpose" || node.op_type == "Relu";
    EXPECT_EQ(moves_values, node.reason == MixedKeepReason::FollowsProducer) << node.name << ": " << node.detail;
    if (node.reason != MixedKeepReason::FollowsProducer) continue;
    ++followers_kept;
    EXPECT_NE(node.detail.find("/bias'"), std::string::npos) << node.detail;
  }
  EXPECT_GT(followers_kept, 0) << "no bias Add stayed float32: the tolerance is too loose for this test";
  for (int l = 0; l < kLayers; ++l) {
    const std::string id = "layer" + std::to_string(l);
    const bool producer_kept = kept.count(id + "/bias") > 0;
    for (const char* follower : {"/split_heads", "/transpose", "/merge_heads", "/relu"}) {
      EXPECT_EQ(kept.count(id + follower) > 0, producer_kept) << id + follower;
    }
  }
  ASSERT_FALSE(improved.margins.empty());
  EXPECT_LE(improved.margins[0].robust_ratio, 1.0);

  const MixedReport baseline = search(SearchStrategy::Baseline);
  for (const auto& node : baseline.kept_nodes) EXPECT_NE(node.reason, MixedKeepReason::FollowsProducer) << node.name;
  EXPECT_LT(improved.attempts, baseline.attempts);
}

TEST(MixedAuto, RangeScreenClampsConstantNodesToo) {
  // The same mask, its constant held in a Constant node (as paddle2onnx exports weights).
  onnx::ModelProto model = masked_softmax_model();
  auto* initializers = model.mutable_graph()->mutable_initializer();
  for (int i = 0; i < initializers->size(); ++i) {
    if (initializers->Get(i).name() != "lowest") continue;
    onnx::TensorProto value = initializers->Get(i);
    initializers->DeleteSubrange(i, 1);
    onnx::NodeProto* constant = model.mutable_graph()->add_node();
    constant->set_op_type("Constant");
    constant->set_name("mask/lowest");
    constant->add_output("lowest");
    onnx::AttributeProto* attribute = constant->add_attribute();
    attribute->set_name("value");
    attribute->set_type(onnx::AttributeProto::TENSOR);
    *attribute->mutable_t() = value;
    // Constant first: the graph stays topologically sorted.
    auto* nodes = model.mutable_graph()->mutable_node();
    for (int k = nodes->size() - 1; k > 0; --k) nodes->SwapElements(k, k - 1);
    break;
  }
  ASSERT_EQ(model.graph().node(0).op_type(), "Constant");
  const MixedReport report = search_masked_softmax(model);
  EXPECT_EQ(report.converted_nodes, report.candidate_nodes);
}
