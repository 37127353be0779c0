// How nodes are named in reports and messages, one format everywhere: a node's own name, or
// "<op_type>#<position in its graph>" for a node without one; in messages
// "node '<that label>' (<op_type>)". So an evaluator error can be matched to a name in the
// conversion or mixed-precision report.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace onnx_fp16::graph {

inline std::string node_label(const onnx::NodeProto& node, int position) {
  if (!node.name().empty()) return node.name();
  return node.op_type() + "#" + std::to_string(position);
}

inline std::string describe_node(const onnx::NodeProto& node, int position) {
  return "node '" + node_label(node, position) + "' (" + node.op_type() + ")";
}

}  // namespace onnx_fp16::graph
