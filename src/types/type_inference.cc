#include "types/type_inference.h"

#include <onnx_fp16/error.h>

#include "graph/domain.h"
#include "graph/graph_index.h"
#include "types/inference_guards.h"
#include "types/op_rules.h"

#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

namespace onnx_fp16::types {

using graph::kNone;

namespace {

// "a map" for a declared value that is not a tensor (nor unknown), "" otherwise.
std::string_view kind_name(ValueType::Kind kind) {
  switch (kind) {
    case ValueType::Kind::SparseTensor: return "a sparse tensor";
    case ValueType::Kind::Sequence: return "a sequence";
    case ValueType::Kind::Optional: return "an optional";
    case ValueType::Kind::Map: return "a map";
    default: return "";
  }
}

// The kind a schema type string names, by its spelling: "tensor(", "seq(", "map(", ...
ValueType::Kind kind_of(std::string_view type) {
  if (type.starts_with("tensor(")) return ValueType::Kind::Tensor;
  if (type.starts_with("sparse_tensor(")) return ValueType::Kind::SparseTensor;
  if (type.starts_with("seq(")) return ValueType::Kind::Sequence;
  if (type.starts_with("optional(")) return ValueType::Kind::Optional;
  if (type.starts_with("map(")) return ValueType::Kind::Map;
  return ValueType::Kind::Other;
}

// Before ONNX's shape inference: its per-op inference functions trust that a node matches its
// schema (STFT's crashed on an int64 signal, Scan's without num_scan_inputs; found by
// fuzz_convert, fuzz/regressions/convert). Each node with a schema is checked against it: its
// attributes and arity (OpSchema::Verify), and the declared type of each graph input or
// initializer it reads. Returns the first problem, empty when none. `refuse` tells whether the
// model is invalid for certain (a type the schema of the model's own opset forbids) or merely
// not safe for ONNX's inference (the rest, and anything judged by the newest schema this ONNX
// knows, standing in for a newer opset that may allow more).
struct SchemaProblem {
  std::string message;
  bool refuse = false;
};

SchemaProblem check_against_schemas(const graph::GraphIndex& index) {
  // The main graph's inputs must say what they are, as ONNX's checker requires (sub-graph inputs
  // may leave it to inference): on a node reading an input without a type, ONNX's inference
  // dereferenced a null type (found by fuzz_convert).
  for (const auto& input : index.scope(graph::GraphIndex::main_scope()).graph->input()) {
    if (!input.has_type() || input.type().value_case() == onnx::TypeProto::VALUE_NOT_SET) {
      return {"graph input '" + input.name() + "' declares no type (the model is invalid)", true};
    }
  }
  const auto& known_versions = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  std::vector<ValueType> declared(index.values().size());
  for (graph::ScopeId sc = 0; sc < static_cast<graph::ScopeId>(index.scopes().size()); ++sc) {
    const graph::Scope& scope = index.scope(sc);
    for (std::size_t i = 0; i < scope.inputs.size() && static_cast<int>(i) < scope.graph->input_size(); ++i) {
      declared[scope.inputs[i]] = from_type_proto(scope.graph->input(static_cast<int>(i)).type());
    }
  }
  for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(index.values().size()); ++v) {
    const graph::Value& value = index.value(v);
    if (value.kind != graph::ValueKind::Initializer || value.initializer_index == graph::kNone) continue;
    declared[v] = ValueType{ValueType::Kind::Tensor,
                            index.scope(value.scope).graph->initializer(value.initializer_index).data_type()};
  }
  SchemaLookup schemas;
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index.nodes().size()); ++n) {
    const onnx::NodeProto& node = *index.node(n).proto;
    const auto range = known_versions.find(graph::canonical_domain(node.domain()));
    if (range == known_versions.end()) continue;
    const int opset = index.opset(node.domain());
    if (opset <= 0) continue;  // no opset import for the domain: no schema version to judge by
    const bool own_opset = opset <= range->second.second;
    // The registry answers with the newest schema up to the version asked for, so a newer
    // opset than this ONNX knows gets its newest schema.
    const PortSignature sig = port_signature(node, opset, schemas);
    const onnx::OpSchema* schema = sig.schema;
    if (schema == nullptr) continue;
    auto label = [&] { return "node '" + index.node_label(n) + "' (" + node.op_type() + ")"; };
    try {
      schema->Verify(node);
    } catch (const std::exception& e) {
      return {label() + " does not match its schema: " + e.what(), false};
    }
    const auto& inputs = index.node(n).inputs;
    for (std::size_t i = 0; i < inputs.size() && i < sig.input_params.size(); ++i) {
      if (inputs[i] == graph::kNone) continue;
      const ValueType& type = declared[inputs[i]];
      // A tensor of a known element type is judged by its element type; a map, sequence... by
      // its kind (inference functions read it as a tensor: MaxUnpool's crashed on a map; found
      // by fuzz_convert).
      const bool tensor = type.kind == ValueType::Kind::Tensor && type.elem != 0;
      const std::string_view kind = kind_name(type.kind);
      if (!tensor && kind.empty()) continue;
      const std::vector<std::string>* param_types =
          sig.input_params[i].empty() ? nullptr : sig.allowed_types(sig.input_params[i]);
      bool allowed = true;
      if (param_types != nullptr) {
        allowed = tensor ? sig.param_allows(sig.input_params[i], type.elem)
                         : param_types->empty() || std::any_of(param_types->begin(), param_types->end(),
                                                               [&](std::string_view t) { return kind_of(t) == type.kind; });
      } else if (!sig.input_fixed[i].empty()) {
        allowed = tensor ? from_type_string(sig.input_fixed[i]) == ValueType{ValueType::Kind::Tensor, type.elem}
                         : kind_of(sig.input_fixed[i]) == type.kind;
      }
      if (!allowed) {
        return {label() + " reads '" + index.value(inputs[i]).name + "' as input " + std::to_string(i) + ": " +
                    (tensor ? elem_name(type.elem) : std::string(kind)) + ", which its schema (opset " +
                    std::to_string(schema->since_version()) + (own_opset ? "" : ", the newest this ONNX knows") +
                    ") does not allow there",
                own_opset};
      }
    }
  }
  return {};
}

}  // namespace

