// How the search gets a candidate's outputs. Three engines behind one interface:
// - rebuild: converts the model and runs it in full on the evaluator (the original's way);
// - incremental: simulates the conversion on the float32 model loaded once and re-evaluates only
//   the nodes an attempt's change can affect (incremental_engine.h); it also simulates other
//   faithful float16 implementations ("variants", for robust acceptance);
// - runner: converts the model and hands it to the caller's runner (a deployment runtime).
#pragma once

#include <onnx_fp16/mixed.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mixed/conversion_analysis.h"

namespace onnx_fp16::mixed {

// Outputs in graph output order, by sample.
using SampleOutputs = std::vector<std::vector<Tensor>>;

// The float32 model's outputs per sample (graph output order) and, by name, the values asked for:
// `values` as the float32 model computes them, `screen_values` as the converted model would
// before rounding (its float constants clamped to max_finite_val / min_positive_val, which is
// what the range screen must judge); an engine that cannot clamp gives the float32 values.
struct Float32Run {
  SampleOutputs outputs;
  std::vector<std::map<std::string, Tensor>> values;
  std::vector<std::map<std::string, Tensor>> screen_values;
  // Of the screen values, constants whose largest finite |x| the run measured already (for the
  // clamp), by name: measure_ranges need not scan them again. Empty: none.
  std::map<std::string, double> screen_constant_ranges;
};

struct EngineStats {
  int runs = 0;                     // model runs on one sample, full or partial, variants included
  std::size_t nodes_evaluated = 0;  // node executions (a full run executes every node)
  // The node executions of one full run on one sample, in the engine's own count: the float32
  // model's nodes (rebuild and runner engines: every run of theirs counts as one full run), or
  // the incremental engine's steps (for the flat model of a sample's If branches, those of the
  // branches taken, not of both).
  std::size_t nodes_per_run = 0;
  std::size_t nodes_recomputed = 0;  // of those, executions that computed again a value a simulated
                                     // implementation had dropped between runs (incremental engine)
  // By NodeId: how many times each node ran (incremental engine; empty from an engine whose
  // runs are all full runs). Weighed by the nodes' FLOPs it says how much of the arithmetic the
  // runs repeated: node counts alone undercount runs that re-run the products (MixedReport::
  // flop_run_equivalents).
  std::vector<std::size_t> executions_by_node;

  // nodes_evaluated in full runs (MixedReport::full_run_equivalents).
  double full_runs() const {
    return nodes_per_run == 0 ? 0 : static_cast<double>(nodes_evaluated) / static_cast<double>(nodes_per_run);
  }
};

// Judges one sample: its outputs (graph output order) by implementation variant, [0] the
// evaluator's own float16. An engine with variants calls it once per variant and sample, each
// time with one more variant's outputs: first the evaluator's alone, last all of them; every
// variant but the newest was in an earlier call. false stops the run there, sparing the
// variants not yet run (the implementation spread of fewer variants is a lower bound of the
// spread of all, so a refusal on fewer is final). The samples may come in another order than
// the caller's (GroupedEngine runs the samples of one flat model after another, first those
// whose model the change reaches).
using VariantOutputs = std::vector<std::vector<Tensor>>;
using SampleCheck = std::function<bool(std::size_t sample, const VariantOutputs& outputs)>;

class CandidateEngine {
 public:
  virtual ~CandidateEngine() = default;

