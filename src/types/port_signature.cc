#include "types/port_signature.h"

#include <algorithm>

#include "graph/domain.h"
#include "types/value_type.h"

namespace onnx_fp16::types {

namespace {

// Maps ports to formal parameters: port i is formal i, and a variadic last formal takes the rest.
template <typename Formals>
void bind_ports(const Formals& formals, int port_count, const onnx::OpSchema& schema,
                std::vector<std::string_view>& params, std::vector<std::string_view>& fixed) {
  params.assign(port_count, {});
  fixed.assign(port_count, {});
  if (formals.empty()) return;
  for (int port = 0; port < port_count; ++port) {
    const auto& formal = formals[std::min<std::size_t>(port, formals.size() - 1)];
    if (static_cast<std::size_t>(port) >= formals.size() &&
        formal.GetOption() != onnx::OpSchema::FormalParameterOption::Variadic) {
      break;  // more ports than the schema declares: leave them untyped
    }
    const std::string& type_str = formal.GetTypeStr();
    bool is_param = std::any_of(schema.typeConstraintParams().begin(), schema.typeConstraintParams().end(),
                                [&](const auto& c) { return c.type_param_str == type_str; });
    if (is_param) {
      params[port] = type_str;
    } else {
      fixed[port] = type_str;
    }
  }
}

}  // namespace

const onnx::OpSchema* SchemaLookup::find(const onnx::NodeProto& node, int opset) {
  std::string domain = graph::canonical_domain(node.domain());
  const int version = opset > 0 ? opset : INT32_MAX;
  const auto key = std::make_tuple(std::string_view(domain), std::string_view(node.op_type()), version);
  if (const auto found = found_.find(key); found != found_.end()) return found->second;
  const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Instance()->GetSchema(node.op_type(), version, domain);
  found_.emplace(std::make_tuple(std::move(domain), node.op_type(), version), schema);
  return schema;
}

const std::vector<std::string>* PortSignature::allowed_types(std::string_view param) const {
  for (const Allowed& a : allowed) {
    if (a.param == param) return a.types;
  }
  return nullptr;
}

bool PortSignature::param_allows(std::string_view param, std::int32_t elem) const {
  const std::vector<std::string>* types = allowed_types(param);
  if (types == nullptr) return false;
  // Compared as "tensor(" + name + ")" without building that string: asked for every port of
  // every node when a conversion types a graph.
  const std::string_view name = schema_type_name(elem);
  if (name.empty()) return false;
  constexpr std::string_view open = "tensor(";
  return std::any_of(types->begin(), types->end(), [&](std::string_view t) {
    return t.size() == open.size() + name.size() + 1 && t.starts_with(open) && t.substr(open.size(), name.size()) == name &&
           t.back() == ')';
  });
}

PortSignature port_signature(const onnx::NodeProto& node, int opset, SchemaLookup& schemas) {
  PortSignature sig;
  if (const onnx::OpSchema* schema = schemas.find(node, opset)) {
    sig.source = PortSignature::Source::Schema;
    sig.schema = schema;
    bind_ports(schema->inputs(), node.input_size(), *schema, sig.input_params, sig.input_fixed);
    bind_ports(schema->outputs(), node.output_size(), *schema, sig.output_params, sig.output_fixed);
    for (const auto& constraint : schema->typeConstraintParams()) {
      sig.allowed.push_back({constraint.type_param_str, &constraint.allowed_type_strs});
    }
    return sig;
  }
  if (const BuiltinTypeRule* rule = find_builtin_rule(node.domain(), node.op_type())) {
    sig.source = PortSignature::Source::BuiltinRule;
    sig.input_params.assign(node.input_size(), {});
    sig.output_params.assign(node.output_size(), {});
    sig.input_fixed.assign(node.input_size(), {});
    sig.output_fixed.assign(node.output_size(), {});
    for (int port : rule->float_inputs) {
      if (port < node.input_size()) sig.input_params[port] = "T";
    }
    for (int port : rule->float_outputs) {
      if (port < node.output_size()) sig.output_params[port] = "T";
    }
    static const std::vector<std::string> kFloatTypes{"tensor(float)", "tensor(float16)", "tensor(bfloat16)"};
    sig.allowed.push_back({"T", &kFloatTypes});
  }
  return sig;
}

}  // namespace onnx_fp16::types
