// Samples that run different flat models, searched on one engine: an If that some samples take
// one way and others the other (Silero VAD at 16 and 8 kHz, a merged decoder fed prefill and
// decode steps) makes one flat model per branch pattern (inlined_branches.h). Each pattern's
// samples run on an incremental engine of their own; the GroupedEngine runs them as one, so the
// search judges a candidate on every sample as it would on one engine. Before, such a model ran
// whole on the rebuild engine for every attempt (BERT-base in an If, one sample: 134 s).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "mixed/candidate_engine.h"
#include "mixed/conversion_analysis.h"
#include "mixed/incremental_engine.h"
#include "mixed/inlined_branches.h"

namespace onnx_fp16::mixed {

// The model the samples run as flat models, on incremental engines: one engine where every
// sample takes the same branches, else one per flat model in a GroupedEngine, which share the
// weights (each read once). `models` as make_reference finds them (FlatModel: each pattern with
// its samples, the first sample's first). `analysis` must outlive the engine; the samples are
// copied.
std::unique_ptr<CandidateEngine> make_flat_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                  int threads, VariantOptions variants,
                                                  const std::vector<FlatModel>& models);

// Engines that each run some of the samples, as one engine over all of them.
class GroupedEngine final : public CandidateEngine {
 public:
  struct Group {
    std::vector<std::size_t> samples;         // ascending: the caller's sample numbers, in the engine's order
    std::unique_ptr<CandidateEngine> engine;  // runs exactly those samples
    std::vector<bool> runs_node;              // by NodeId: the nodes its model runs (empty: every node)
  };
  // The group holding sample 0 first; every sample in exactly one group; engines of the same
  // kind and variant count.
  explicit GroupedEngine(std::vector<Group> groups);

  std::size_t variant_count() const override { return groups_.front().engine->variant_count(); }
  // Group after group, first those whose models run a node `kept_nodes` sets otherwise than the
  // accepted state (in group order): a refusal shows there first, and a check that looks at the
  // first sample it is given alone (the order's measurement of a unit) sees a sample that runs
  // the change. A refusal in one group leaves the later groups unrun (their state is the last
  // accepted one, and a refused run is never accepted).
  bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) override;
  void accept_last() override;
  std::optional<Float32Run> run_float32(const std::vector<std::string>& values) override;
  // For a node the first sample does not run, the first group's that runs it (measured on that
  // group's first sample).
  std::optional<std::vector<double>> local_errors(const std::vector<bool>& nodes) override;
  // The group that ran first in the last run.
  std::optional<double> distance_in_last_run(graph::NodeId node) const override;
  // The first group that runs the first of `nodes`.
  std::optional<std::vector<double>> distances_up_to(const std::vector<bool>& kept_nodes,
                                                     const std::vector<graph::NodeId>& nodes) override;
  std::vector<SampleOutputs> holdout_outputs(const std::vector<bool>& kept_nodes, int count, int round,
                                             int first = 0) override;
  bool add_variants(int count) override;
  CandidateEngineKind kind() const override { return groups_.front().engine->kind(); }

 private:
  // stats_ as the sum of the groups' (a full run: the mean over the samples of their groups').
  void tally();
  bool runs(const Group& group, graph::NodeId node) const {
    return group.runs_node.empty() || (node >= 0 && static_cast<std::size_t>(node) < group.runs_node.size() &&
                                       group.runs_node[static_cast<std::size_t>(node)]);
  }

  std::vector<Group> groups_;
  std::size_t sample_count_ = 0;
  std::vector<bool> accepted_;   // the kept nodes of the accepted state (empty: not known)
  std::vector<bool> last_kept_;  // of the last run
  std::size_t last_first_ = 0;   // the group that ran first in the last run
};

}  // namespace onnx_fp16::mixed
