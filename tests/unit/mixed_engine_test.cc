// The incremental engine simulates a conversion on the float32 model instead of converting it.
// These tests hold it to the real thing: for many sets of kept nodes, in the order a search
// visits them, its outputs must equal bit for bit those of the converted model run on the
// evaluator (the rebuild engine).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <utility>

#include "half/half.h"
#include "mixed/candidate_engine.h"
#include "mixed/conversion_analysis.h"
#include "mixed/grouped_engine.h"
#include "mixed/incremental_engine.h"
#include "mixed/inlined_branches.h"
#include "support/subgraph_models.h"
#include "mixed/nudge.h"
#include "mixed/search_units.h"
#include "modelgen/builder.h"
#include "modelgen/example_model.h"
#include "modelgen/transformer_model.h"

namespace {

using onnx_fp16::Feeds;
using onnx_fp16::Tensor;
namespace mixed = onnx_fp16::mixed;
constexpr int F32 = onnx::TensorProto::FLOAT;

Tensor random_floats(const onnx_fp16::Shape& shape, std::mt19937& rng, float scale = 1.0f) {
  Tensor t = Tensor::uninitialized(onnx::TensorProto::FLOAT, shape);
  std::normal_distribution<float> normal(0.0f, scale);
  for (float& x : t.mutable_data<float>()) x = normal(rng);
  return t;
}

::testing::AssertionResult same_bits(const std::vector<std::vector<Tensor>>& a, const std::vector<std::vector<Tensor>>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sample counts differ";
  for (std::size_t s = 0; s < a.size(); ++s) {
    if (a[s].size() != b[s].size()) return ::testing::AssertionFailure() << "output counts differ";
    for (std::size_t i = 0; i < a[s].size(); ++i) {
      const Tensor& x = a[s][i];
      const Tensor& y = b[s][i];
      if (x.dtype() != y.dtype() || x.shape() != y.shape()) {
        return ::testing::AssertionFailure() << "sample " << s << " output " << i << ": type or shape differs";
      }
      const auto bx = x.bytes();
      const auto by = y.bytes();
      if (bx.size() != by.size() || (!bx.empty() && std::memcmp(bx.data(), by.data(), bx.size()) != 0)) {
        return ::testing::AssertionFailure() << "sample " << s << " output " << i << " differs";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// Drives both engines through a search-like sequence of kept sets: some accepted, some not.
// By If node: the branch named `attribute` of each If in the analysed model, at any depth.
mixed::InlinedBranches branches_named(const mixed::ConversionAnalysis& analysis, const std::string& attribute) {
  mixed::InlinedBranches branches;
  const auto& index = analysis.index();
  for (onnx_fp16::graph::NodeId n = 0; n < static_cast<onnx_fp16::graph::NodeId>(index.nodes().size()); ++n) {
    for (const auto s : index.node(n).subgraphs) {
      if (index.scope(s).attribute == attribute) branches[n] = s;
    }
  }
  return branches;
}

// Samples that run the flat model whose Ifs take the branch so named.
struct FlatSamples {
  std::string attribute;  // "then_branch" or "else_branch"
  std::vector<std::size_t> samples;
};

// `flat`: run the samples as those flat models (make_flat_engine: several make a GroupedEngine),
// checked against the rebuild engine's full conversions.
void expect_engines_agree(const onnx::ModelProto& model, const std::vector<Feeds>& samples, bool keep_io_types,
                          int steps, bool drops_values = true, const std::vector<FlatSamples>& flat = {}) {
  onnx_fp16::Float16Options options;
  options.keep_io_types = keep_io_types;
  mixed::ConversionAnalysis incremental_analysis(model, options);
  mixed::ConversionAnalysis rebuild_analysis(model, options);
  const mixed::SearchUnits units = mixed::find_search_units(incremental_analysis, true);
  ASSERT_GT(units.size(), 3u);
  std::vector<mixed::FlatModel> models;
  for (const FlatSamples& each : flat) models.push_back({branches_named(incremental_analysis, each.attribute), each.samples});
  ASSERT_EQ(mixed::incremental_engine_supports(incremental_analysis), models.empty());
  auto make_engine = [&](mixed::VariantOptions variants) {
    return models.empty() ? mixed::make_incremental_engine(incremental_analysis, samples, 1, variants)
                          : mixed::make_flat_engine(incremental_analysis, samples, 1, variants, models);
  };
  // With variants: the evaluator's own outputs (run()) must still be the converted model's.
  // Every value large: the variants keep only what is live across a checkpoint.
  auto incremental =
      make_engine({.count = 2, .spread = onnx_fp16::kDefaultVariantSpread, .keep_below_bytes = 0});
  auto rebuild = mixed::make_rebuild_engine(rebuild_analysis, samples, 1);

  std::mt19937 rng(7);
  std::vector<bool> accepted(units.size(), true);  // the search starts with everything kept
  for (int step = 0; step < steps; ++step) {
    std::vector<bool> kept = accepted;
    if (step > 0) {
      // Convert a random contiguous segment on top of the accepted state, as the search does,
      // and now and then a scattered set.
      const std::size_t begin = rng() % units.size();
      const std::size_t size = 1 + rng() % std::max<std::size_t>(1, units.size() / (1 + step % 4));
      for (std::size_t u = begin; u < std::min(units.size(), begin + size); ++u) kept[u] = false;
      if (step % 5 == 4) {
        for (std::size_t u = 0; u < units.size(); ++u) kept[u] = rng() % 2 == 0;
      }
    }
    const std::vector<bool> kept_nodes = units.kept_nodes(kept);
    if (step % 3 == 1) {
      // Another kept set refused after the first variant of the first sample, as the search's
      // checks refuse: that variant has run it, the other variant and the other samples have not.
      std::vector<bool> other = kept;
      const std::size_t flipped = rng() % units.size();
      other[flipped] = !other[flipped];
      incremental->run_checked(units.kept_nodes(other),
                               [](std::size_t, const mixed::VariantOutputs& outputs) { return outputs.size() < 2; });
    }
    const auto by_variant = incremental->run_variants(kept_nodes);
    ASSERT_EQ(by_variant.size(), 3u);
    const auto& simulated = by_variant.front();
    const auto converted = rebuild->run(kept_nodes);
    ASSERT_TRUE(same_bits(simulated, converted)) << "step " << step;
    // A variant keeps only the values of the last configuration it ran, refused or accepted:
    // its outputs must not depend on that history, only on the kept set (a fresh engine's).
    auto fresh = make_engine({.count = 2, .spread = onnx_fp16::kDefaultVariantSpread});
    const auto from_scratch = fresh->run_variants(kept_nodes);
    for (std::size_t v = 1; v < by_variant.size(); ++v) {
      ASSERT_TRUE(same_bits(by_variant[v], from_scratch[v])) << "step " << step << ", variant " << v;
    }
    if (step == 0 || rng() % 2 == 0) {
      incremental->accept_last();
      accepted = kept;
    }
  }
  // Partial runs must have skipped work: fewer node executions than full runs would take.
  const std::size_t full = incremental->stats().runs * incremental->stats().nodes_per_run;
  EXPECT_LT(incremental->stats().nodes_evaluated, full);
  // Every execution is counted against its node too (the report weighs them by FLOPs), the
  // values computed again for the variants included.
  std::size_t by_node = 0;
  for (const std::size_t executions : incremental->stats().executions_by_node) by_node += executions;
  EXPECT_EQ(by_node, incremental->stats().nodes_evaluated);
  // The variants keep only their checkpoints' values between runs: in a model with values
  // between checkpoints, the runs above needed some of the dropped ones again (and the
  // outputs, compared with fresh engines', stayed exact).
  if (drops_values) {
    EXPECT_GT(incremental->stats().nodes_recomputed, 0u);
  }
}

// x -> MatMul "product" (by w) -> Tanh "squash" -> Relu "last" -> y; with `long_chain`, a Neg
// "pre" before the product and 70 Tanh / Neg steps "t0" .. "t69" in place of "squash" (73
// steps: a checkpoint every 2), keeping the IO types, one sample. Nodes by name for the
// engine's execution counts.
struct ProductChain {
  onnx::ModelProto model = modelgen::make_model(17);
  std::vector<Feeds> samples;
  std::unique_ptr<mixed::ConversionAnalysis> analysis;
  mixed::SearchUnits units;

  // `wide`: in the long chain the product's output is 32 times wider (4 x 1024), and "t0" is a
  // MatMul back to 4 x 32: that one value is then half the chain's computed values.
  explicit ProductChain(bool long_chain, bool wide = false) {
    modelgen::GraphBuilder g(model.mutable_graph());
    g.input("x", F32, {4, 32}).output("y", F32, {4, 32});
    const std::int64_t width = wide ? 1024 : 32;
    g.initializer("w", {32, width}, std::vector<float>(static_cast<std::size_t>(32 * width), 0.03125f));
    if (wide) g.initializer("back", {width, 32}, std::vector<float>(static_cast<std::size_t>(width * 32), 1.0f / 1024));
    if (long_chain) g.node("Neg", {"x"}, {"a"}, "pre");
    g.node("MatMul", {long_chain ? "a" : "x", "w"}, {"m"}, "product");
    std::string previous = "m";
    if (wide) {
      g.node("MatMul", {"m", "back"}, {"t0"}, "t0");
      previous = "t0";
    }
    if (!long_chain) {
      g.node("Tanh", {previous}, {"t"}, "squash");
      previous = "t";
    }
    for (int i = wide ? 1 : 0; long_chain && i < 70; ++i) {
      std::string out = "t";
      out += std::to_string(i);
      g.node(i % 2 == 0 ? "Tanh" : "Neg", {previous}, {out}, out);
      previous = out;
    }
    g.node("Relu", {previous}, {"y"}, "last");
    std::mt19937 rng(11);
    samples = {{{"x", random_floats({4, 32}, rng)}}};
    onnx_fp16::Float16Options options;
    options.keep_io_types = true;
    analysis = std::make_unique<mixed::ConversionAnalysis>(model, options);
    units = mixed::find_search_units(*analysis, true);
  }

  std::size_t node(const std::string& name) const {
    for (const auto& proto : analysis->model().graph().node()) {
      if (proto.name() == name) return static_cast<std::size_t>(analysis->node_id(proto));
    }
    return 0;
  }
  // The kept nodes of a candidate that converts the units of the nodes named.
  std::vector<bool> converting(const std::vector<std::string>& names) const {
    std::vector<bool> kept(units.size(), true);
    for (std::size_t u = 0; u < units.size(); ++u) {
      const std::string& name = analysis->index().node(units.nodes[u]).proto->name();
      if (std::find(names.begin(), names.end(), name) != names.end()) kept[u] = false;
    }
    return units.kept_nodes(kept);
  }
};

bool pass_all(std::size_t, const mixed::VariantOutputs&) { return true; }

// The engine counts each node's executions: the float32 run executes every node once; a run
// that converts only the last node executes that node alone (nothing follows it), so a report
// that weighs executions by FLOPs sees a light node's run as light.
TEST(MixedIncrementalEngine, CountsEachNodesExecutions) {
  const ProductChain chain(false);
  auto engine = mixed::make_incremental_engine(*chain.analysis, chain.samples, 1, {.count = 0});
  ASSERT_TRUE(engine->run_float32({}).has_value());
  const auto executions = [&] { return engine->stats().executions_by_node; };
  EXPECT_EQ(executions().at(chain.node("product")), 1u);
  EXPECT_EQ(executions().at(chain.node("squash")), 1u);
  EXPECT_EQ(executions().at(chain.node("last")), 1u);
  const std::vector<bool> kept = chain.converting({"last"});
  ASSERT_EQ(std::count(kept.begin(), kept.end(), false), 1) << "'last' is a unit of its own";
  engine->run(kept);
  EXPECT_EQ(executions().at(chain.node("product")), 1u);
  EXPECT_EQ(executions().at(chain.node("squash")), 1u);
  EXPECT_EQ(executions().at(chain.node("last")), 2u);
}

// Until a candidate passes, the accepted state is the float32 model, whose values every
// simulated implementation shares: after a refused candidate that converted the first node, a
// candidate that converts only the last one runs the last node alone on every implementation
// (from its own values of the refused candidate, each variant would run the whole chain again).
TEST(MixedIncrementalEngine, VariantsRunFromTheFloat32StateUntilACandidatePasses) {
  const ProductChain chain(false);
  const mixed::VariantOptions variants{.count = 2, .spread = onnx_fp16::kDefaultVariantSpread};
  auto engine = mixed::make_incremental_engine(*chain.analysis, chain.samples, 1, variants);
  ASSERT_TRUE(engine->run_float32({}).has_value());
  ASSERT_TRUE(engine->run_checked(chain.converting({"product"}), pass_all));  // run on all 3, never accepted
  const std::vector<std::size_t> before = engine->stats().executions_by_node;
  const auto last_by_variant = engine->run_variants(chain.converting({"last"}));
  const std::vector<std::size_t> after = engine->stats().executions_by_node;
  EXPECT_EQ(after.at(chain.node("product")), before.at(chain.node("product")));
  EXPECT_EQ(after.at(chain.node("squash")), before.at(chain.node("squash")));
  EXPECT_EQ(after.at(chain.node("last")), before.at(chain.node("last")) + 3);
  // The same values as an engine that never ran the refused candidate.
  auto fresh = mixed::make_incremental_engine(*chain.analysis, chain.samples, 1, variants);
  ASSERT_TRUE(fresh->run_float32({}).has_value());
  const auto expected = fresh->run_variants(chain.converting({"last"}));
  ASSERT_EQ(last_by_variant.size(), 3u);
  for (std::size_t v = 0; v < 3; ++v) EXPECT_TRUE(same_bits(last_by_variant[v], expected[v])) << "variant " << v;
}

// The product's executions over two runs of the long chain on 2 variants that keep only their
// checkpoints: converting "t0" (it reads the product's output, which lies between two
// checkpoints), then reverting it. Something rounded ("last") is accepted first, so the
// variants run from their own values.
std::pair<std::size_t, std::size_t> product_runs_converting_then_reverting_t0(const ProductChain& chain) {
  auto engine = mixed::make_incremental_engine(
      *chain.analysis, chain.samples, 1, {.count = 2, .spread = onnx_fp16::kDefaultVariantSpread, .keep_below_bytes = 0});
  EXPECT_TRUE(engine->run_float32({}).has_value());
  EXPECT_TRUE(engine->run_checked(chain.converting({"last"}), pass_all));
  engine->accept_last();
  const auto products = [&] { return engine->stats().executions_by_node.at(chain.node("product")); };
  const std::size_t before = products();
  engine->run_variants(chain.converting({"last", "t0"}));
  const std::size_t converting = products() - before;
  engine->run_variants(chain.converting({"last"}));
  return {converting, products() - before - converting};
}

// A variant keeps only its checkpoints' values between runs and computes a dropped one again
// when a run needs it; a contraction's output computed again is kept from then on, up to a
// quarter of a full state's computed values. So converting t0 computes the product's output
// again on both variants, and reverting t0 finds it kept; but the wide product's output is half
// of the state's values, so it is computed again each time.
TEST(MixedIncrementalEngine, VariantsKeepContractionOutputsTheyComputedAgainWithinAQuarterOfAState) {
  EXPECT_EQ(product_runs_converting_then_reverting_t0(ProductChain(true)), std::make_pair(std::size_t{2}, std::size_t{0}));
  EXPECT_EQ(product_runs_converting_then_reverting_t0(ProductChain(true, /*wide=*/true)),
            std::make_pair(std::size_t{2}, std::size_t{2}));
}

TEST(MixedIncrementalEngine, MatchesTheConvertedExampleModelBitForBit) {
  const onnx::ModelProto model = modelgen::example_model();
  std::mt19937 rng(1);
  const std::vector<Feeds> samples{{{"image", random_floats({2, 3, 32, 32}, rng)}},
                                   {{"image", random_floats({1, 3, 32, 32}, rng, 3.0f)}}};
  expect_engines_agree(model, samples, /*keep_io_types=*/false, 24);
  expect_engines_agree(model, samples, /*keep_io_types=*/true, 12);
}

TEST(MixedIncrementalEngine, MatchesTheConvertedTransformerBitForBit) {
  modelgen::TransformerSpec spec;
  spec.weight_bytes = 600'000;
  spec.max_positions = 16;
  const modelgen::TransformerShape shape = modelgen::plan_transformer(spec);
  const onnx::ModelProto model = modelgen::transformer_model(spec);
  std::vector<std::int64_t> ids(2 * 8);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>((i * 37) % shape.vocab_size);
  std::vector<std::int64_t> mask(2 * 8, 1);
  mask[7] = mask[6] = 0;  // padding in the first sequence
  const std::vector<Feeds> samples{{{"input_ids", Tensor::from_vector<std::int64_t>({2, 8}, ids)},
                                    {"attention_mask", Tensor::from_vector<std::int64_t>({2, 8}, mask)}}};
  expect_engines_agree(model, samples, /*keep_io_types=*/false, 20);
}

TEST(MixedIncrementalEngine, MatchesTheConvertedModelInsideAnIfBitForBit) {
  const onnx::ModelProto model = test_support::wrapped_in_if(modelgen::example_model());
  std::mt19937 rng(1);
  const std::vector<Feeds> samples{{{"image", random_floats({2, 3, 32, 32}, rng)}, {"flag", Tensor::scalar(true)}},
                                   {{"image", random_floats({1, 3, 32, 32}, rng, 3.0f)}, {"flag", Tensor::scalar(true)}}};
  expect_engines_agree(model, samples, /*keep_io_types=*/false, 24, true, {{"then_branch", {0, 1}}});
  expect_engines_agree(model, samples, /*keep_io_types=*/true, 12, true, {{"then_branch", {0, 1}}});
}

// Samples that take different branches run different flat models, one engine each, run as one
// (GroupedEngine): still the converted model bit for bit, sample by sample, in the caller's
// sample order (the first and third take the then branch, the second the else branch).
TEST(MixedIncrementalEngine, MatchesTheConvertedModelWhereSamplesTakeDifferentBranches) {
  const onnx::ModelProto model = test_support::wrapped_in_if(modelgen::example_model());
  std::mt19937 rng(2);
  const std::vector<Feeds> samples{{{"image", random_floats({2, 3, 32, 32}, rng)}, {"flag", Tensor::scalar(true)}},
                                   {{"image", random_floats({1, 3, 32, 32}, rng, 3.0f)}, {"flag", Tensor::scalar(false)}},
                                   {{"image", random_floats({1, 3, 32, 32}, rng, 0.5f)}, {"flag", Tensor::scalar(true)}}};
  const std::vector<FlatSamples> flat{{"then_branch", {0, 2}}, {"else_branch", {1}}};
  expect_engines_agree(model, samples, /*keep_io_types=*/false, 24, true, flat);
  expect_engines_agree(model, samples, /*keep_io_types=*/true, 12, true, flat);
}

// Constants the conversion clamps (an additive mask of -1e9, a tiny weight, a ConstantOfShape
// fill beyond float16's range) and inputs read by both float32 and float16 nodes.
TEST(MixedIncrementalEngine, MatchesTheConversionsClampingOfConstants) {
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2, 6}).output("y", F32, {2, 6}).output("z", F32, {2, 6});
  g.initializer("mask", {2, 6}, {0, 0, -1e9f, 0, 0, 0, 0, -1e9f, 0, 0, 0, 0});
  g.initializer("tiny", {6}, {1e-9f, 2e-8f, 3.0f, -1e-10f, 0.5f, 1e5f});
  g.initializer_i64("shape", {2}, {2, 6});
  auto& fill = g.node("ConstantOfShape", {"shape"}, {"fill"}, "fill");
  modelgen::attr_tensor(fill, "value", modelgen::float_tensor("", {1}, {-7e4f}));
  g.node("Add", {"x", "mask"}, {"masked"}, "add_mask");
  g.node("Softmax", {"masked"}, {"probs"}, "softmax");
  g.node("Mul", {"probs", "tiny"}, {"scaled"}, "scale");
  g.node("Max", {"scaled", "fill"}, {"floor"}, "floor");
  g.node("Add", {"floor", "x"}, {"y"}, "residual");
  g.node("Sub", {"x", "tiny"}, {"z"}, "shift");
  std::mt19937 rng(3);
  const std::vector<Feeds> samples{{{"x", random_floats({2, 6}, rng, 4.0f)}}};
  // A chain of six nodes: at most two values live anywhere, all kept.
  expect_engines_agree(model, samples, /*keep_io_types=*/false, 30, /*drops_values=*/false);
  expect_engines_agree(model, samples, /*keep_io_types=*/true, 30, /*drops_values=*/false);
}

}  // namespace

// The simulated implementations' nudge runs 8 elements at a time where the CPU has AVX-512 (F
// and DQ): it must give the one-at-a-time loop's bits, or a variant's values would depend on the
// machine. Sizes around the vector width and a chunk's, offsets past 2^32, in place too; and an
// element moves by its own index, whatever the chunk it is nudged in.
TEST(MixedIncrementalEngine, VariantsNudgeToTheSameBitsInVectorsAsOneByOne) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-70000.0f, 70000.0f);
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9},
                                 std::size_t{4099}}) {
    std::vector<float> in(size);
    for (float& x : in) x = value(rng);
    if (size > 3) in[3] = 0.0f;
    for (const std::uint64_t first : {std::uint64_t{0}, std::uint64_t{5}, (std::uint64_t{1} << 40) + 3}) {
      for (const float spread : {0x1.0p-13f, 0x1.0p-20f}) {
        const std::uint64_t seed = onnx_fp16::mixed::mix(size * 31 + first);
        std::vector<float> vectors(size), one_by_one(size);
        onnx_fp16::mixed::nudge_values(in, vectors, seed, first, spread);
        onnx_fp16::mixed::nudge_values_portable(in, one_by_one, seed, first, spread);
        ASSERT_EQ(std::memcmp(vectors.data(), one_by_one.data(), size * sizeof(float)), 0)
            << size << " values from " << first << ", spread " << spread;
        std::vector<float> in_place = in;
        onnx_fp16::mixed::nudge_values(in_place, in_place, seed, first, spread);
        EXPECT_EQ(std::memcmp(in_place.data(), one_by_one.data(), size * sizeof(float)), 0);
        std::size_t moved = 0;
        for (std::size_t i = 0; i < size; ++i) {
          EXPECT_LE(std::abs(one_by_one[i] - in[i]), (spread + 0x1.0p-22f) * std::abs(in[i])) << i;  // and roundings
          moved += one_by_one[i] != in[i];
        }
        if (size >= 8 && spread > 0x1.0p-14f) {
          EXPECT_GT(moved, size / 2);
        }
        if (size > 9) {  // the tail nudged on its own, from its own index
          std::vector<float> tail(size - 9);
          onnx_fp16::mixed::nudge_values(std::span<const float>(in).subspan(9), tail, seed, first + 9, spread);
          EXPECT_EQ(std::memcmp(tail.data(), one_by_one.data() + 9, tail.size() * sizeof(float)), 0);
        }
      }
    }
  }
}

