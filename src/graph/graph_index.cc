#include "graph/graph_index.h"

#include <onnx_fp16/error.h>

#include "graph/domain.h"
#include "graph/node_label.h"

namespace onnx_fp16::graph {

GraphIndex::GraphIndex(const onnx::ModelProto& model) : model_(&model) {
  for (const auto& op : model.opset_import()) opsets_[canonical_domain(op.domain())] = static_cast<int>(op.version());
  index_graph(&model.graph(), kNone, kNone, "");
  check_acyclic();
}

GraphIndex::GraphIndex(onnx::ModelProto& model) : GraphIndex(static_cast<const onnx::ModelProto&>(model)) {
  editable_ = true;
}

void GraphIndex::require_editable() const {
  if (!editable_) throw Error("internal: editing a model through a read-only index");
}

// The protos belong to a model the caller passed as mutable (editable_), so removing the const
// the index keeps them under is sound.
onnx::NodeProto& GraphIndex::edit_node(NodeId id) const {
  require_editable();
  return const_cast<onnx::NodeProto&>(*nodes_[id].proto);
}

onnx::GraphProto& GraphIndex::edit_graph(ScopeId id) const {
  require_editable();
  return const_cast<onnx::GraphProto&>(*scopes_[id].graph);
}

// Kahn's algorithm per graph. A node depends on the producers (in its own graph) of what it
// reads and of what its subgraphs read from its graph: a read from inside a subgraph counts for
// the node that holds the subgraph. Nodes left over are on or behind a cycle; walking back from
// one of them through left-over producers finds the cycle, which the message spells out.
void GraphIndex::check_acyclic() const {
  struct Edge {
    NodeId from;
    ValueId value;
  };
  std::vector<std::vector<Edge>> producers_of(nodes_.size());  // per node: what it waits for
  std::vector<std::vector<NodeId>> readers_of(nodes_.size());
  for (ValueId v = 0; v < static_cast<ValueId>(values_.size()); ++v) {
    const Value& value = values_[v];
    if (value.producer == kNone) continue;
    for (const PortRef& use : value.consumers) {
      const NodeId reader = holder_in(use.node, value.scope);
      if (reader == kNone) continue;
      producers_of[reader].push_back({value.producer, v});
      readers_of[value.producer].push_back(reader);
    }
  }
  std::vector<std::size_t> waiting(nodes_.size());
  std::vector<NodeId> ready;
  for (NodeId n = 0; n < static_cast<NodeId>(nodes_.size()); ++n) {
    waiting[n] = producers_of[n].size();
    if (waiting[n] == 0) ready.push_back(n);
  }
  std::size_t done = 0;
  while (!ready.empty()) {
    const NodeId n = ready.back();
    ready.pop_back();
    ++done;
    for (NodeId reader : readers_of[n]) {
      if (--waiting[reader] == 0) ready.push_back(reader);
    }
  }
  if (done == nodes_.size()) return;

  NodeId start = 0;
  while (waiting[start] == 0) ++start;
  std::vector<NodeId> path;
  std::vector<ValueId> via;  // via[i]: the value path[i] reads from path[i + 1]
  std::vector<int> seen_at(nodes_.size(), -1);
  for (NodeId n = start; seen_at[n] < 0;) {
    seen_at[n] = static_cast<int>(path.size());
    path.push_back(n);
    for (const Edge& edge : producers_of[n]) {
      if (waiting[edge.from] > 0) {
        via.push_back(edge.value);
        n = edge.from;
        break;
      }
    }
    if (seen_at[n] >= 0) {
      path.push_back(n);
      break;
    }
  }
  const std::size_t first = static_cast<std::size_t>(seen_at[path.back()]);
  auto describe = [&](NodeId id) { return describe_node(*nodes_[id].proto, nodes_[id].position); };
  std::string cycle;
  for (std::size_t i = first; i + 1 < path.size(); ++i) {
    cycle += (i == first ? describe(path[i]) : ", which") + " reads '" + values_[via[i]].name + "' from " +
             describe(path[i + 1]);
  }
  throw Error("graph '" + scopes_[nodes_[path[first]].scope].label + "' has a cycle: " + cycle +
              "; a graph must be acyclic");
}

int GraphIndex::opset(const std::string& domain) const {
  auto it = opsets_.find(canonical_domain(domain));
  return it == opsets_.end() ? 0 : it->second;
}

NodeId GraphIndex::holder_in(NodeId node, ScopeId scope) const {
  while (node != kNone && nodes_[node].scope != scope) node = scopes_[nodes_[node].scope].owner;
  return node;
}

std::string GraphIndex::node_label(NodeId id) const {
  return graph::node_label(*nodes_[id].proto, nodes_[id].position);
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

ScopeId GraphIndex::index_graph(const onnx::GraphProto* graph, ScopeId parent, NodeId owner, const std::string& attribute) {
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
    const onnx::NodeProto* proto = &graph->node(i);
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
      const auto existing = names_[scope].find(name);
      if (existing != names_[scope].end()) {
        const Value& other = values_[existing->second];
        const std::string first = other.kind == ValueKind::GraphInput    ? "is an input of that graph"
                                  : other.kind == ValueKind::Initializer ? "is an initializer of that graph"
                                                                         : "is also written by node '" +
                                                                               node_label(other.producer) + "'";
        throw Error(describe_node(*proto, nodes_[id].position) + " in graph '" + scopes_[scope].label +
                    "' writes '" + name + "', which " + first + ": every value must have one producer");
      }
      ValueId v = add_value(name, scope, ValueKind::NodeOutput);
      values_[v].producer = id;
      values_[v].producer_port = port;
      nodes_[id].outputs.push_back(v);
    }
  }

  for (NodeId id : std::vector<NodeId>(scopes_[scope].nodes)) {
    const onnx::NodeProto* proto = nodes_[id].proto;
    for (int port = 0; port < proto->input_size(); ++port) {
      const std::string& name = proto->input(port);
      if (name.empty()) {
        nodes_[id].inputs.push_back(kNone);
        continue;
      }
      ValueId v = resolve(name, scope);
      if (v == kNone) {
        throw Error(describe_node(*proto, nodes_[id].position) + " in graph '" + scopes_[scope].label +
                    "' reads '" + name + "', which nothing defines (no input, initializer or node output of it in scope)");
      }
      values_[v].consumers.push_back({id, port});
      nodes_[id].inputs.push_back(v);
    }
    for (const auto& attribute : proto->attribute()) {
      if (attribute.has_g()) {
        ScopeId sub = index_graph(&attribute.g(), scope, id, attribute.name());
        nodes_[id].subgraphs.push_back(sub);
      }
      for (const auto& g : attribute.graphs()) {
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

std::vector<std::string_view> GraphIndex::all_names() const {
  std::vector<std::string_view> names;
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
