// The conversion's decisions and plan as values: deciding is a pure function of the nodes the
// search keeps, a forced keep is the node block list for nodes without names, and one rule says
// which data the conversion clamps.
#include <gtest/gtest.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>

#include <random>

#include "convert/pipeline.h"
#include "convert/plan.h"
#include "convert/policy.h"
#include "convert/rewrite.h"
#include "graph/graph_index.h"
#include "mixed/candidate_engine.h"
#include "mixed/conversion_analysis.h"
#include "mixed/incremental_engine.h"
#include "modelgen/builder.h"
#include "modelgen/example_model.h"
#include "support/conversion.h"

namespace {

namespace convert = onnx_fp16::convert;
namespace mixed = onnx_fp16::mixed;
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int F16 = onnx::TensorProto::FLOAT16;

// Everything a plan says, as comparable text.
std::string describe(const convert::Plan& plan) {
  std::string text;
  for (const auto& d : plan.decisions) text += std::to_string(static_cast<int>(d.fate)) + d.detail + ";";
  for (const auto& v : plan.values) {
    text += std::to_string(convert::elem_type(v.produced)) + v.produced_name + std::to_string(convert::elem_type(v.alt)) +
            v.alt_name +
            std::to_string(v.alt_is_constant_copy) + std::to_string(v.renamed) + std::to_string(v.produced_is_constant) + "|";
  }
  for (const auto& name : plan.cast_node_names) text += name + ",";
  return text;
}

std::vector<bool> random_kept(std::size_t count, std::mt19937& rng) {
  std::vector<bool> kept(count);
  for (std::size_t n = 0; n < count; ++n) kept[n] = rng() % 3 == 0;
  return kept;
}

// The search's plans leave the names out (PlanDetail::PrecisionsOnly); everything else they say
// is the full plan's, and the rewrite refuses them.
TEST(ConvertPlan, APrecisionsOnlyPlanIsTheFullPlanWithoutNames) {
  const mixed::ConversionAnalysis analysis(modelgen::example_model(), {});
  const convert::Context& ctx = analysis.context();
  std::mt19937 rng(5);
  const std::vector<bool> kept = random_kept(analysis.index().nodes().size(), rng);
  const convert::Plan full = convert::make_plan(ctx, convert::decide_nodes(ctx, kept), convert::PlanDetail::Full);
  const convert::Plan precisions = analysis.decide(kept);
  ASSERT_EQ(precisions.detail, convert::PlanDetail::PrecisionsOnly);
  convert::Plan unnamed = full;
  for (auto& v : unnamed.values) {
    v.produced_name.clear();
    v.alt_name.clear();
    v.renamed = false;
  }
  unnamed.cast_node_names.clear();
  unnamed.detail = convert::PlanDetail::PrecisionsOnly;
  EXPECT_EQ(describe(precisions), describe(unnamed));
  bool any_alternative = false;
  for (const auto& v : full.values) any_alternative = any_alternative || !v.alt_name.empty();
  EXPECT_TRUE(any_alternative) << "the example model needs Casts: the comparison covers alternatives";
  onnx_fp16::ConversionReport report;
  try {
    convert::apply_plan(ctx, precisions, report);
    ADD_FAILURE() << "a plan without names was applied";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_NE(std::string(e.what()).find("without names"), std::string::npos) << e.what();
  }
}

TEST(ConvertPlan, DecidingIsAPureFunctionOfTheKeptNodes) {
  const mixed::ConversionAnalysis analysis(modelgen::example_model(), {});
  const std::size_t count = analysis.index().nodes().size();
  const std::string full = describe(analysis.full_conversion());
  std::mt19937 rng(3);
  const std::vector<bool> a = random_kept(count, rng);
  const std::vector<bool> b = random_kept(count, rng);
  ASSERT_NE(a, b);
  const std::string first = describe(analysis.decide(a));
  const std::string other = describe(analysis.decide(b));
  EXPECT_NE(first, other);
  EXPECT_EQ(describe(analysis.decide(a)), first);  // nothing of the decision for b lingers
  EXPECT_EQ(describe(analysis.full_conversion()), full);
  EXPECT_EQ(describe(analysis.decide(std::vector<bool>(count, false))), full);
}

// Forcing nodes to stay float32 gives the model that naming them in node_block_list gives.
TEST(ConvertPlan, AForcedKeepIsTheNodeBlockListByPosition) {
  const onnx::ModelProto model = modelgen::example_model();
  const onnx_fp16::graph::GraphIndex index(model);
  std::mt19937 rng(5);
  const std::vector<bool> kept = random_kept(index.nodes().size(), rng);
  onnx_fp16::Float16Options by_name;
  for (onnx_fp16::graph::NodeId n = 0; n < static_cast<onnx_fp16::graph::NodeId>(kept.size()); ++n) {
    ASSERT_FALSE(index.node(n).proto->name().empty());
    if (kept[n]) by_name.node_block_list.push_back(index.node(n).proto->name());
  }
  ASSERT_FALSE(by_name.node_block_list.empty());
  onnx::ModelProto named = model;
  onnx_fp16::convert_float_to_float16(named, by_name);
  onnx::ModelProto forced = model;
  convert::run_pipeline(forced, {}, kept);
  EXPECT_EQ(named.SerializeAsString(), forced.SerializeAsString());
}

// y = (x * w + c) + fill, r = Relu(x): w (an initializer), c (a Constant node), fill (a
// ConstantOfShape) hold out-of-range values; the computed values do not get clamped.
onnx::ModelProto out_of_range_constants() {
  onnx::ModelProto model = modelgen::make_model();
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2}).output("r", F32, {2});
  g.initializer("w", {2}, {1e5f, 0.5f});
  g.initializer_i64("shape", {1}, {2});
  auto& c = g.node("Constant", {}, {"c"}, "c");
  modelgen::attr_tensor(c, "value", modelgen::float_tensor("c_value", {2}, {1e-9f, 2.0f}));
  auto& fill = g.node("ConstantOfShape", {"shape"}, {"fill"}, "fill");
  modelgen::attr_tensor(fill, "value", modelgen::float_tensor("fill_value", {1}, {7e4f}));
  g.node("Mul", {"x", "w"}, {"xw"}, "mul");
  g.node("Add", {"xw", "c"}, {"xwc"}, "add");
  g.node("Add", {"xwc", "fill"}, {"y"}, "add_fill");
  g.node("Relu", {"x"}, {"r"}, "relu");
  return model;
}

