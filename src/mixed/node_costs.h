// What converting a node buys: its arithmetic (FLOPs) and the float32 weight bytes it reads.
// The search's objective and the report's shares are measured in these, not in node counts: a
// model gets faster and smaller through its MatMuls and Convs, not through its Reshapes.
#pragma once

#include <onnx_fp16/tensor.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "mixed/conversion_analysis.h"
#include "mixed/inlined_branches.h"
#include "runtime/executor.h"

namespace onnx_fp16::mixed {

struct NodeCost {
  double flops = 0;         // multiply-accumulates count 2; other ops one per output element
  double weight_bytes = 0;  // float32 initializers and Constant outputs the node reads, 4 bytes per element
};

// Whether an op type is a contraction (a matrix product, a convolution, a recurrent cell, or
// their quantized forms): the ops whose FLOPs are multiply-accumulates, and whose outputs cost
// the most to compute again per byte they take to keep.
bool is_contraction(const std::string& op_type);

// The names measure_node_costs reads: every input and output of the main graph's nodes.
std::vector<std::string> costed_value_names(const ConversionAnalysis& analysis);

// What the float32 run computes inside subgraphs, which its value maps cannot hold (a branch's
// values live only while it runs), gathered through the evaluator's NodeHook (it only reads): for each node
// of a subgraph, whether a sample ran it and its cost, and for the screens the largest finite
// |x| of the float32 values those nodes read and write.
class SubgraphCensus {
 public:
  SubgraphCensus(const ConversionAnalysis& analysis, std::size_t samples);

  // What sample s's run of `executed` reports to: an Executor's model() of the analysed model
  // (the same structure, so indexing it numbers the nodes as the analysis does). The census and
  // `executed` must outlive the run.
  runtime::NodeHook hook(std::size_t sample, const onnx::ModelProto& executed);

  // Whether any sample ran the node (a main-graph node: always).
  bool ran(graph::NodeId node) const { return runs_[node] > 0 || main_[node]; }
  // By NodeId: a subgraph node's FLOPs (its executions on a sample summed, the largest over the
  // samples) and the float32 weight bytes it reads; main-graph nodes 0.
  std::vector<NodeCost> costs() const;
  // Whether sample s's run ran the node (a main-graph node: always).
  bool ran(graph::NodeId node, std::size_t sample) const { return main_[node] || flops_.at(sample)[node] > 0; }
  // By value name (a name two subgraphs share: the larger): the values subgraph nodes read and
  // write, over every sample.
  const std::map<std::string, double>& max_abs() const { return max_abs_; }
  // The If nodes sample s ran, each with the one branch it took on every run; nullopt when it
  // took both branches of one (inside a Loop), or ran a node with another kind of subgraph (a
  // Loop, a Scan) or an If whose condition could not be read: then the model it runs is not a
  // flat one (mixed/inlined_branches.h).
  std::optional<InlinedBranches> taken_branches(std::size_t sample) const;

 private:
  void record(graph::NodeId node, std::size_t sample, std::span<const Tensor* const> inputs,
              std::span<Tensor> outputs);
  void scan(const std::string& name, const Tensor& value);

  const ConversionAnalysis& analysis_;
  std::unordered_map<const onnx::NodeProto*, graph::NodeId> node_of_;  // subgraph nodes of the models run
  std::set<const onnx::ModelProto*> indexed_;                          // those models
  std::vector<bool> main_;                                             // by NodeId
  std::vector<int> runs_;                                              // by NodeId, every sample
  std::vector<std::vector<double>> flops_;                             // by sample, by NodeId
  std::vector<double> weight_bytes_;                                   // by NodeId
  std::map<std::string, double> max_abs_;
  std::map<std::string, const void*> scanned_;  // by name: the storage last scanned (a weight read again)
  std::unordered_map<const onnx::NodeProto*, graph::NodeId> holder_of_;  // nodes with subgraphs, any depth
  // By sample, by NodeId of a node with subgraphs that ran: kThen / kElse for the If branches
  // taken, kOther for another kind of node (or an If whose condition could not be read).
  std::vector<std::vector<unsigned char>> taken_;
  static constexpr unsigned char kThen = 1, kElse = 2, kOther = 4;
};

// By NodeId, each node's own cost: main-graph nodes from the shapes of one sample's values (a
// node whose shapes are unknown costs one FLOP; a node with subgraphs counts only its own
// outputs), subgraph nodes from `census` (null: 0).
std::vector<NodeCost> measure_node_costs(const ConversionAnalysis& analysis, const std::map<std::string, Tensor>& values,
                                         const SubgraphCensus* census = nullptr);

}  // namespace onnx_fp16::mixed