  // How many float16 implementations a candidate is run under (1: the evaluator's alone).
  virtual std::size_t variant_count() const { return 1; }
  // Runs the model with the nodes where kept_nodes[NodeId] is true left in float32, sample by
  // sample, each sample's outputs handed to `check` as soon as they are ready; stops at the
  // first refusal (a failing attempt costs only the runs up to it). Returns whether every
  // sample passed. Only a run whose checks all passed may be accepted.
  virtual bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) = 0;
  // The same run without a check: outputs by variant, by sample (an engine may run the samples
  // in another order: GroupedEngine).
  std::vector<SampleOutputs> run_variants(const std::vector<bool>& kept_nodes) {
    std::vector<SampleOutputs> outputs(variant_count());
    run_checked(kept_nodes, [&](std::size_t s, const VariantOutputs& by_variant) {
      if (by_variant.size() == outputs.size()) {
        for (std::size_t v = 0; v < outputs.size(); ++v) {
          if (outputs[v].size() <= s) outputs[v].resize(s + 1);
          outputs[v][s] = by_variant[v];
        }
      }
      return true;
    });
    return outputs;
  }
  // The evaluator's own outputs (variant 0), by sample.
  SampleOutputs run(const std::vector<bool>& kept_nodes) { return std::move(run_variants(kept_nodes).front()); }
  // The last run's state becomes the one later runs are computed from (after a passed attempt).
  virtual void accept_last() {}
  // The float32 model run by the engine itself, when it can (nullopt: it cannot; use an
  // Evaluator). Its state becomes the accepted one, so the next run computes only what differs.
  virtual std::optional<Float32Run> run_float32(const std::vector<std::string>& /*values*/) { return std::nullopt; }
  // By NodeId, for the `nodes` asked for (by NodeId) that the full conversion turns to float16:
  // the relative RMS error that converting the node alone adds to its outputs (its inputs rounded
  // as the conversion rounds them, its outputs rounded), on the first sample, from the accepted
  // state (right after run_float32, the float32 model's; after the endpoints' run, the same but
  // for what no node decides); 0 for a node asked for that the conversion keeps, -1 for one not
  // asked for. A measurement of the node alone gives the same figure at no extra cost
  // (distance_in_last_run, distances_up_to at the node itself): search_order.cc asks here only for
  // what it did not measure. nullopt: the engine cannot tell.
  virtual std::optional<std::vector<double>> local_errors(const std::vector<bool>& /*nodes*/) { return std::nullopt; }
  // How far a change reaches a cut point (search_order.cc): the largest relative L2 distance,
  // over the node's float outputs, between a run's value and the accepted state's, on the first
  // sample, the evaluator's own float16. `distance_in_last_run`: in the last run (which must have
  // computed the node; nullopt otherwise). `distances_up_to`: at each of `nodes` (in step order),
  // running `kept_nodes` only up to the last of them (the nodes after it are not evaluated; the
  // last run is unchanged). nullopt: the engine cannot tell.
  virtual std::optional<double> distance_in_last_run(graph::NodeId /*node*/) const { return std::nullopt; }
  virtual std::optional<std::vector<double>> distances_up_to(const std::vector<bool>& /*kept_nodes*/,
                                                             const std::vector<graph::NodeId>& /*nodes*/) {
    return std::nullopt;
  }
  // Outputs by holdout implementation, by sample, of the model with `kept_nodes` in float32,
  // under implementations [first, first + count) (at most 64 in all) of simulated ones none of
  // the search's runs used, another set for each `round` (computed from scratch, nothing kept).
  // Empty: the engine simulates none.
  virtual std::vector<SampleOutputs> holdout_outputs(const std::vector<bool>& /*kept_nodes*/, int /*count*/,
                                                     int /*round*/, int /*first*/ = 0) {
    return {};
  }
  // The variant number of holdout implementation `index` of `round`: far beyond any the search or
  // a re-check with --variants uses (at most 16), so its pattern is one no accepted candidate was
  // selected on; the same numbering in every engine.
  static std::uint64_t holdout_variant(int round, int index) {
    return (std::uint64_t{1} << 20) + static_cast<std::uint64_t>(kMaxHoldoutVariants) * static_cast<std::uint64_t>(round) +
           static_cast<std::uint64_t>(index);
  }
  // Adds `count` simulated implementations after the present ones (the search made again checks
  // its candidates on old and new alike); their values are computed from scratch by the next
  // run. False, changing nothing: the engine simulates none.
  virtual bool add_variants(int /*count*/) { return false; }
  virtual CandidateEngineKind kind() const = 0;
  const EngineStats& stats() const { return stats_; }

 protected:
  EngineStats stats_;
};

// Nodes of a graph and its subgraphs: the work of one full run.
std::size_t count_nodes(const onnx::GraphProto& graph);

// Whether the numbers in `node`'s outputs come from some arithmetic, so that another faithful
// float16 implementation may hold them a few ulps away, given whether each of its inputs' do
// (`input_computed(i)`, never asked of an index port): a Constant's are data; a node that moves,
// selects or exactly maps values (types::only_moves_values) or casts them (a rounding every
// implementation makes alike), and has no subgraphs (their bodies may compute), computes only
// where one of its inputs was computed; every other node computes. Sample data and weights, and
// what such nodes make of them alone, are the same everywhere, so the simulated implementations
// (both engines' variants) leave their roundings as the evaluator makes them. The one home of
// this rule: each engine walks its own graph with it.
bool computes_values(const onnx::NodeProto& node, const std::function<bool(std::size_t input)>& input_computed);

// `variants` simulated float16 implementations besides the evaluator (none without a `spread`):
// FlippedRoundings in rebuild_engine.cc.
std::unique_ptr<CandidateEngine> make_rebuild_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                     int threads, int variants = 0, double spread = 0);
std::unique_ptr<CandidateEngine> make_runner_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                    CandidateRunner runner);

}  // namespace onnx_fp16::mixed