TEST(ConvertPlan, TheConversionClampsConstantsAndNothingElse) {
  onnx_fp16::Float16Options options;
  options.keep_io_types = true;  // float32 outputs to compare
  const mixed::ConversionAnalysis analysis(out_of_range_constants(), options);
  const convert::Plan& plan = analysis.full_conversion();
  const auto& index = analysis.index();
  auto value = [&](const char* name) { return index.find(name, onnx_fp16::graph::GraphIndex::main_scope()); };
  for (const char* constant : {"w", "c", "fill"}) {
    EXPECT_TRUE(plan.clamped(value(constant), convert::Precision::Float16)) << constant;
    EXPECT_FALSE(plan.clamped(value(constant), convert::Precision::Float32)) << constant;
  }
  for (const char* computed : {"x", "xw", "xwc", "y", "r"}) {
    EXPECT_FALSE(plan.clamped(value(computed), convert::Precision::Float16)) << computed;
  }

  // The rewrite follows the same rule: every constant lands at max_finite_val / min_positive_val.
  const auto [converted, report] = test_support::convert_checked(out_of_range_constants(), options);
  EXPECT_EQ(report.values_clamped, 3);
  const onnx::TensorProto* w = test_support::initializer_named(converted.graph(), "w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->data_type(), F16);

  // The incremental engine simulates the same clamping: its outputs are the converted model's.
  onnx_fp16::Tensor x = onnx_fp16::Tensor::uninitialized(onnx::TensorProto::FLOAT, {2});
  x.mutable_data<float>()[0] = 3.0f;
  x.mutable_data<float>()[1] = -0.25f;
  const std::vector<onnx_fp16::Feeds> samples{{{"x", x}}};
  const std::vector<bool> nothing_kept(index.nodes().size(), false);
  const auto simulated = mixed::make_incremental_engine(analysis, samples, 1, {})->run(nothing_kept);
  const auto converted_run = mixed::make_rebuild_engine(analysis, samples, 1)->run(nothing_kept);
  ASSERT_EQ(simulated.size(), 1u);
  ASSERT_EQ(converted_run.size(), 1u);
  for (std::size_t o = 0; o < 2; ++o) {
    const auto a = simulated[0][o].data<float>();
    const auto b = converted_run[0][o].data<float>();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "output " << o << " element " << i;
  }
}

}  // namespace

namespace {

// The index hands out protos for editing only when it was built on a mutable model: the
// analysis (read-only) cannot change the model the search simulates.
TEST(GraphIndexAccess, OnlyAnIndexOfAMutableModelEditsIt) {
  const onnx::ModelProto model = modelgen::example_model();
  const onnx_fp16::graph::GraphIndex read_only(model);
  EXPECT_THROW(read_only.edit_node(0), onnx_fp16::Error);
  EXPECT_THROW(read_only.edit_graph(0), onnx_fp16::Error);
  onnx::ModelProto copy = model;
  const onnx_fp16::graph::GraphIndex editable(copy);
  editable.edit_node(0).set_name("renamed");
  EXPECT_EQ(copy.graph().node(0).name(), "renamed");
  const mixed::ConversionAnalysis analysis(model, {});
  EXPECT_THROW(analysis.index().edit_node(0), onnx_fp16::Error);
}

}  // namespace