std::string run_onnx_shape_inference(onnx::ModelProto& model) {
  // ONNX's shape inference trusts the graph: on a node reading a value nothing defines it
  // dereferences a null type (found by fuzz_convert). The index checks the structure first and
  // refuses a broken graph with an onnx_fp16::Error naming node and value.
  return run_onnx_shape_inference(model, graph::GraphIndex(std::as_const(model)));
}

std::string run_onnx_shape_inference(onnx::ModelProto& model, const graph::GraphIndex& structure) {
  // A type the model's own schema forbids is refused; any other mismatch leaves ONNX's
  // inference not run (as when it fails): the conversion types from declarations and schemas.
  const SchemaProblem problem = check_against_schemas(structure);
  if (problem.refuse) throw Error(problem.message);
  if (!problem.message.empty()) return "not run: " + problem.message;
  try {
    // The original's call, onnx.shape_inference.infer_shapes(model), with its defaults: no data
    // propagation. The conversion needs element types only; propagating shape values made 9 of
    // libonnx-testdata's 1,072 models' value_info more concrete (int64 shape arithmetic), unlike
    // the original's output, and cost 4.4% of converting a 16,000-node graph.
    onnx::ShapeInferenceOptions options(/*check_type=*/false, /*strict_mode=*/0, /*data_prop=*/false);
    // Guarded where ONNX's own functions would crash on shapes the schemas cannot rule out.
    onnx::shape_inference::InferShapes(model, &guarded_schema_registry(), options);
  } catch (const std::exception& e) {
    return e.what();
  }
  // What a guard turned away is an invalid model: refused, naming the node.
  if (std::string problem = shape_contract_problem(model); !problem.empty()) throw Error(problem);
  return "";
}

