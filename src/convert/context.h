// What every conversion stage reads: the index, the types, the port signatures, the options,
// and (after the policy) each node's decision.
#pragma once

#include <onnx_fp16/convert.h>

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "graph/graph_index.h"
#include "types/port_signature.h"
#include "types/value_type.h"

namespace onnx_fp16::convert {

struct NodeDecision {
  bool relevant = false;   // reads or writes a float32 value (Constant nodes are constants instead)
  bool converted = false;
  KeepReason reason = KeepReason::OpBlockList;
  std::string detail;
};

struct Context {
  graph::GraphIndex& index;
  const Float16Options& options;
  std::int32_t target;  // onnx::TensorProto::FLOAT16 or BFLOAT16
  std::vector<types::ValueType> types;
  std::vector<types::PortSignature> signatures;
  std::vector<NodeDecision> decisions;

  bool is_float32(graph::ValueId v) const { return v != graph::kNone && types[v].is_tensor_of(onnx::TensorProto::FLOAT); }
  bool holds_float32(graph::ValueId v) const { return v != graph::kNone && types[v].holds(onnx::TensorProto::FLOAT); }
  const onnx::NodeProto& proto(graph::NodeId n) const { return *index.node(n).proto; }
};

bool is_op(const onnx::NodeProto& node, const char* op_type);  // in the ONNX domain

}  // namespace onnx_fp16::convert
