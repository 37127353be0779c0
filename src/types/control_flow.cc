// How If, Loop and Scan bind their ports to their body graphs' inputs and outputs.
#include "graph/domain.h"
#include "types/type_inference.h"

namespace onnx_fp16::types {

using graph::kNone;

bool is_control_flow(const onnx::NodeProto& node) {
  if (!graph::is_default_domain(node.domain())) return false;
  return node.op_type() == "If" || node.op_type() == "Loop" || node.op_type() == "Scan";
}

std::vector<ControlFlowBinding> control_flow_bindings(const graph::GraphIndex& index, graph::NodeId id) {
  const graph::Node& node = index.node(id);
  std::vector<ControlFlowBinding> result;
  if (!is_control_flow(*node.proto)) return result;
  const std::string& op = node.proto->op_type();
  const int outer_inputs = node.proto->input_size();
  const int outer_outputs = node.proto->output_size();
  for (graph::ScopeId body : node.subgraphs) {
    const graph::Scope& scope = index.scope(body);
    ControlFlowBinding binding{body, std::vector<int>(scope.inputs.size(), kNone),
                               std::vector<int>(scope.outputs.size(), kNone)};
    const int n_in = static_cast<int>(scope.inputs.size());
    const int n_out = static_cast<int>(scope.outputs.size());
    if (op == "If") {
      // Branches have no inputs; output k of each branch is output k of the If.
      for (int k = 0; k < n_out && k < outer_outputs; ++k) binding.body_output_to_outer_output[k] = k;
    } else if (op == "Loop") {
      // Body inputs: (iteration, cond, carried...); node inputs: (M, cond, carried...).
      // Body outputs: (cond, carried..., scan outputs...); node outputs: (carried..., scan...).
      for (int k = 2; k < n_in && k < outer_inputs; ++k) binding.body_input_from_outer_input[k] = k;
      for (int k = 1; k < n_out && k - 1 < outer_outputs; ++k) binding.body_output_to_outer_output[k] = k - 1;
    } else {  // Scan
      // Scan-8 has sequence_lens as its first input; Scan-9 and later do not.
      const int shift = index.opset("") < 9 ? 1 : 0;
      for (int k = 0; k < n_in && k + shift < outer_inputs; ++k) binding.body_input_from_outer_input[k] = k + shift;
      for (int k = 0; k < n_out && k < outer_outputs; ++k) binding.body_output_to_outer_output[k] = k;
    }
    result.push_back(std::move(binding));
  }
  return result;
}

}  // namespace onnx_fp16::types
