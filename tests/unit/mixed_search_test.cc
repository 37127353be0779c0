// The pieces of the mixed-precision search on their own: the segment bisection and the
// validation rule.
#include <gtest/gtest.h>
#include <onnx_fp16/error.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <span>
#include <set>

#include "graph/graph_index.h"
#include "mixed/candidate_engine.h"
#include "mixed/conversion_analysis.h"
#include "mixed/cut_points.h"
#include "modelgen/builder.h"
#include "mixed/error_model.h"
#include "mixed/incremental_engine.h"
#include "mixed/progress.h"
#include "mixed/search_order.h"
#include "mixed/search_units.h"
#include "mixed/segment_search.h"
#include "mixed/acceptance.h"
#include "runtime/tensor_cast.h"
#include "support/planted_model.h"

namespace {

using onnx_fp16::Tensor;
using onnx_fp16::mixed::SegmentSearch;
using onnx_fp16::mixed::AcceptanceTest;

// Runs the search against an oracle: an attempt passes when no position in `bad` converts.
struct Outcome {
  std::set<std::size_t> kept;
  int attempts = 0;
};
Outcome search_with(std::size_t count, const std::set<std::size_t>& bad) {
  SegmentSearch search(count);
  Outcome outcome;
  while (const auto trial = search.next()) {
    const std::vector<bool> kept = search.kept_while_trying(*trial);
    bool passes = true;
    for (std::size_t p : bad) passes = passes && kept[p];
    ++outcome.attempts;
    if (passes) {
      search.passed(*trial);
    } else {
      search.failed(*trial);
    }
  }
  const std::vector<bool> kept = search.kept_now();
  for (std::size_t p = 0; p < count; ++p) {
    if (kept[p]) outcome.kept.insert(p);
  }
  return outcome;
}

TEST(MixedSegmentSearch, KeepsExactlyTheNodesThatFailAlone) {
  EXPECT_EQ(search_with(16, {}).kept, std::set<std::size_t>{});
  EXPECT_EQ(search_with(16, {}).attempts, 1);
  EXPECT_EQ(search_with(16, {5}).kept, std::set<std::size_t>{5});
  EXPECT_EQ(search_with(16, {0, 15}).kept, (std::set<std::size_t>{0, 15}));
  EXPECT_EQ(search_with(1, {0}).kept, std::set<std::size_t>{0});
  EXPECT_EQ(search_with(13, {3, 4, 9}).kept, (std::set<std::size_t>{3, 4, 9}));
}

TEST(MixedSegmentSearch, OneBadNodeCostsAboutTwoAttemptsPerHalving) {
  // 16 -> 8+8 -> ... -> 1: each level tries the failing half and its passing sibling.
  EXPECT_EQ(search_with(16, {5}).attempts, 1 + 2 * 4);
}

TEST(MixedSegmentSearch, TriesTheLargestUntriedSegmentFirst) {
  SegmentSearch search(7);
  search.failed(*search.next());  // [3][4]
  ASSERT_EQ(search.segments().size(), 2u);
  EXPECT_EQ(search.segments()[*search.next()].size, 4u);
  // Everything but the trial and the good segments stays float32.
  const std::vector<bool> kept = search.kept_while_trying(1);
  EXPECT_EQ(kept, (std::vector<bool>{true, true, true, false, false, false, false}));
}

// Weighted (the improved search weighs positions by FLOPs): the heaviest untried segment goes
// first, and a failing segment splits where its weight halves, not where its count does.
TEST(MixedSegmentSearch, WeighsSegmentsAndSplitsThemByWeight) {
  SegmentSearch search(6, {1, 1, 1, 1, 1, 10});  // one heavy position at the end
  search.failed(*search.next());                 // total 15: the split nearest 7.5 is [5 positions: 5][1 position: 10]
  ASSERT_EQ(search.segments().size(), 2u);
  EXPECT_EQ(search.segments()[0].size, 5u);
  EXPECT_EQ(search.segments()[1].size, 1u);
  EXPECT_EQ(*search.next(), 1u) << "the heavy position is tried before the five light ones";
  // Unit weights are the spec's bisection: 7 splits into 3 and 4, the larger tried first.
  SegmentSearch unit(7, std::vector<double>(7, 1.0));
  unit.failed(*unit.next());
  EXPECT_EQ(unit.segments()[0].size, 3u);
  EXPECT_EQ(*unit.next(), 1u);
  EXPECT_THROW(SegmentSearch(3, {1.0, 2.0}), std::invalid_argument);
}

TEST(MixedSegmentSearch, ShowsTheSegmentSizesAlongTheOrder) {
  SegmentSearch search(8);
  search.failed(0);  // [?4][?4]
  search.passed(1);  // [?4][=4]
  search.failed(0);  // [?2][?2][=4]
  search.failed(0);  // [?1][?1][?2][=4]
  search.failed(0);  // [x1][?1][?2][=4]
  EXPECT_EQ(search.sizes_text(), "[x1][?1][?2][=4]");
  EXPECT_EQ(search.bar(8), "x...====");
  EXPECT_EQ(search.bar(8, 2), "x.##====");
  EXPECT_EQ(search.count(SegmentSearch::State::Good), 4u);
  EXPECT_EQ(search.count(SegmentSearch::State::Bad), 1u);
  EXPECT_EQ(search.count(SegmentSearch::State::Untried), 3u);
}

// The error-model search hands positions over in runs: deferred ones are kept and never tried
// until released; a pruned one is bad without an attempt.
TEST(MixedSegmentSearch, DefersPositionsUntilReleasedAndPrunesWithoutAnAttempt) {
  SegmentSearch search(6, {}, /*deferred=*/true);
  EXPECT_FALSE(search.next().has_value()) << "nothing is tried before a release";
  EXPECT_EQ(search.deferred_from(), 0u);
  EXPECT_EQ(search.kept_now(), std::vector<bool>(6, true));
  search.release(3);  // [?3][-3]
  EXPECT_EQ(search.deferred_from(), 3u);
  const auto trial = search.next();
  ASSERT_TRUE(trial.has_value());
  EXPECT_EQ(search.segments()[*trial].size, 3u);
  EXPECT_EQ(search.kept_while_trying(*trial), (std::vector<bool>{false, false, false, true, true, true}));
  search.passed(*trial);
  EXPECT_FALSE(search.next().has_value()) << "the deferred tail is not tried";
  search.prune_next();  // [=3][x1][-2]
  EXPECT_EQ(search.count(SegmentSearch::State::Bad), 1u);
  EXPECT_EQ(search.count(SegmentSearch::State::Deferred), 2u);
  EXPECT_EQ(search.sizes_text(), "[=3][x1][?2]");
  search.release(6);
  EXPECT_EQ(search.deferred_from(), 6u);
  EXPECT_EQ(search.segments()[*search.next()].size, 2u);
  EXPECT_THROW(search.release(6), std::invalid_argument);
  EXPECT_THROW(search.prune_next(), std::invalid_argument);
}

// A segment not worth an attempt (the fast mode's lightest ones) becomes bad whole, whatever its
// size, and is not tried again.
TEST(MixedSegmentSearch, AnAbandonedSegmentStaysKeptWhole) {
  SegmentSearch search(4);
  const auto all = search.next();
  ASSERT_TRUE(all.has_value());
  search.failed(*all);  // [?2][?2]
  const auto first = search.next();
  ASSERT_TRUE(first.has_value());
  search.abandon(*first);  // [x2][?2]
  EXPECT_EQ(search.sizes_text(), "[x2][?2]");
  EXPECT_EQ(search.kept_now(), std::vector<bool>(4, true));
  const auto second = search.next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(search.segments()[*second].begin, 2u);
  search.passed(*second);
  EXPECT_FALSE(search.next().has_value());
  EXPECT_EQ(search.kept_now(), (std::vector<bool>{true, true, false, false}));
}

// The time-left estimate: the positions the search will still try, at the attempts each
// position decided by an attempt has taken so far; nodes kept on a prediction cost nothing and
// do not count as decided. Before any decision: one attempt per open segment.
TEST(MixedSegmentSearch, EstimatesTheAttemptsLeftFromTheRateSoFar) {
  using onnx_fp16::mixed::attempts_left_estimate;
  SegmentSearch fresh(8);
  EXPECT_EQ(attempts_left_estimate(fresh, 0, {}, {}), 1.0);

  SegmentSearch search(16);
  search.failed(*search.next());  // [?8][?8]
  EXPECT_EQ(attempts_left_estimate(search, 1, {}, {}), 2.0) << "nothing decided yet";
  search.passed(*search.next());  // [=8][?8]: 2 attempts decided 8 positions
  EXPECT_DOUBLE_EQ(attempts_left_estimate(search, 2, {}, {}), 2.0 / 8 * 8);
  std::vector<bool> will_try(16, true);
  for (std::size_t p = 8; p < 12; ++p) will_try[p] = false;  // kept on a prediction when their turn comes
  EXPECT_DOUBLE_EQ(attempts_left_estimate(search, 2, {}, will_try), 2.0 / 8 * 4);
  EXPECT_EQ(attempts_left_estimate(search, 2, {}, std::vector<bool>(16, false)), 0.0);
  // Bad positions count as decided by attempts unless kept without one.
  search.failed(*search.next());  // [=8][?4][?4]
  search.abandon(*search.next());  // [=8][x4][?4]: abandoned, as a light segment is
  std::vector<bool> kept_untried(16, false);
  for (std::size_t p = 8; p < 12; ++p) kept_untried[p] = true;
  EXPECT_DOUBLE_EQ(attempts_left_estimate(search, 3, kept_untried, {}), 3.0 / 8 * 4);
  EXPECT_DOUBLE_EQ(attempts_left_estimate(search, 3, {}, {}), 3.0 / 12 * 4);

  // Against the oracle search: 64 positions, 4 failing alone. Halfway through, the estimate is
  // within a factor of two of the attempts actually left, and nothing is left at the end.
  SegmentSearch oracle(64);
  const std::set<std::size_t> bad{5, 20, 41, 58};
  std::vector<double> estimates;
  int attempts = 0;
  while (const auto trial = oracle.next()) {
    const std::vector<bool> kept = oracle.kept_while_trying(*trial);
    bool passes = true;
    for (std::size_t p : bad) passes = passes && kept[p];
    ++attempts;
    if (passes) {
      oracle.passed(*trial);
    } else {
      oracle.failed(*trial);
    }
    estimates.push_back(attempts_left_estimate(oracle, attempts, {}, {}));
  }
  const std::size_t half = estimates.size() / 2;
  const double actual = static_cast<double>(estimates.size() - 1 - half);
  EXPECT_GT(estimates[half], actual / 2) << estimates.size() << " attempts";
  EXPECT_LT(estimates[half], actual * 2) << estimates.size() << " attempts";
  EXPECT_EQ(estimates.back(), 0.0);
}

// Two units of effects 0.6 and 0.8, their squares summing to 1.
onnx_fp16::mixed::SearchOrder two_units_of_effects_0_6_and_0_8() {
  onnx_fp16::mixed::SearchOrder order;
  order.units = {0, 1};
  order.weights = {1, 1};
  order.effect = {0.6, 0.8};
  order.predicted = {0.6, 0.8};
  order.to_cut = {false, false};
  return order;
}

// The error model's first calibration: the all-float16 attempt's ratio against the sum of the
// units' squared effects, times the square of the expected robust factor where those were
// measured on the evaluator alone but acceptance judges robust ratios (auto_mixed.cc
// expected_robust_factor). Two units of effects 0.6 and 0.8 (squares summing to 1), every unit
// converted at 1.5: scale 2.25 as measured, 9 with a factor of 2; the first unit alone
// (0.36) is predicted at 0.9 then 1.8 of the tolerance.
TEST(MixedErrorModel, TheFirstCalibrationCountsTheRobustFactorSquared) {
  const onnx_fp16::mixed::SearchOrder order = two_units_of_effects_0_6_and_0_8();
  const onnx_fp16::mixed::ErrorModel as_measured(order, 1.5);
  const onnx_fp16::mixed::ErrorModel robust(order, 1.5, 2.0);
  EXPECT_DOUBLE_EQ(as_measured.scale(), 2.25);
  EXPECT_DOUBLE_EQ(robust.scale(), 9.0);
  EXPECT_NEAR(std::sqrt(as_measured.predicted_squared(0, as_measured.squared(0))), 0.9, 1e-12);
  EXPECT_FALSE(as_measured.predicts_failure(0, as_measured.squared(0)));
  EXPECT_NEAR(std::sqrt(robust.predicted_squared(0, robust.squared(0))), 1.8, 1e-12);
  EXPECT_TRUE(robust.predicts_failure(0, robust.squared(0)));
}

// An all-float16 attempt far beyond the sum of the units' effects (errors that compound, as in
// Silero VAD's recurrent state: 22x the tolerance) calibrates the scale to at most 10, as a pass
// would; failures may still raise it, at most doubling it each.
TEST(MixedErrorModel, TheFirstCalibrationIsCappedAtWhatAPassCouldSet) {
  const onnx_fp16::mixed::SearchOrder order = two_units_of_effects_0_6_and_0_8();
  onnx_fp16::mixed::ErrorModel compounding(order, 22.0, 2.0);
  EXPECT_DOUBLE_EQ(compounding.scale(), 10.0);  // 1936 uncapped
  EXPECT_FALSE(compounding.predicts_failure(0, 0.09));  // a unit of effect 0.3: 0.95 of the tolerance
  compounding.learn(0, 0.09, false, 0);
  EXPECT_NEAR(compounding.scale(), 1 / 0.09, 1e-12);  // it failed: at least 1 / 0.09
}

// Units that no sample runs together (one in each branch of an If, the samples taking one each)
// do not add up: the ratio is the worst over the samples, so a sum of e^2 is the largest over the
// flat models. The two units of effects 0.6 and 0.8, one per model: together 0.64, not 1; the
// all-float16 attempt at 1.6 calibrates the scale to 4 (2.56 in one model); a unit both models
// run (bits 0 and 1) counts in each.
TEST(MixedErrorModel, UnitsNoSampleRunsTogetherDoNotAdd) {
  const onnx_fp16::mixed::SearchOrder order = two_units_of_effects_0_6_and_0_8();
  const onnx_fp16::mixed::ErrorModel split(order, 1.6, 1.0, {0b01, 0b10});
  const onnx_fp16::mixed::ErrorModel together(order, 1.6);
  EXPECT_NEAR(split.segment_squared({0, 2}), 0.64, 1e-12);
  EXPECT_NEAR(together.segment_squared({0, 2}), 1.0, 1e-12);
  EXPECT_NEAR(split.scale(), 4.0, 1e-12);
  EXPECT_NEAR(together.scale(), 2.56, 1e-12);
  onnx_fp16::mixed::ErrorModel::Sum sum(split);
  sum.add(0);
  EXPECT_NEAR(sum.worst_with(1), 0.64, 1e-12);
  sum.add_squared(0b11, 0.01);
  EXPECT_NEAR(sum.worst(), 0.37, 1e-12);
  EXPECT_NEAR(sum.worst_with(1), 0.65, 1e-12);
}

// x -> a -> {b, c} -> d (Add) -> e -> y, and a's value also read by e: every path from b or c
// to the output passes d and e, from a only e (a skips d), from e nothing but the output. The
// nodes are listed out of order: cut points follow the data, not the list.
TEST(MixedCutPoints, AreTheNodesEveryPathToTheOutputsPasses) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  onnx::GraphProto& graph = *model.mutable_graph();
  auto add = [&](const std::string& op, const std::string& name, std::vector<std::string> inputs, const std::string& output) {
    onnx::NodeProto& node = *graph.add_node();
    node.set_op_type(op);
    node.set_name(name);
    for (const auto& input : inputs) node.add_input(input);
    node.add_output(output);
  };
  add("Add", "e", {"dv", "av"}, "y");
  add("Relu", "a", {"x"}, "av");
  add("Add", "d", {"bv", "cv"}, "dv");
  add("Neg", "b", {"av"}, "bv");
  add("Abs", "c", {"av"}, "cv");
  graph.add_input()->set_name("x");
  graph.add_output()->set_name("y");
  const onnx_fp16::graph::GraphIndex index(std::as_const(model));
  const onnx_fp16::mixed::CutPoints cuts(index);
  auto names = [&](int node) {
    std::vector<std::string> found;
    for (const int p : cuts.after(node)) found.push_back(index.node_label(p));
    return found;
  };
  // Nodes by their position in the list: e 0, a 1, d 2, b 3, c 4.
  EXPECT_EQ(names(1), (std::vector<std::string>{"e"}));
  EXPECT_EQ(names(3), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(names(4), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(names(2), (std::vector<std::string>{"e"}));
  EXPECT_TRUE(names(0).empty());
  EXPECT_LT(cuts.rank(1), cuts.rank(3));
  EXPECT_LT(cuts.rank(2), cuts.rank(0));
}

// The same chain moved into the then-branch of an If whose output "branch" the main graph's
// Tanh "t" reads: with the If inlined (the samples take that branch), the nodes inside have
// their cut points inside and after it (the If standing for its outputs, then t); without, the
// main graph's nodes only.
TEST(MixedCutPoints, InsideAnInlinedBranchTheyFollowTheDataThroughTheIf) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  onnx::GraphProto& graph = *model.mutable_graph();
  auto add = [](onnx::GraphProto& g, const std::string& op, const std::string& name, std::vector<std::string> inputs,
                const std::string& output) -> onnx::NodeProto& {
    onnx::NodeProto& node = *g.add_node();
    node.set_op_type(op);
    node.set_name(name);
    for (const auto& input : inputs) node.add_input(input);
    node.add_output(output);
    return node;
  };
  onnx::NodeProto& choose = add(graph, "If", "choose", {"flag"}, "branch");
  onnx::GraphProto& then_branch = *modelgen::attr_graph(choose, "then_branch");
  add(then_branch, "Add", "e", {"dv", "av"}, "ev");
  add(then_branch, "Relu", "a", {"x"}, "av");
  add(then_branch, "Add", "d", {"bv", "cv"}, "dv");
  add(then_branch, "Neg", "b", {"av"}, "bv");
  add(then_branch, "Abs", "c", {"av"}, "cv");
  then_branch.add_output()->set_name("ev");
  onnx::GraphProto& else_branch = *modelgen::attr_graph(choose, "else_branch");
  add(else_branch, "Identity", "pass", {"x"}, "same");
  else_branch.add_output()->set_name("same");
  add(graph, "Tanh", "t", {"branch"}, "y");
  graph.add_input()->set_name("x");
  graph.add_input()->set_name("flag");
  graph.add_output()->set_name("y");
  const onnx_fp16::graph::GraphIndex index(std::as_const(model));
  auto id = [&](const std::string& name) {
    for (int n = 0; n < static_cast<int>(index.nodes().size()); ++n) {
      if (index.node(n).proto->name() == name) return n;
    }
    return -1;
  };
  onnx_fp16::mixed::InlinedBranches inlined;
  for (const auto s : index.node(id("choose")).subgraphs) {
    if (index.scope(s).attribute == "then_branch") inlined[id("choose")] = s;
  }
  const onnx_fp16::mixed::CutPoints flat(index, inlined);
  auto names = [&](const onnx_fp16::mixed::CutPoints& cuts, const std::string& node) {
    std::vector<std::string> found;
    for (const int p : cuts.after(id(node))) found.push_back(index.node_label(p));
    return found;
  };
  EXPECT_EQ(names(flat, "b"), (std::vector<std::string>{"d", "e", "choose", "t"}));
  EXPECT_EQ(names(flat, "a"), (std::vector<std::string>{"e", "choose", "t"}));
  EXPECT_EQ(names(flat, "choose"), (std::vector<std::string>{"t"}));
  EXPECT_LT(flat.rank(id("a")), flat.rank(id("b")));
  EXPECT_LT(flat.rank(id("e")), flat.rank(id("choose")));
  EXPECT_EQ(flat.node_count(), 7);  // five inside, the If, t
  EXPECT_EQ(flat.rank(id("pass")), -1);  // the branch no sample takes is not in the flat model
  const onnx_fp16::mixed::CutPoints main_only(index);
  EXPECT_EQ(names(main_only, "choose"), (std::vector<std::string>{"t"}));
  EXPECT_EQ(main_only.node_count(), 2);
}

// The search order's measurements on a 16-layer chain of MatMul, Add, Tanh (every later node is
// a cut point of every earlier one), each unit costing what `flops(unit, is_matmul)` says.
class DeepChainOrder {
 public:
  explicit DeepChainOrder(const std::function<double(std::size_t, bool)>& flops)
      : model_(test_support::deep_chain_model(16)),
        analysis_(model_, keep_io()),
        units_(onnx_fp16::mixed::find_search_units(analysis_, true)),
        costs_(units_.size()),
        acceptance_(atol_1e3(), {"y"}),
        cuts_(analysis_.index()) {
    for (std::size_t u = 0; u < units_.size(); ++u) {
      candidates_.push_back(u);
      costs_[u].flops = flops(u, analysis_.index().node(units_.nodes[u]).proto->op_type() == "MatMul");
    }
  }