namespace {

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

ValueType tensor_of(std::int32_t elem) {
  ValueType t;
  t.kind = ValueType::Kind::Tensor;
  t.elem = elem;
  return t;
}

class Propagator {
 public:
  Propagator(const graph::GraphIndex& index, const std::vector<PortSignature>& signatures)
      : index_(index), signatures_(signatures), types_(index.values().size()) {}

  std::vector<ValueType> run() {
    collect_declared();
    // Nodes come in index order (outer graph first, bodies after their owner's graph), so an
    // If's outputs may need a second pass after its branches; stop when nothing changes.
    for (int pass = 0; pass < 64; ++pass) {
      changed_ = false;
      for (graph::NodeId id = 0; id < static_cast<graph::NodeId>(index_.nodes().size()); ++id) visit(id);
      if (!changed_) break;
    }
    return std::move(types_);
  }

 private:
  void learn(graph::ValueId v, const ValueType& t) {
    if (v == kNone || !t.known()) return;
    ValueType& slot = types_[v];
    if (!slot.known()) {
      slot = t;
      changed_ = true;
    } else if (slot.static_elements < 0 && t.static_elements >= 0 && slot.elem == t.elem) {
      slot.static_elements = t.static_elements;
    }
  }

  void collect_declared() {
    for (graph::ScopeId s = 0; s < static_cast<graph::ScopeId>(index_.scopes().size()); ++s) {
      const graph::Scope& scope = index_.scope(s);
      const onnx::GraphProto& g = *scope.graph;
      for (int i = 0; i < g.input_size(); ++i) learn(scope.inputs[i], from_type_proto(g.input(i).type()));
      for (const auto& init : g.initializer()) {
        ValueType t = tensor_of(init.data_type());
        t.static_elements = 1;
        for (auto d : init.dims()) t.static_elements *= d;
        learn(index_.find(init.name(), s), t);
      }
      for (const auto& sparse : g.sparse_initializer()) {
        learn(index_.find(sparse.values().name(), s), tensor_of(sparse.values().data_type()));
      }
      for (const auto& vi : g.value_info()) learn(index_.find(vi.name(), s), from_type_proto(vi.type()));
      for (int i = 0; i < g.output_size(); ++i) {
        if (g.output(i).has_type()) learn(scope.outputs[i], from_type_proto(g.output(i).type()));
      }
    }
  }

  ValueType input_type(const graph::Node& node, int port) const {
    if (port >= static_cast<int>(node.inputs.size()) || node.inputs[port] == kNone) return {};
    return types_[node.inputs[port]];
  }

  void visit(graph::NodeId id) {
    const graph::Node& node = index_.node(id);
    const onnx::NodeProto& proto = *node.proto;
    bool all_known = true;
    for (auto v : node.outputs) all_known = all_known && (v == kNone || types_[v].known());
    if (is_control_flow(proto)) {
      visit_control_flow(id);
      return;
    }
    if (all_known || node.outputs.empty()) return;
    if (auto t = attribute_typed_output(node); t.known()) {
      learn(node.outputs[0], t);
      return;
    }
    const PortSignature& sig = signatures_[id];
    if (!sig.known()) return;
    // The first known input type of each parameter (a node has a handful of ports).
    std::vector<std::pair<std::string_view, ValueType>> bound;
    auto bound_type = [&](std::string_view param) -> const ValueType* {
      for (const auto& [p, t] : bound) {
        if (p == param) return &t;
      }
      return nullptr;
    };
    for (int port = 0; port < static_cast<int>(sig.input_params.size()); ++port) {
      const std::string_view param = sig.input_params[port];
      ValueType t = input_type(node, port);
      if (!param.empty() && t.known() && bound_type(param) == nullptr) {
        t.static_elements = -1;
        bound.emplace_back(param, t);
      }
    }
    for (int port = 0; port < static_cast<int>(node.outputs.size()); ++port) {
      if (node.outputs[port] == kNone || port >= static_cast<int>(sig.output_params.size())) continue;
      const std::string_view param = sig.output_params[port];
      if (!param.empty()) {
        if (const ValueType* t = bound_type(param)) {
          learn(node.outputs[port], *t);
        } else if (const auto* allowed = sig.allowed_types(param); allowed != nullptr && allowed->size() == 1) {
          learn(node.outputs[port], from_type_string(allowed->front()));
        }
      } else if (!sig.output_fixed[port].empty()) {
        learn(node.outputs[port], from_type_string(sig.output_fixed[port]));
      }
    }
  }

