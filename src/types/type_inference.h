// Element types of every value: ONNX shape inference (optional), the types the model declares,
// then propagation through operator schemas and built-in rules for whatever is still unknown.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "graph/graph_index.h"
#include "types/port_signature.h"
#include "types/value_type.h"

namespace onnx_fp16::types {

// Runs ONNX's shape inference in place (it adds value_info). Returns the error message when it
// failed; the model is then left as it was before the failing step. ONNX's code does not
// survive every broken graph, so first: throws onnx_fp16::Error for a broken structure (a value
// read but never defined, a cycle, duplicate producers: what graph::GraphIndex refuses) or a
// declared input type its node's schema at the model's opset forbids; and does not run it
// ("not run: ..." returned) when a node does not verify against its schema otherwise.
std::string run_onnx_shape_inference(onnx::ModelProto& model);
// The same with an index the caller built over `model` (it stays valid: shape inference changes
// value_info and declared types, never nodes, initializers or names), so that a caller that
// needs the index anyway builds it once.
std::string run_onnx_shape_inference(onnx::ModelProto& model, const graph::GraphIndex& structure);

// Types per ValueId. `signatures` holds the port signature of each node (by NodeId).
std::vector<ValueType> infer_value_types(const graph::GraphIndex& index, const std::vector<PortSignature>& signatures);

// What the conversion, the mixed-precision search and the census know of a graph's types: each
// node's port signature at the model's opsets (by NodeId) and each value's type (by ValueId).
// Run ONNX shape inference on the model first when wanted: this reads what the model declares.
struct GraphTypes {
  std::vector<PortSignature> signatures;
  std::vector<ValueType> values;
};
GraphTypes type_graph(const graph::GraphIndex& index);

// The subgraph boundary of a control-flow node: for each body graph, which outer input feeds
// each body input and which outer output each body output becomes (kNone where none).
struct ControlFlowBinding {
  graph::ScopeId body;
  std::vector<int> body_input_from_outer_input;   // per body input: outer input port, or kNone
  std::vector<int> body_output_to_outer_output;   // per body output: outer output port, or kNone
};
std::vector<ControlFlowBinding> control_flow_bindings(const graph::GraphIndex& index, graph::NodeId node);
bool is_control_flow(const onnx::NodeProto& node);

}  // namespace onnx_fp16::types