  const onnx_fp16::mixed::SearchUnits& units() const { return units_; }

  // The order measured within `budget` full-run equivalents, `exact_share` of it at the outputs;
  // `evaluated`: the node executions it took.
  onnx_fp16::mixed::SearchOrder order(double budget, double exact_share, std::size_t& evaluated) const {
    std::mt19937 rng(5);
    const onnx_fp16::Feeds sample{{"x", Tensor::from_vector<float>({8, 64}, test_support::normal_values(8 * 64, 1.0f, rng))}};
    auto engine = onnx_fp16::mixed::make_incremental_engine(analysis_, {sample}, 1, {});
    const std::vector<Tensor> reference = engine->run_float32({})->outputs.at(0);
    const std::size_t before = engine->stats().nodes_evaluated;
    onnx_fp16::mixed::SearchOrder order =
        onnx_fp16::mixed::order_by_effect(*engine, acceptance_, units_, candidates_, costs_, {reference}, budget,
                                          std::span<const onnx_fp16::mixed::CutPoints>(&cuts_, 1), exact_share);
    evaluated = engine->stats().nodes_evaluated - before;
    return order;
  }

 private:
  static onnx_fp16::Float16Options keep_io() {
    onnx_fp16::Float16Options conversion;
    conversion.keep_io_types = true;
    return conversion;
  }
  static onnx_fp16::MixedOptions atol_1e3() {
    onnx_fp16::MixedOptions options;
    options.atol = 1e-3;
    return options;
  }

