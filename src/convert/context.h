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

// The precision a float32 value has in the converted model. The values are the ONNX element
// types, so a precision is written into the model as it is (elem_type); None: not a float32
// tensor, left as it is.
enum class Precision : std::int32_t {
  None = 0,
  Float32 = onnx::TensorProto::FLOAT,
  Float16 = onnx::TensorProto::FLOAT16,
  BFloat16 = onnx::TensorProto::BFLOAT16,
};
constexpr std::int32_t elem_type(Precision precision) { return static_cast<std::int32_t>(precision); }

// What the policy decided for a node.
struct NodeDecision {
  enum class Fate {
    NotFloat,   // reads and writes no float32 value (and Constant nodes: constants are planned as values)
    Converted,  // runs in the target type
    Kept,       // stays float32, for `reason`
  };
  Fate fate = Fate::NotFloat;
  KeepReason reason = KeepReason::OpBlockList;  // when Kept
  std::string detail;

  bool converted() const { return fate == Fate::Converted; }
  bool kept() const { return fate == Fate::Kept; }
};
using Decisions = std::vector<NodeDecision>;  // by NodeId

struct Context {
  const graph::GraphIndex& index;  // the rewrite edits through index.edit_node / edit_graph
  const Float16Options& options;
  Precision target;  // Float16 or BFloat16
  std::vector<types::ValueType> types;           // by ValueId
  std::vector<types::PortSignature> signatures;  // by NodeId

  bool is_float32(graph::ValueId v) const { return v != graph::kNone && types[v].is_tensor_of(onnx::TensorProto::FLOAT); }
  bool holds_float32(graph::ValueId v) const { return v != graph::kNone && types[v].holds(onnx::TensorProto::FLOAT); }
  const onnx::NodeProto& proto(graph::NodeId n) const { return *index.node(n).proto; }
};

// Types the indexed graph (types::type_graph). `index` and `options` must outlive the Context.
Context make_context(const graph::GraphIndex& index, const Float16Options& options);

// The precision of a conversion target.
Precision target_precision(TargetType target);

bool is_op(const onnx::NodeProto& node, const char* op_type);  // in the ONNX domain

}  // namespace onnx_fp16::convert
