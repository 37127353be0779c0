#include "graph/graph_index.h"

#include <onnx_fp16/error.h>

namespace onnx_fp16::graph {

namespace {
std::string canonical_domain(const std::string& domain) { return domain == "ai.onnx" ? "" : domain; }
}  // namespace

GraphIndex::GraphIndex(onnx::ModelProto& model) : model_(&model) {
  for (const auto& op : model.opset_import()) opsets_[canonical_domain(op.domain())] = static_cast<int>(op.version());
  index_graph(model.mutable_graph(), kNone, kNone, "");
}

int GraphIndex::opset(const std::string& domain) const {
  auto it = opsets_.find(canonical_domain(domain));
  return it == opsets_.end() ? 0 : it->second;
}

std::string GraphIndex::node_label(NodeId id) const {
  const Node& n = nodes_[id];
  if (!n.proto->name().empty()) return n.proto->name();
  return n.proto->op_type() + "#" + std::to_string(n.position);
}

ValueId GraphIndex::add_value(std::string name, ScopeId scope, ValueKind kind) {
  ValueId id = static_cast<ValueId>(values_.size());
  Value v;
  v.name = std::move(name);
  v.scope = scope;
  v.kind = kind;
  values_.push_back(std::move(v));
  names_[scope][values_[id].name] = id;
  return id;
}

ValueId GraphIndex::resolve(const std::string& name, ScopeId scope) const {
  for (ScopeId s = scope; s != kNone; s = scopes_[s].parent) {
    auto it = names_[s].find(name);
    if (it != names_[s].end()) return it->second;
  }
  return kNone;
}

ScopeId GraphIndex::index_graph(onnx::GraphProto* graph, ScopeId parent, NodeId owner, const std::string& attribute) {
  ScopeId scope = static_cast<ScopeId>(scopes_.size());
  {
    Scope s;
    s.graph = graph;
    s.parent = parent;
    s.owner = owner;
    s.attribute = attribute;
    s.label = owner == kNone ? "main" : node_label(owner) + "/" + attribute;
    scopes_.push_back(std::move(s));
    names_.emplace_back();
  }

  // Definitions first (inputs, initializers, all node outputs), so that uses can be resolved
  // whatever order the nodes come in.
  for (const auto& in : graph->input()) {
    ValueId id = add_value(in.name(), scope, ValueKind::GraphInput);
    scopes_[scope].inputs.push_back(id);
  }
  for (int i = 0; i < graph->initializer_size(); ++i) {
    const std::string& name = graph->initializer(i).name();
    auto existing = names_[scope].find(name);
    ValueId id = existing != names_[scope].end() && values_[existing->second].kind == ValueKind::GraphInput
                     ? existing->second
                     : add_value(name, scope, ValueKind::Initializer);
    values_[id].initializer_index = i;
  }
  for (const auto& sparse : graph->sparse_initializer()) {
    if (names_[scope].count(sparse.values().name())) continue;
    ValueId id = add_value(sparse.values().name(), scope, ValueKind::Initializer);
    values_[id].sparse = true;
  }
  for (int i = 0; i < graph->node_size(); ++i) {
    onnx::NodeProto* proto = graph->mutable_node(i);
    NodeId id = static_cast<NodeId>(nodes_.size());
    Node n;
    n.proto = proto;
    n.scope = scope;
    n.position = i;
    nodes_.push_back(std::move(n));
    scopes_[scope].nodes.push_back(id);
    for (int port = 0; port < proto->output_size(); ++port) {
      const std::string& name = proto->output(port);
      if (name.empty()) {
        nodes_[id].outputs.push_back(kNone);
        continue;
      }
      ValueId v = add_value(name, scope, ValueKind::NodeOutput);
      values_[v].producer = id;
      values_[v].producer_port = port;
      nodes_[id].outputs.push_back(v);
    }
  }

  for (NodeId id : std::vector<NodeId>(scopes_[scope].nodes)) {
    onnx::NodeProto* proto = nodes_[id].proto;
    for (int port = 0; port < proto->input_size(); ++port) {
      const std::string& name = proto->input(port);
      if (name.empty()) {
        nodes_[id].inputs.push_back(kNone);
        continue;
      }
      ValueId v = resolve(name, scope);
      if (v == kNone) {
        throw Error("node '" + node_label(id) + "' (" + proto->op_type() + ") in graph '" + scopes_[scope].label +
                    "' reads '" + name + "', which no graph input, initializer or node output defines");
      }
      values_[v].consumers.push_back({id, port});
      nodes_[id].inputs.push_back(v);
    }
    for (auto& attribute : *proto->mutable_attribute()) {
      if (attribute.has_g()) {
        ScopeId sub = index_graph(attribute.mutable_g(), scope, id, attribute.name());
        nodes_[id].subgraphs.push_back(sub);
      }
      for (auto& g : *attribute.mutable_graphs()) {
        ScopeId sub = index_graph(&g, scope, id, attribute.name());
        nodes_[id].subgraphs.push_back(sub);
      }
    }
  }

  for (int i = 0; i < graph->output_size(); ++i) {
    const std::string& name = graph->output(i).name();
    ValueId v = resolve(name, scope);
    if (v == kNone) {
      throw Error("graph '" + scopes_[scope].label + "' lists output '" + name + "', which nothing defines");
    }
    scopes_[scope].outputs.push_back(v);
    if (values_[v].scope == scope) values_[v].graph_output_positions.push_back(i);
  }
  return scope;
}

std::vector<std::string> GraphIndex::all_names() const {
  std::vector<std::string> names;
  names.reserve(values_.size() + nodes_.size());
  for (const auto& v : values_) names.push_back(v.name);
  for (const auto& n : nodes_) {
    if (!n.proto->name().empty()) names.push_back(n.proto->name());
  }
  for (const auto& s : scopes_) {
    for (const auto& vi : s.graph->value_info()) names.push_back(vi.name());
  }
  return names;
}

}  // namespace onnx_fp16::graph
