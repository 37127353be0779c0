// How the search gets a candidate's outputs. Three engines behind one interface:
// - rebuild: converts the model and runs it in full on the evaluator (the original's way);
// - incremental: simulates the conversion on the float32 model loaded once and re-evaluates only
//   the nodes an attempt's change can affect (incremental_engine.h);
// - runner: converts the model and hands it to the caller's runner (a deployment runtime).
#pragma once

#include <onnx_fp16/mixed.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mixed/conversion_analysis.h"

namespace onnx_fp16::mixed {

// The float32 model's outputs per sample (graph output order) and, by name, the values asked for.
struct Float32Run {
  std::vector<std::vector<Tensor>> outputs;
  std::vector<std::map<std::string, Tensor>> values;
};

struct EngineStats {
  int runs = 0;                     // model runs on one sample, full or partial
  std::size_t nodes_evaluated = 0;  // node executions (a full run executes every node)
};

// Judges one sample's outputs (graph output order); false stops the run there.
using SampleCheck = std::function<bool(std::size_t sample, const std::vector<Tensor>& outputs)>;

class CandidateEngine {
 public:
  virtual ~CandidateEngine() = default;
  // Like run(), but hands each sample's outputs to `check` as soon as they are ready and stops
  // at the first sample it refuses: a failing attempt costs only the samples up to the failure.
  // Returns whether every sample passed. Only a run whose samples all passed may be accepted.
  virtual bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) {
    const auto outputs = run(kept_nodes);
    for (std::size_t s = 0; s < outputs.size(); ++s) {
      if (!check(s, outputs[s])) return false;
    }
    return true;
  }
  // The outputs (graph output order), per sample, of the model with the nodes where
  // kept_nodes[NodeId] is true left in float32.
  virtual std::vector<std::vector<Tensor>> run(const std::vector<bool>& kept_nodes) = 0;
  // The last run's state becomes the one later runs are computed from (after a passed attempt).
  virtual void accept_last() {}
  // The float32 model run by the engine itself, when it can (nullopt: it cannot; use an
  // Evaluator). Its state becomes the accepted one, so the next run computes only what differs.
  virtual std::optional<Float32Run> run_float32(const std::vector<std::string>& /*values*/) { return std::nullopt; }
  virtual const char* name() const = 0;
  const EngineStats& stats() const { return stats_; }

 protected:
  EngineStats stats_;
};

// Nodes of a graph and its subgraphs: the work of one full run.
std::size_t count_nodes(const onnx::GraphProto& graph);

std::unique_ptr<CandidateEngine> make_rebuild_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                     int threads);
std::unique_ptr<CandidateEngine> make_runner_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                    CandidateRunner runner);

}  // namespace onnx_fp16::mixed
