// What converting a node buys: its arithmetic (FLOPs) and the float32 weight bytes it reads.
// The search's objective and the report's shares are measured in these, not in node counts: a
// model gets faster and smaller through its MatMuls and Convs, not through its Reshapes.
#pragma once

#include <onnx_fp16/tensor.h>

#include <map>
#include <string>
#include <vector>

#include "mixed/conversion_analysis.h"

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

// By NodeId (main-graph nodes; 0 for the rest), from the shapes of one sample's values (a node
// whose shapes are unknown costs one FLOP).
std::vector<NodeCost> measure_node_costs(const ConversionAnalysis& analysis, const std::map<std::string, Tensor>& values);

}  // namespace onnx_fp16::mixed