  // Ops whose (first) output type is set by an attribute or by another input.
  ValueType attribute_typed_output(const graph::Node& node) const {
    const onnx::NodeProto& proto = *node.proto;
    if (!graph::is_default_domain(proto.domain())) return {};
    const std::string& op = proto.op_type();
    if (const OpRule* rule = find_op_rule(proto); rule && rule->type_attribute) {
      const TypeAttribute& attribute = *rule->type_attribute;
      const auto* a = find_attribute(proto, std::string(attribute.name));
      if (a) return tensor_of(static_cast<std::int32_t>(a->i()));
      switch (attribute.when_absent) {
        case TypeAttribute::WhenAbsent::Required: return tensor_of(0);
        case TypeAttribute::WhenAbsent::Float32: return tensor_of(onnx::TensorProto::FLOAT);
        case TypeAttribute::WhenAbsent::LikeFirstInput: {
          ValueType in = input_type(node, 0);
          in.static_elements = -1;
          return in;
        }
      }
    }
    // Types from a tensor attribute or another input.
    if (op == "CastLike") return input_type(node, 1);
    if (op == "ConstantOfShape") {
      const auto* value = find_attribute(proto, "value");
      return tensor_of(value ? value->t().data_type() : onnx::TensorProto::FLOAT);
    }
    if (op == "Constant") {
      for (const auto& a : proto.attribute()) {
        if (a.name() == "value") return tensor_of(a.t().data_type());
        if (a.name() == "sparse_value") return tensor_of(a.sparse_tensor().values().data_type());
        if (a.name() == "value_float" || a.name() == "value_floats") return tensor_of(onnx::TensorProto::FLOAT);
        if (a.name() == "value_int" || a.name() == "value_ints") return tensor_of(onnx::TensorProto::INT64);
        if (a.name() == "value_string" || a.name() == "value_strings") return tensor_of(onnx::TensorProto::STRING);
      }
      return {};
    }
    return {};
  }

  void visit_control_flow(graph::NodeId id) {
    const graph::Node& node = index_.node(id);
    for (const ControlFlowBinding& binding : control_flow_bindings(index_, id)) {
      const graph::Scope& body = index_.scope(binding.body);
      for (std::size_t k = 0; k < body.inputs.size(); ++k) {
        int outer = binding.body_input_from_outer_input[k];
        if (outer == kNone) continue;
        ValueType t = input_type(node, outer);
        // Scan inputs lose their scan axis inside the body: only the element type carries over.
        t.static_elements = -1;
        learn(body.inputs[k], t);
      }
      for (std::size_t k = 0; k < body.outputs.size(); ++k) {
        int outer = binding.body_output_to_outer_output[k];
        if (outer == kNone || node.outputs[outer] == kNone) continue;
        ValueType t = types_[body.outputs[k]];
        t.static_elements = -1;
        learn(node.outputs[outer], t);
      }
    }
  }

  const graph::GraphIndex& index_;
  const std::vector<PortSignature>& signatures_;
  std::vector<ValueType> types_;
  bool changed_ = false;
};

}  // namespace

std::vector<ValueType> infer_value_types(const graph::GraphIndex& index, const std::vector<PortSignature>& signatures) {
  return Propagator(index, signatures).run();
}

GraphTypes type_graph(const graph::GraphIndex& index) {
  GraphTypes typed;
  typed.signatures.reserve(index.nodes().size());
  SchemaLookup schemas;
  for (const auto& node : index.nodes()) {
    typed.signatures.push_back(port_signature(*node.proto, index.opset(node.proto->domain()), schemas));
  }
  typed.values = infer_value_types(index, typed.signatures);
  return typed;
}

}  // namespace onnx_fp16::types
