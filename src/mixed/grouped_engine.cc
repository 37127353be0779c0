#include "mixed/grouped_engine.h"

#include <onnx_fp16/error.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace onnx_fp16::mixed {

std::unique_ptr<CandidateEngine> make_flat_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                  int threads, VariantOptions variants,
                                                  const std::vector<FlatModel>& models) {
  if (models.empty()) throw Error("internal: no flat model to run");
  if (models.size() == 1) return make_incremental_engine(analysis, samples, threads, variants, models.front().inlined);
  std::vector<GroupedEngine::Group> groups;
  runtime::LoadedInitializers weights;  // read by the first engine that reads them, shared by the others
  for (const FlatModel& model : models) {
    std::vector<Feeds> own;
    for (const std::size_t s : model.samples) own.push_back(samples.at(s));
    std::vector<bool> runs_node(analysis.index().nodes().size(), false);
    for (const graph::NodeId n : flat_nodes(analysis.index(), model.inlined)) runs_node[static_cast<std::size_t>(n)] = true;
    groups.push_back({model.samples, make_incremental_engine(analysis, own, threads, variants, model.inlined, &weights),
                      std::move(runs_node)});
  }
  return std::make_unique<GroupedEngine>(std::move(groups));
}

GroupedEngine::GroupedEngine(std::vector<Group> groups) : groups_(std::move(groups)) {
  if (groups_.empty()) throw Error("internal: a grouped engine without groups");
  std::vector<int> seen;
  for (const Group& group : groups_) {
    if (!group.engine || group.samples.empty() || !std::is_sorted(group.samples.begin(), group.samples.end()) ||
        group.engine->variant_count() != groups_.front().engine->variant_count()) {
      throw Error("internal: a grouped engine's group is malformed");
    }
    for (const std::size_t s : group.samples) {
      if (s >= seen.size()) seen.resize(s + 1, 0);
      ++seen[s];
    }
  }
  if (groups_.front().samples.front() != 0 || std::any_of(seen.begin(), seen.end(), [](int n) { return n != 1; })) {
    throw Error("internal: a grouped engine's groups must hold every sample once, the first sample's first");
  }
  sample_count_ = seen.size();
  tally();
}

bool GroupedEngine::run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) {
  std::vector<std::size_t> changed, unchanged;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    bool differs = accepted_.size() != kept_nodes.size();
    for (std::size_t n = 0; n < kept_nodes.size() && !differs; ++n) {
      differs = kept_nodes[n] != accepted_[n] && runs(groups_[g], static_cast<graph::NodeId>(n));
    }
    (differs ? changed : unchanged).push_back(g);
  }
  changed.insert(changed.end(), unchanged.begin(), unchanged.end());
  last_first_ = changed.front();
  last_kept_ = kept_nodes;
  bool passed = true;
  for (const std::size_t g : changed) {
    Group& group = groups_[g];
    passed = group.engine->run_checked(
        kept_nodes, [&](std::size_t s, const VariantOutputs& outputs) { return check(group.samples.at(s), outputs); });
    if (!passed) break;
  }
  tally();
  return passed;
}

void GroupedEngine::accept_last() {
  for (Group& group : groups_) group.engine->accept_last();
  accepted_ = last_kept_;
}

std::optional<Float32Run> GroupedEngine::run_float32(const std::vector<std::string>& values) {
  Float32Run merged;
  merged.outputs.resize(sample_count_);
  merged.values.resize(sample_count_);
  merged.screen_values.resize(sample_count_);
  bool complete = true;
  accepted_.clear();  // the float32 model's state: not a kept set of the caller's
  for (Group& group : groups_) {
    std::optional<Float32Run> run = group.engine->run_float32(values);
    if (!run) {
      complete = false;
      continue;  // the others still run theirs: their states become the accepted ones
    }
    for (std::size_t i = 0; i < group.samples.size(); ++i) {
      const std::size_t s = group.samples[i];
      if (i < run->outputs.size()) merged.outputs[s] = std::move(run->outputs[i]);
      if (i < run->values.size()) merged.values[s] = std::move(run->values[i]);
      if (i < run->screen_values.size()) merged.screen_values[s] = std::move(run->screen_values[i]);
    }
    for (const auto& [name, range] : run->screen_constant_ranges) {
      double& largest = merged.screen_constant_ranges[name];
      largest = std::max(largest, range);
    }
  }
  tally();
  if (!complete) return std::nullopt;
  return merged;
}

std::optional<std::vector<double>> GroupedEngine::local_errors(const std::vector<bool>& nodes) {
  std::optional<std::vector<double>> merged;
  for (Group& group : groups_) {
    std::optional<std::vector<double>> errors = group.engine->local_errors(nodes);
    if (!errors) continue;
    if (!merged) {
      merged = std::move(errors);
      continue;
    }
    for (std::size_t n = 0; n < merged->size() && n < errors->size(); ++n) {
      if ((*merged)[n] < 0) (*merged)[n] = (*errors)[n];
    }
  }
  tally();
  return merged;
}

std::optional<double> GroupedEngine::distance_in_last_run(graph::NodeId node) const {
  return groups_.at(last_first_).engine->distance_in_last_run(node);
}

std::optional<std::vector<double>> GroupedEngine::distances_up_to(const std::vector<bool>& kept_nodes,
                                                                  const std::vector<graph::NodeId>& nodes) {
  Group* chosen = &groups_.front();
  if (!nodes.empty()) {
    const auto running = std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return runs(g, nodes.front()); });
    if (running != groups_.end()) chosen = &*running;
  }
  auto distances = chosen->engine->distances_up_to(kept_nodes, nodes);
  tally();
  return distances;
}

std::vector<SampleOutputs> GroupedEngine::holdout_outputs(const std::vector<bool>& kept_nodes, int count, int round,
                                                          int first) {
  std::vector<SampleOutputs> merged;
  for (Group& group : groups_) {
    std::vector<SampleOutputs> outputs = group.engine->holdout_outputs(kept_nodes, count, round, first);
    if (outputs.empty()) return {};  // no simulated implementations (every group alike)
    merged.resize(outputs.size(), SampleOutputs(sample_count_));
    for (std::size_t h = 0; h < outputs.size() && h < merged.size(); ++h) {
      for (std::size_t i = 0; i < group.samples.size() && i < outputs[h].size(); ++i) {
        merged[h][group.samples[i]] = std::move(outputs[h][i]);
      }
    }
  }
  tally();
  return merged;
}

bool GroupedEngine::add_variants(int count) {
  bool added = true;
  for (Group& group : groups_) added = group.engine->add_variants(count) && added;
  return added;
}

void GroupedEngine::tally() {
  EngineStats sum;
  double steps = 0;  // of one full run of every sample
  for (const Group& group : groups_) {
    const EngineStats& stats = group.engine->stats();
    sum.runs += stats.runs;
    sum.nodes_evaluated += stats.nodes_evaluated;
    sum.nodes_recomputed += stats.nodes_recomputed;
    if (sum.executions_by_node.size() < stats.executions_by_node.size()) {
      sum.executions_by_node.resize(stats.executions_by_node.size(), 0);
    }
    for (std::size_t n = 0; n < stats.executions_by_node.size(); ++n) sum.executions_by_node[n] += stats.executions_by_node[n];
    steps += static_cast<double>(stats.nodes_per_run) * static_cast<double>(group.samples.size());
  }
  sum.nodes_per_run = static_cast<std::size_t>(std::llround(steps / static_cast<double>(sample_count_)));
  stats_ = std::move(sum);
}

}  // namespace onnx_fp16::mixed
