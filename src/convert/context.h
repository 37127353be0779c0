// What every conversion stage reads, and the policy's answer.
// - Context: the model as the conversion sees it (index, options, target, port signatures,
//   value types). Built once by make_context; no stage changes it.
// - Decisions: per node, converted or kept, and why (policy.h). A value: the mixed-precision
//   search asks for many sets of decisions over one Context.
#pragma once

#include <onnx_fp16/convert.h>

#include <cstdint>
#include <string>
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
using Decisions = std::vector<NodeDecision>;  // by NodeId

struct Context {
  const graph::GraphIndex& index;  // the rewrite edits through index.edit_node / edit_graph
  const Float16Options& options;
  std::int32_t target;  // onnx::TensorProto::FLOAT16 or BFLOAT16
  std::vector<types::ValueType> types;           // by ValueId
  std::vector<types::PortSignature> signatures;  // by NodeId

  bool is_float32(graph::ValueId v) const { return v != graph::kNone && types[v].is_tensor_of(onnx::TensorProto::FLOAT); }
  bool holds_float32(graph::ValueId v) const { return v != graph::kNone && types[v].holds(onnx::TensorProto::FLOAT); }
  const onnx::NodeProto& proto(graph::NodeId n) const { return *index.node(n).proto; }
};

// Types the indexed graph (types::type_graph). `index` and `options` must outlive the Context.
Context make_context(const graph::GraphIndex& index, const Float16Options& options);

// The ONNX element type of a conversion target.
std::int32_t target_elem_type(TargetType target);

bool is_op(const onnx::NodeProto& node, const char* op_type);  // in the ONNX domain

}  // namespace onnx_fp16::convert