namespace {

// x padded (moved only) and x * w (computed in float16), reshaped: the rebuild engine's run of
// its full conversion by implementation, on 4096 values (normal ones, or tiny ones that float16
// holds as subnormals).
struct ScaledValues {
  onnx::ModelProto model;
  std::vector<Feeds> samples;
  std::unique_ptr<mixed::ConversionAnalysis> analysis;

  explicit ScaledValues(float scale = 1.0f) : model(modelgen::make_model(17)) {
    modelgen::GraphBuilder g(model.mutable_graph());
    g.input("x", F32, {4096}).output("y", F32, {64, 64}).output("padded", F32, {4100});
    g.initializer("w", {}, {1.2345f}).initializer_i64("shape", {2}, {64, 64}).initializer_i64("pads", {2}, {2, 2});
    g.node("Mul", {"x", "w"}, {"scaled"}, "scale");
    g.node("Reshape", {"scaled", "shape"}, {"y"}, "square_up");
    g.node("Pad", {"x", "pads"}, {"padded"}, "pad");
    std::mt19937 rng(11);
    samples.push_back({{"x", random_floats({4096}, rng, scale)}});
    onnx_fp16::Float16Options options;
    options.keep_io_types = true;
    analysis = std::make_unique<mixed::ConversionAnalysis>(model, options);
  }

