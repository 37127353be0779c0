// An index over a ModelProto: every value (tensor name) of every (sub)graph resolved lexically
// to its definition, with its producer and consumers, and every node with its scope. The
// conversion reads the model through this index and never through names, so shadowing,
// outer-scope references and duplicate node names cannot confuse it.
//
// The index itself never changes the model, and readers see it through const protos. Only an
// index built on a mutable model hands out the protos for editing (edit_node, edit_graph): the
// conversion's rewrite is that one writer, and it must not add or remove what the index counts
// until it is done reading (it rewrites names and appends new nodes at the very end).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace onnx_fp16::graph {

using ValueId = int;
using NodeId = int;
using ScopeId = int;
inline constexpr int kNone = -1;

struct PortRef {
  NodeId node;
  int port;
};

enum class ValueKind {
  GraphInput,   // an input of its scope's graph (an initializer of the same name is its default)
  Initializer,  // a constant of its scope's graph
  NodeOutput,
};

struct Value {
  std::string name;
  ScopeId scope = kNone;
  ValueKind kind = ValueKind::NodeOutput;
  NodeId producer = kNone;
  int producer_port = kNone;
  int initializer_index = kNone;           // into the scope graph's initializer list
  std::vector<PortRef> consumers;          // node input ports reading it, in any scope
  std::vector<int> graph_output_positions; // where its scope graph lists it as an output
  bool sparse = false;                     // a sparse initializer (kept as it is)
};

struct Node {
  const onnx::NodeProto* proto = nullptr;
  ScopeId scope = kNone;
  int position = 0;                   // index in its scope graph's node list
  std::vector<ValueId> inputs;        // kNone for an empty (omitted optional) input
  std::vector<ValueId> outputs;       // kNone for an empty output name
  std::vector<ScopeId> subgraphs;     // graph attributes, in attribute order
};

struct Scope {
  const onnx::GraphProto* graph = nullptr;
  ScopeId parent = kNone;
  NodeId owner = kNone;      // the node whose attribute holds this graph
  std::string attribute;     // that attribute's name ("then_branch", "body", ...)
  std::string label;         // "main" or "<owner label>/<attribute>"
  std::vector<NodeId> nodes; // in the graph's order
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;  // in order; the same value may appear twice
};

class GraphIndex {
 public:
  // Indexes the model and checks the structure every reader relies on. Throws onnx_fp16::Error,
  // naming the graph, node and value, when a node reads a name that nothing defines, a graph
  // lists an output nothing defines, a value has two producers in one graph (two nodes, or a
  // node and an input or initializer), or the nodes of a graph form a cycle (counting the values
  // their subgraphs read). Nodes out of order but without a cycle are fine: the conversion sorts
  // them.
  // Read-only: edit_node and edit_graph refuse.
  explicit GraphIndex(const onnx::ModelProto& model);
  // Editable: the rewrite changes the indexed protos through edit_node and edit_graph.
  explicit GraphIndex(onnx::ModelProto& model);

  const onnx::ModelProto& model() const { return *model_; }
  // The indexed protos for editing (the rewrite). Throws onnx_fp16::Error on a read-only index.
  onnx::NodeProto& edit_node(NodeId id) const;
  onnx::GraphProto& edit_graph(ScopeId id) const;
  const std::vector<Value>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Scope>& scopes() const { return scopes_; }
  const Value& value(ValueId id) const { return values_[id]; }
  const Node& node(NodeId id) const { return nodes_[id]; }
  const Scope& scope(ScopeId id) const { return scopes_[id]; }
  // The model's own graph: indexed first, so always scope 0.
  static constexpr ScopeId main_scope() { return 0; }

  // The node's name, or "<op_type>#<index in its graph>" where it has none.
  std::string node_label(NodeId id) const;
  // The node of `scope` that holds `node`: itself when it is in that scope, else the node whose
  // subgraph (at some depth) holds it; kNone when no node of `scope` does.
  NodeId holder_in(NodeId node, ScopeId scope) const;
  // Opset version the model imports for a domain ("" and "ai.onnx" are the same), 0 if none.
  int opset(const std::string& domain) const;
  // The value a name refers to when read in `scope` (lexical lookup), or kNone.
  ValueId find(const std::string& name, ScopeId scope) const { return resolve(name, scope); }
  // Every value name and node name in the model, for choosing fresh names: views into the
  // index and the model, valid while both are unchanged.
  std::vector<std::string_view> all_names() const;

 private:
  ScopeId index_graph(const onnx::GraphProto* graph, ScopeId parent, NodeId owner, const std::string& attribute);
  void require_editable() const;
  ValueId add_value(std::string name, ScopeId scope, ValueKind kind);
  ValueId resolve(const std::string& name, ScopeId scope) const;
  void check_acyclic() const;

  const onnx::ModelProto* model_;
  bool editable_ = false;  // built on a mutable model
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<Scope> scopes_;
  std::vector<std::unordered_map<std::string, ValueId>> names_;  // per scope
  std::unordered_map<std::string, int> opsets_;
};

}  // namespace onnx_fp16::graph