  onnx::ModelProto model_;
  onnx_fp16::mixed::ConversionAnalysis analysis_;
  onnx_fp16::mixed::SearchUnits units_;
  std::vector<std::size_t> candidates_;
  std::vector<onnx_fp16::mixed::NodeCost> costs_;
  onnx_fp16::mixed::AcceptanceTest acceptance_;
  onnx_fp16::mixed::CutPoints cuts_;
};

// Every unit measured up to a cut point lands within 3x of its effect measured at the outputs.
void expect_estimates_near_exact(const onnx_fp16::mixed::SearchUnits& units, const onnx_fp16::mixed::SearchOrder& exact,
                                 const onnx_fp16::mixed::SearchOrder& estimated) {
  for (std::size_t u = 0; u < units.size(); ++u) {
    if (!estimated.to_cut[u]) continue;
    ASSERT_GT(exact.effect[u], 0.0) << units.labels[u];
    EXPECT_LT(estimated.predicted[u], 3 * exact.effect[u]) << units.labels[u];
    EXPECT_GT(estimated.predicted[u], exact.effect[u] / 3) << units.labels[u];
  }
}

// A unit measured only up to a cut point (its distance there times the gain that point showed
// for the units measured at the outputs) lands near its effect at the outputs, for a fraction of
// the work.
TEST(MixedCutPoints, AMeasurementUpToOneEstimatesTheEffectAtTheOutputs) {
  // Heaviest first: the MatMuls, then the rest, each in node order.
  const DeepChainOrder chain([](std::size_t, bool matmul) { return matmul ? 65536.0 : 512.0; });
  ASSERT_EQ(chain.units().size(), 48u);
  std::size_t exact_work = 0, cut_work = 0;
  // Every unit at the outputs (24.5 full runs' worth), against two measured there and the rest
  // up to a cut point.
  const auto exact = chain.order(100, 1.0, exact_work);
  const auto estimated = chain.order(20, 0.1, cut_work);
  EXPECT_EQ(exact.measured, chain.units().size());
  EXPECT_EQ(exact.measured_to_cut(), 0u);
  EXPECT_GT(estimated.measured_to_cut(), chain.units().size() / 2);
  EXPECT_EQ(estimated.measured + estimated.measured_to_cut(), chain.units().size());
  EXPECT_LT(cut_work * 3, exact_work) << "measuring up to cut points should take a fraction of the runs";
  expect_estimates_near_exact(chain.units(), exact, estimated);
}

// The cut points a measurement passes on its way to one of known gain learn their gains from it
// (chained), so the units measured next stop nearer. Here the heaviest units are the last
// layers' (measured first), so the cut points of known gain start at the end of the graph: a
// measurement that learned only from the units measured at the outputs would run from the early
// layers to the late ones, or to the outputs (more than half the run: measured in full).
TEST(MixedCutPoints, MeasurementsUpToCutPointsTeachTheGainsOfThoseTheyPass) {
  // Heavier with depth: the last MatMul first, the first Tanh last.
  const DeepChainOrder chain([](std::size_t u, bool matmul) { return static_cast<double>((u + 1) * (matmul ? 1000 : 1)); });
  std::size_t exact_work = 0, cut_work = 0;
  const auto exact = chain.order(100, 1.0, exact_work);
  const auto estimated = chain.order(20, 0.01, cut_work);
  // The last layers' products (within 1% of the budget), and the last node (no cut point after it).
  EXPECT_LE(estimated.measured, 4u);
  EXPECT_EQ(estimated.measured + estimated.measured_to_cut(), chain.units().size());
  EXPECT_LT(cut_work * 6, exact_work) << "each measurement should run about a layer, not to the late layers";
  expect_estimates_near_exact(chain.units(), exact, estimated);
}

// A unit's local error (what converting it alone adds to its own outputs) comes from its own
// measurement run, at the outputs or up to a cut point, and from the engine's local_errors pass
// only for the units the budget left: the same figure each way, so the order no longer pays for
// a full pass beside its measurements.
TEST(MixedCutPoints, TheLocalErrorsOfMeasuredUnitsComeFromTheirOwnRuns) {
  const DeepChainOrder chain([](std::size_t, bool matmul) { return matmul ? 65536.0 : 512.0; });
  std::size_t work = 0;
  const auto from_pass = chain.order(0, 1.0, work);
  const auto at_outputs = chain.order(100, 1.0, work);
  const auto to_cut = chain.order(20, 0.1, work);
  ASSERT_EQ(from_pass.measured + from_pass.measured_to_cut(), 0u);
  ASSERT_EQ(at_outputs.measured, chain.units().size());
  ASSERT_GT(to_cut.measured_to_cut(), chain.units().size() / 2);
  for (std::size_t u = 0; u < chain.units().size(); ++u) {
    const double expected = from_pass.local_error[u];
    ASSERT_GT(expected, 0.0) << chain.units().labels[u];
    EXPECT_NEAR(at_outputs.local_error[u], expected, 1e-9 * expected) << chain.units().labels[u];
    EXPECT_NEAR(to_cut.local_error[u], expected, 1e-9 * expected) << chain.units().labels[u];
  }
}

onnx_fp16::MixedOptions tolerance(std::optional<double> rtol, std::optional<double> atol) {
  onnx_fp16::MixedOptions options;
  options.rtol = rtol;
  options.atol = atol;
  return options;
}

std::vector<Tensor> one(float value) { return {Tensor::from_vector<float>({1}, {value})}; }

TEST(MixedAcceptance, NeedsAToleranceOrAFunction) {
  try {
    AcceptanceTest(tolerance(std::nullopt, std::nullopt), {"y"});
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a tolerance"), std::string::npos) << e.what();
  }
  EXPECT_THROW(AcceptanceTest(tolerance(-1.0, std::nullopt), {"y"}), onnx_fp16::Error);
}

TEST(MixedAcceptance, FollowsNumpyAllcloseWithTheOriginalsDefaults) {
  // Only atol: rtol is 1e-5. |1000 - 1000.02| = 0.02 <= 0.01 + 1e-5 * 1000.02 fails, 0.019 passes.
  const AcceptanceTest atol_only(tolerance(std::nullopt, 0.01), {"y"});
  EXPECT_FALSE(atol_only.check(one(1000.0f), one(1000.03f), 0).ok);
  EXPECT_TRUE(atol_only.check(one(1000.0f), one(1000.015f), 0).ok);
  // Only rtol: atol is 1e-8, so zero against a tiny value fails.
  const AcceptanceTest rtol_only(tolerance(0.1, std::nullopt), {"y"});
  EXPECT_FALSE(rtol_only.check(one(0.0f), one(1e-6f), 0).ok);
  EXPECT_TRUE(rtol_only.check(one(1.0f), one(1.05f), 0).ok);
  // The tolerance scales with the candidate, as numpy.allclose(float32, candidate) does.
  const AcceptanceTest relative(tolerance(0.5, 0.0), {"y"});
  EXPECT_TRUE(relative.check(one(1.0f), one(2.0f), 0).ok);   // 1 <= 0.5 * 2
  EXPECT_FALSE(relative.check(one(2.0f), one(1.0f), 0).ok);  // 1 > 0.5 * 1
  // NaN is never close; the failure names the sample and output.
  const auto nan = std::numeric_limits<float>::quiet_NaN();
  const auto verdict = relative.check(one(nan), one(nan), 3);
  EXPECT_FALSE(verdict.ok);
  EXPECT_NE(verdict.detail.find("sample 3, output 'y'"), std::string::npos) << verdict.detail;
}

// The spread is measured from the mean of the implementations (the evaluator and the variants),
// so an evaluator whose own draw lies off to one side is not counted as spread K times, while
// variants scattering both ways are.
TEST(MixedAcceptance, TheSpreadIsMeasuredFromTheImplementationsMean) {
  onnx_fp16::MixedOptions options = tolerance(0.0, 1.0);
  options.spread_safety = 2.5;
  const AcceptanceTest acceptance(options, {"y"});
  auto implementations = [](float evaluator, std::vector<float> variants) {
    std::vector<std::vector<Tensor>> by_variant{one(evaluator)};
    for (float v : variants) by_variant.push_back(one(v));
    return by_variant;
  };
  // float32 0; evaluator 0.5, its four variants all at 0.3, nearer float32: the mean is 0.34,
  // the largest deviation from it 0.16, so 0.34 + 2.5 * 0.16 = 0.74. Measured from the
  // evaluator it would be 0.5 + 2.5 * 0.2 = 1.0: the evaluator's offset counted as spread.
  const auto offset = implementations(0.5f, {0.3f, 0.3f, 0.3f, 0.3f});
  EXPECT_NEAR(acceptance.robust_ratios(one(0.0f), offset).at(0), 0.74, 1e-6);
  EXPECT_TRUE(acceptance.check_variants(one(0.0f), offset, 0, 0).ok);
  // Variants scattering both ways: mean 0.2, largest deviation 0.3 (the evaluator's 0.5 and
  // the variant at -0.1), 0.2 + 2.5 * 0.3 = 0.95, passes; one more step out fails, naming the
  // output and the margin although every implementation alone is within the tolerance.
  EXPECT_NEAR(acceptance.robust_ratios(one(0.0f), implementations(0.5f, {-0.1f, 0.2f, 0.2f, 0.2f})).at(0), 0.95, 1e-6);
  const auto scattered = implementations(0.5f, {-0.2f, 0.2f, 0.2f, 0.2f});  // mean 0.18, 0.18 + 2.5 * 0.38 = 1.13
  EXPECT_NEAR(acceptance.robust_ratios(one(0.0f), scattered).at(0), 1.13, 1e-6);
  const auto verdict = acceptance.check_variants(one(0.0f), scattered, 0, 0);
  EXPECT_FALSE(verdict.ok);
  EXPECT_NE(verdict.detail.find("output 'y'"), std::string::npos) << verdict.detail;
  EXPECT_NE(verdict.detail.find("1.13 of the tolerance"), std::string::npos) << verdict.detail;
  // Every implementation's own ratio stays within the bound (spread_safety >= 1).
  for (const auto& outputs : scattered) {
    EXPECT_LE(acceptance.tolerance_ratios(one(0.0f), outputs).at(0), acceptance.robust_ratios(one(0.0f), scattered).at(0));
  }
}

TEST(MixedAcceptance, TheFunctionMustAgreeToo) {
  onnx_fp16::MixedOptions options = tolerance(0.1, 0.1);
  int calls = 0;
  options.validate = [&](const std::vector<Tensor>& reference, const std::vector<Tensor>& candidate) {
    ++calls;
    return reference.size() == 1 && candidate.size() == 1 && candidate[0].data<float>()[0] < 1.05f;
  };
  const AcceptanceTest both(options, {"y"});
  EXPECT_TRUE(both.check(one(1.0f), one(1.04f), 0).ok);
  EXPECT_FALSE(both.check(one(1.0f), one(1.06f), 0).ok);  // within tolerance, refused by the function
  EXPECT_EQ(calls, 2);
  options.rtol.reset();
  options.atol.reset();
  const AcceptanceTest function_only(options, {"y"});
  EXPECT_TRUE(function_only.check(one(5.0f), one(1.0f), 0).ok);  // no tolerance applies
}

// The distance the error model and the search order measure: sqrt(sum (a-b)^2 / sum b^2) over
// the elements where both are finite, infinite where a overflowed and b did not. Summed in
// interleaved partial sums (acceptance.cc): the same value, to rounding, as one sum in long
// double, over lengths that end inside a lane and a chunk, and float16 operands as exact as
// their widened float32 values.
TEST(MixedAcceptance, RelativeL2DistanceOverFiniteElementsInAnyLength) {
  using onnx_fp16::mixed::relative_l2_distance;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (const std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{2049}, std::size_t{10007}}) {
    std::vector<float> a(n), b(n);
    for (std::size_t i = 0; i < n; ++i) {
      b[i] = normal(rng);
      a[i] = b[i] * (1.0f + 0.01f * normal(rng));
    }
    long double difference = 0, norm = 0;
    for (std::size_t i = 0; i < n; ++i) {
      difference += (static_cast<long double>(a[i]) - b[i]) * (static_cast<long double>(a[i]) - b[i]);
      norm += static_cast<long double>(b[i]) * b[i];
    }
    const double expected = static_cast<double>(std::sqrt(difference / norm));
    const Tensor ta = Tensor::from_vector<float>({static_cast<std::int64_t>(n)}, a);
    const Tensor tb = Tensor::from_vector<float>({static_cast<std::int64_t>(n)}, b);
    EXPECT_NEAR(relative_l2_distance(ta, tb), expected, 1e-12 * expected) << n;
    // Bit for bit the eight lanes' rule (element i in lane i % 8, each lane in element order,
    // every product rounded before it is added), whichever loop the CPU runs (mixed/l2_lanes.h).
    double difference_lanes[8] = {}, norm_lanes[8] = {};
    for (std::size_t i = 0; i < n; ++i) {
      const double x = a[i], y = b[i];
      const double squared_difference = (x - y) * (x - y), squared_norm = y * y;
      difference_lanes[i % 8] += squared_difference;
      norm_lanes[i % 8] += squared_norm;
    }
    double lane_difference = 0, lane_norm = 0;
    for (int lane = 0; lane < 8; ++lane) {
      lane_difference += difference_lanes[lane];
      lane_norm += norm_lanes[lane];
    }
    EXPECT_EQ(relative_l2_distance(ta, tb), std::sqrt(lane_difference / lane_norm)) << n;
    EXPECT_EQ(relative_l2_distance(tb, tb), 0.0) << n;
    // float16 a: the distance of its widened values, bit for bit.
    const Tensor half = onnx_fp16::runtime::cast_tensor(ta, onnx::TensorProto::FLOAT16);
    EXPECT_EQ(relative_l2_distance(half, tb), relative_l2_distance(onnx_fp16::runtime::cast_tensor(half, onnx::TensorProto::FLOAT), tb))
        << n;
  }
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto vec = [](std::vector<float> v) { return Tensor::from_vector<float>({static_cast<std::int64_t>(v.size())}, v); };
  // Where both overflowed alike, or b is NaN: left out; the rest as if the element were not there.
  const double without = relative_l2_distance(vec({1.0f, 2.5f, 3.0f}), vec({1.0f, 2.0f, 3.0f}));
  EXPECT_NEAR(relative_l2_distance(vec({1.0f, inf, 2.5f, 3.0f}), vec({1.0f, inf, 2.0f, 3.0f})), without, 1e-15);
  EXPECT_NEAR(relative_l2_distance(vec({1.0f, 2.5f, 7.0f, 3.0f}), vec({1.0f, 2.0f, nan, 3.0f})), without, 1e-15);
  // a overflowed where b did not: infinitely far, however many finite elements agree.
  std::vector<float> many(5000, 1.0f);
  std::vector<float> overflowed = many;
  overflowed[4321] = -inf;
  EXPECT_EQ(relative_l2_distance(vec(overflowed), vec(many)), std::numeric_limits<double>::infinity());
  overflowed[4321] = nan;
  EXPECT_EQ(relative_l2_distance(vec(overflowed), vec(many)), std::numeric_limits<double>::infinity());
  // b all zero, a not: infinitely far.
  EXPECT_EQ(relative_l2_distance(vec({0.5f, 0.0f}), vec({0.0f, 0.0f})), std::numeric_limits<double>::infinity());
}

}  // namespace