  std::vector<std::vector<std::vector<Tensor>>> run(mixed::CandidateEngine& engine) const {
    return engine.run_variants(std::vector<bool>(analysis->index().nodes().size(), false));
  }
};

// Per element of two float32 outputs holding float16 values: how many float16 steps apart.
std::vector<int> steps_apart(const Tensor& a, const Tensor& b) {
  std::vector<int> steps;
  const auto x = a.data<float>();
  const auto y = b.data<float>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto bits = [](float v) { return static_cast<int>(onnx_fp16::half::float_to_half(v) & 0x7FFF); };
    steps.push_back(std::abs(bits(x[i]) - bits(y[i])));
  }
  return steps;
}

// How often a nudge of up to `spread` of a value before rounding flips the rounding of the
// float16 values in `values`, on average: spread / 2 x |x| / ulp(x) each.
double nudge_flip_rate(const Tensor& values, double spread) {
  double sum = 0;
  for (const float v : values.data<float>()) {
    const int magnitude = onnx_fp16::half::float_to_half(v) & 0x7FFF;
    const int places = magnitude < 0x400 ? magnitude : (magnitude & 0x3FF) | 0x400;
    sum += std::min(1.0, spread / 2 * places);
  }
  return sum / static_cast<double>(values.size());
}

}  // namespace

