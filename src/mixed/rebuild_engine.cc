// The rebuild and runner engines: every attempt converts a fresh copy of the model and runs it
// whole. Simple and exact; the incremental engine is measured against them.
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>

#include "mixed/candidate_engine.h"
#include "mixed/candidate_model.h"

namespace onnx_fp16::mixed {

std::size_t count_nodes(const onnx::GraphProto& graph) {
  std::size_t count = 0;
  for (const auto& node : graph.node()) {
    ++count;
    for (const auto& a : node.attribute()) {
      if (a.has_g()) count += count_nodes(a.g());
      for (const auto& g : a.graphs()) count += count_nodes(g);
    }
  }
  return count;
}

namespace {

class RebuildEngine final : public CandidateEngine {
 public:
  RebuildEngine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples, int threads)
      : analysis_(analysis), samples_(samples), threads_(threads), nodes_per_run_(count_nodes(analysis.model().graph())) {}

  bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) override {
    const onnx::ModelProto model = convert_with_kept(analysis_, kept_nodes);
    const auto evaluator = make_evaluator(analysis_, model, {.threads = threads_, .keep = {}});
    for (std::size_t s = 0; s < samples_.size(); ++s) {
      const std::vector<Tensor> outputs = run_sample(*evaluator, model, samples_[s]);
      ++stats_.runs;
      stats_.nodes_evaluated += nodes_per_run_;
      if (!check(s, {outputs})) return false;
    }
    return true;
  }
  CandidateEngineKind kind() const override { return CandidateEngineKind::Rebuild; }

 private:
  const ConversionAnalysis& analysis_;
  const std::vector<Feeds>& samples_;
  int threads_;
  std::size_t nodes_per_run_;  // of the float32 model: a full run counts as one
};

class RunnerEngine final : public CandidateEngine {
 public:
  RunnerEngine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples, CandidateRunner runner)
      : analysis_(analysis), samples_(samples), runner_(std::move(runner)),
        nodes_per_run_(count_nodes(analysis.model().graph())) {}

  bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) override {
    const onnx::ModelProto model = convert_with_kept(analysis_, kept_nodes);
    std::vector<Feeds> feeds;
    for (const Feeds& sample : samples_) feeds.push_back(adapt_feeds(model, sample));
    auto outputs = runner_(model, feeds);
    if (outputs.size() != samples_.size()) {
      throw Error("the runner returned outputs for " + std::to_string(outputs.size()) + " samples, expected " +
                  std::to_string(samples_.size()));
    }
    stats_.runs += static_cast<int>(samples_.size());
    stats_.nodes_evaluated += samples_.size() * nodes_per_run_;
    for (std::size_t s = 0; s < outputs.size(); ++s) {
      if (!check(s, {outputs[s]})) return false;
    }
    return true;
  }
  CandidateEngineKind kind() const override { return CandidateEngineKind::Runner; }

 private:
  const ConversionAnalysis& analysis_;
  const std::vector<Feeds>& samples_;
  CandidateRunner runner_;
  std::size_t nodes_per_run_;
};

}  // namespace

std::unique_ptr<CandidateEngine> make_rebuild_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                     int threads) {
  return std::make_unique<RebuildEngine>(analysis, samples, threads);
}

std::unique_ptr<CandidateEngine> make_runner_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                    CandidateRunner runner) {
  return std::make_unique<RunnerEngine>(analysis, samples, std::move(runner));
}

}  // namespace onnx_fp16::mixed
