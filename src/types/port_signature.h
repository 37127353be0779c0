// The typing of a node's ports: which type parameter binds each input and output, and which
// element types each parameter allows. From ONNX's operator schemas at the model's opset, or
// from the built-in rules for ONNX Runtime's com.microsoft ops that have no ONNX schema.
#pragma once

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace onnx_fp16::types {

struct PortSignature {
  enum class Source { None, Schema, BuiltinRule };
  Source source = Source::None;
  const onnx::OpSchema* schema = nullptr;
  // Per port: the type parameter binding it ("T"), or "" for a port of one fixed type.
  std::vector<std::string> input_params;
  std::vector<std::string> output_params;
  // Per port of fixed type: its schema type string ("tensor(int64)"); "" where unknown.
  std::vector<std::string> input_fixed;
  std::vector<std::string> output_fixed;
  // Allowed type strings of each parameter.
  std::map<std::string, std::vector<std::string>> allowed;

  bool known() const { return source != Source::None; }
  bool param_allows(const std::string& param, std::int32_t elem) const;
};

// `opset` is the model's import version for the node's domain (0: use the newest known).
PortSignature port_signature(const onnx::NodeProto& node, int opset);

// A built-in rule for an op outside ONNX's schemas: the ports bound to its float type
// parameter "T"; every other port keeps the type it has.
struct BuiltinTypeRule {
  const char* domain;
  const char* op_type;
  std::vector<int> float_inputs;
  std::vector<int> float_outputs;
};
const BuiltinTypeRule* find_builtin_rule(const std::string& domain, const std::string& op_type);
// Every built-in rule (for tests: each has a kernel in the evaluator, and each contrib kernel a rule).
const std::vector<BuiltinTypeRule>& builtin_type_rules();

}  // namespace onnx_fp16::types