// The rebuild engine's simulated implementations move what a node computes in float16 by one
// step as often as a nudge of up to `spread` before rounding would flip its rounding (about
// spread x 2^9.5 of normal values), each its own elements, the same ones on every run, and the
// holdout's others; a Reshape or a Pad moves nothing again, nor does the Cast of the sample data.
TEST(MixedRebuildEngine, VariantsMoveComputedRoundingsOneStepAtTheNudgesRate) {
  const ScaledValues scaled;
  const double spread = 0x1.0p-13;
  auto engine = mixed::make_rebuild_engine(*scaled.analysis, scaled.samples, 1, 2, spread);
  ASSERT_EQ(engine->variant_count(), 3u);
  const auto first = scaled.run(*engine);
  const auto again = scaled.run(*engine);
  ASSERT_EQ(first.size(), 3u);
  std::vector<std::vector<int>> moved;
  for (std::size_t v = 0; v < 3; ++v) {
    EXPECT_TRUE(same_bits(first[v], again[v])) << "variant " << v;
    moved.push_back(steps_apart(first[0][0][0], first[v][0][0]));
    const auto padded = steps_apart(first[0][0][1], first[v][0][1]);
    EXPECT_EQ(std::count(padded.begin(), padded.end(), 0), 4100) << "variant " << v << ": the Pad rounds nothing";
  }
  EXPECT_EQ(std::count(moved[0].begin(), moved[0].end(), 0), 4096);
  const double rate = nudge_flip_rate(first[0][0][0], spread);
  EXPECT_NEAR(rate, spread * 724.077, 0.02);  // 0.088: values about evenly spread in their binades
  for (std::size_t v = 1; v < 3; ++v) {
    EXPECT_EQ(*std::max_element(moved[v].begin(), moved[v].end()), 1) << "variant " << v;
    const double share = static_cast<double>(std::count(moved[v].begin(), moved[v].end(), 1)) / 4096;
    EXPECT_NEAR(share, rate, 0.015) << "variant " << v;
  }
  EXPECT_NE(moved[1], moved[2]);
  const auto holdout = engine->holdout_outputs(std::vector<bool>(scaled.analysis->index().nodes().size(), false), 1, 0);
  ASSERT_EQ(holdout.size(), 1u);
  const std::vector<int> held = steps_apart(first[0][0][0], holdout[0][0][0]);
  EXPECT_NE(held, moved[1]);
  EXPECT_NE(held, moved[2]);
  // Without a spread there are no variants.
  EXPECT_EQ(mixed::make_rebuild_engine(*scaled.analysis, scaled.samples, 1, 2, 0)->variant_count(), 1u);
}

