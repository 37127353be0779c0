#include "frontend/option_warnings.h"

#include <unordered_set>

namespace onnx_fp16::frontend {
namespace {

// Node names of a graph and of every subgraph inside it: the node block list applies at any depth.
void collect_node_names(const onnx::GraphProto& graph, std::unordered_set<std::string>& names) {
  for (const auto& node : graph.node()) {
    if (!node.name().empty()) names.insert(node.name());
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_g()) collect_node_names(attribute.g(), names);
      for (const auto& subgraph : attribute.graphs()) collect_node_names(subgraph, names);
    }
  }
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "'" : " or '") + name + "'";
  return text;
}

}  // namespace

std::vector<std::string> option_warnings(const onnx::ModelProto& model, const Float16Options& options,
                                         bool clamp_values_given) {
  std::vector<std::string> warnings;

  std::unordered_set<std::string> node_names;
  collect_node_names(model.graph(), node_names);
  std::vector<std::string> unknown_nodes;
  for (const auto& name : options.node_block_list) {
    if (!node_names.count(name)) unknown_nodes.push_back(name);
  }
  if (!unknown_nodes.empty()) {
    warnings.push_back("--node-block-list: the model has no node named " + joined(unknown_nodes));
  }

  // keep_io applies to the model's own inputs and outputs, not to those of subgraphs.
  std::unordered_set<std::string> io_names;
  for (const auto& value : model.graph().input()) io_names.insert(value.name());
  for (const auto& value : model.graph().output()) io_names.insert(value.name());
  std::vector<std::string> unknown_io;
  for (const auto& name : options.keep_io_names) {
    if (!io_names.count(name)) unknown_io.push_back(name);
  }
  if (!unknown_io.empty()) warnings.push_back("--keep-io: not an input or output of the model: " + joined(unknown_io));

  if (clamp_values_given && options.target == TargetType::BFloat16) {
    warnings.push_back("--min-positive-val/--max-finite-val have no effect with --to bfloat16 (it has float32's range)");
  }
  return warnings;
}

}  // namespace onnx_fp16::frontend
