#include "types/port_signature.h"

#include <algorithm>

#include "graph/domain.h"
#include "types/value_type.h"

namespace onnx_fp16::types {

namespace {

// Maps ports to formal parameters: port i is formal i, and a variadic last formal takes the rest.
template <typename Formals>
void bind_ports(const Formals& formals, int port_count, const onnx::OpSchema& schema,
                std::vector<std::string>& params, std::vector<std::string>& fixed) {
  params.assign(port_count, "");
  fixed.assign(port_count, "");
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

const onnx::OpSchema* find_schema(const onnx::NodeProto& node, int opset) {
  const auto* registry = onnx::OpSchemaRegistry::Instance();
  std::string domain = graph::canonical_domain(node.domain());
  int version = opset > 0 ? opset : INT32_MAX;
  return registry->GetSchema(node.op_type(), version, domain);
}

}  // namespace

bool PortSignature::param_allows(const std::string& param, std::int32_t elem) const {
  auto it = allowed.find(param);
  if (it == allowed.end()) return false;
  const std::string wanted = tensor_type_string(elem);
  return std::any_of(it->second.begin(), it->second.end(), [&](const std::string& t) { return t == wanted; });
}

PortSignature port_signature(const onnx::NodeProto& node, int opset) {
  PortSignature sig;
  if (const onnx::OpSchema* schema = find_schema(node, opset)) {
    sig.source = PortSignature::Source::Schema;
    sig.schema = schema;
    bind_ports(schema->inputs(), node.input_size(), *schema, sig.input_params, sig.input_fixed);
    bind_ports(schema->outputs(), node.output_size(), *schema, sig.output_params, sig.output_fixed);
    for (const auto& constraint : schema->typeConstraintParams()) {
      sig.allowed[constraint.type_param_str] = constraint.allowed_type_strs;
    }
    return sig;
  }
  if (const BuiltinTypeRule* rule = find_builtin_rule(node.domain(), node.op_type())) {
    sig.source = PortSignature::Source::BuiltinRule;
    sig.input_params.assign(node.input_size(), "");
    sig.output_params.assign(node.output_size(), "");
    sig.input_fixed.assign(node.input_size(), "");
    sig.output_fixed.assign(node.output_size(), "");
    for (int port : rule->float_inputs) {
      if (port < node.input_size()) sig.input_params[port] = "T";
    }
    for (int port : rule->float_outputs) {
      if (port < node.output_size()) sig.output_params[port] = "T";
    }
    sig.allowed["T"] = {"tensor(float)", "tensor(float16)", "tensor(bfloat16)"};
  }
  return sig;
}

}  // namespace onnx_fp16::types