// A subnormal float16 value's rounding step is large beside it: a nudge of a few float32 ulps
// almost never flips it, so the simulated implementations almost never move it either.
TEST(MixedRebuildEngine, VariantsRarelyMoveSubnormals) {
  const ScaledValues tiny(1e-6f);
  const double spread = 0x1.0p-13;
  auto engine = mixed::make_rebuild_engine(*tiny.analysis, tiny.samples, 1, 1, spread);
  const auto outputs = tiny.run(*engine);
  ASSERT_EQ(outputs.size(), 2u);
  const Tensor& values = outputs[0][0][0];
  for (const float v : values.data<float>()) ASSERT_LT(std::abs(v), 0x1.0p-14f) << "not all subnormal";
  const auto moved = steps_apart(values, outputs[1][0][0]);
  const double share = static_cast<double>(std::count(moved.begin(), moved.end(), 1)) / 4096;
  const double rate = nudge_flip_rate(values, spread);
  EXPECT_LT(rate, 0.003);
  EXPECT_NEAR(share, rate, 0.002);
  EXPECT_LT(share, spread * 724.077 / 20) << "moved at a normal value's rate";
}

// The incremental engine's variants nudge the cast of a float32 value some node computed (another
// implementation computes it a few ulps away), but not of sample data, weights or a Constant
// node's value, nor of what nodes that compute nothing make of them: a Transpose of the input or
// of a Constant, or a Gather from a table, kept in float32 and read in float16 through a cast,
// is the same in every implementation.
TEST(MixedIncrementalEngine, VariantsNudgeTheCastsOfComputedValuesOnly) {
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {64, 64}).input("ids", onnx::TensorProto::INT64, {64});
  g.output("moved", F32, {64, 64}).output("gathered", F32, {64, 64}).output("computed", F32, {64, 64});
  g.output("constant", F32, {64, 64}).output("constant16", F32, {64, 64});
  std::mt19937 rng(12);
  const Tensor table = random_floats({64, 64}, rng);
  const std::vector<float> fixed(table.data<float>().rbegin(), table.data<float>().rend());
  modelgen::attr_tensor(g.node("Constant", {}, {"fixed"}, "fixed"), "value", modelgen::float_tensor("", {64, 64}, fixed));
  modelgen::attr_tensor(g.node("Constant", {}, {"fixed16"}, "fixed16"), "value", modelgen::float_tensor("", {64, 64}, fixed));
  g.node("Transpose", {"fixed"}, {"fixed_t"}, "transpose_fixed");
  g.node("Relu", {"fixed_t"}, {"constant"}, "relu_constant");
  g.node("Transpose", {"fixed16"}, {"fixed16_t"}, "transpose_fixed16");
  g.node("Relu", {"fixed16_t"}, {"constant16"}, "relu_constant16");
  g.initializer("table", {64, 64}, std::vector<float>(table.data<float>().begin(), table.data<float>().end()));
  g.initializer("w", {}, {1.2345f});
  g.node("Transpose", {"x"}, {"xt"}, "transpose");
  g.node("Relu", {"xt"}, {"moved"}, "relu_moved");
  g.node("Gather", {"table", "ids"}, {"rows"}, "gather");
  g.node("Relu", {"rows"}, {"gathered"}, "relu_gathered");
  g.node("Mul", {"x", "w"}, {"scaled"}, "scale");
  g.node("Relu", {"scaled"}, {"computed"}, "relu_computed");
  std::vector<std::int64_t> ids(64);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>((i * 7) % 64);
  const std::vector<Feeds> samples{{{"x", random_floats({64, 64}, rng)}, {"ids", Tensor::from_vector<std::int64_t>({64}, ids)}}};
  onnx_fp16::Float16Options options;
  options.keep_io_types = true;
  const mixed::ConversionAnalysis analysis(model, options);
  // The producers stay float32 and the Relus read them in float16; but one Transpose is float16
  // too, reading its Constant through a cast.
  std::vector<bool> kept(analysis.index().nodes().size(), false);
  for (const auto& proto : analysis.model().graph().node()) {
    if (proto.op_type() != "Relu" && proto.name() != "transpose_fixed16") {
      kept[static_cast<std::size_t>(analysis.node_id(proto))] = true;
    }
  }
  auto engine = mixed::make_incremental_engine(analysis, samples, 1, {.count = 2, .spread = 0x1.0p-13});
  ASSERT_TRUE(engine->run_float32({}).has_value());
  const auto outputs = engine->run_variants(kept);
  ASSERT_EQ(outputs.size(), 3u);
  for (std::size_t v = 1; v < 3; ++v) {
    const auto moved = steps_apart(outputs[0][0][0], outputs[v][0][0]);
    const auto gathered = steps_apart(outputs[0][0][1], outputs[v][0][1]);
    const auto computed = steps_apart(outputs[0][0][2], outputs[v][0][2]);
    EXPECT_EQ(std::count(moved.begin(), moved.end(), 0), 4096) << "variant " << v << ": the transposed input";
    EXPECT_EQ(std::count(gathered.begin(), gathered.end(), 0), 4096) << "variant " << v << ": the gathered rows";
    EXPECT_GT(std::count(computed.begin(), computed.end(), 1), 40) << "variant " << v << ": the product";  // ~2.2% of its ~2048 positives
    for (const std::size_t o : {3, 4}) {
      const auto constant = steps_apart(outputs[0][0][o], outputs[v][0][o]);
      EXPECT_EQ(std::count(constant.begin(), constant.end(), 0), 4096) << "variant " << v << ": the Constant, output " << o;
    }
  }
}

// An empty float16 value passes through a variant as it is (the fuzzer's finding: the copy of
// its absent storage was undefined behaviour).
TEST(MixedRebuildEngine, VariantsPassEmptyValuesThrough) {
  auto model = modelgen::make_model(17);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {-1}).output("y", F32, {-1});
  g.initializer("w", {}, {1.5f});
  g.node("Mul", {"x", "w"}, {"y"}, "scale");
  onnx_fp16::Float16Options options;
  options.keep_io_types = true;
  const mixed::ConversionAnalysis analysis(model, options);
  const std::vector<Feeds> samples{{{"x", Tensor::from_vector<float>({0}, {})}}};
  auto engine = mixed::make_rebuild_engine(analysis, samples, 1, 2, 0x1.0p-13);
  const auto outputs = engine->run_variants(std::vector<bool>(analysis.index().nodes().size(), false));
  ASSERT_EQ(outputs.size(), 3u);
  for (const auto& by_sample : outputs) EXPECT_EQ(by_sample.at(0).at(0).size(), 0u);
}
