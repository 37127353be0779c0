// The typing of a node's ports: which type parameter binds each input and output, and which
// element types each parameter allows. From ONNX's operator schemas at the model's opset, or
// from the built-in rules for ONNX Runtime's com.microsoft ops that have no ONNX schema.
#pragma once

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace onnx_fp16::types {

struct PortSignature {
  enum class Source { None, Schema, BuiltinRule };
  Source source = Source::None;
  const onnx::OpSchema* schema = nullptr;
  // The strings below are views into the operator schema or the built-in rule: ONNX's schema
  // registry and the rules live as long as the process. A signature is made for every node,
  // twice per conversion; copying the strings made 96,000 of the 1.74 million allocations of
  // converting a 16,000-node graph.
  // Per port: the type parameter binding it ("T"), or "" for a port of one fixed type.
  std::vector<std::string_view> input_params;
  std::vector<std::string_view> output_params;
  // Per port of fixed type: its schema type string ("tensor(int64)"); "" where unknown.
  std::vector<std::string_view> input_fixed;
  std::vector<std::string_view> output_fixed;
  // Allowed type strings of each parameter.
  struct Allowed {
    std::string_view param;
    const std::vector<std::string>* types;
  };
  std::vector<Allowed> allowed;

  bool known() const { return source != Source::None; }
  // The type strings `param` allows; nullptr for a parameter the signature does not constrain.
  const std::vector<std::string>* allowed_types(std::string_view param) const;
  bool param_allows(std::string_view param, std::int32_t elem) const;
};

// Operator schemas for one pass over a graph's nodes: ONNX's registry is asked once per
// (domain, op type, opset). A registry lookup copies strings and searches three nested maps,
// and a graph repeats a few op types thousands of times: on a 16,000-node graph the cache took
// about 45 million instructions, 4% of a conversion, off.
class SchemaLookup {
 public:
  // The schema of `node` at `opset`, the model's import version for its domain (0: the newest
  // known), or nullptr where ONNX has none.
  const onnx::OpSchema* find(const onnx::NodeProto& node, int opset);

 private:
  // Orders keys of std::string and of std::string_view alike, so a lookup builds no string.
  // Spelled out because clang 14's C++20 mode cannot compare tuples of the two string types.
  struct KeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::tuple(std::string_view(std::get<0>(a)), std::string_view(std::get<1>(a)), std::get<2>(a)) <
             std::tuple(std::string_view(std::get<0>(b)), std::string_view(std::get<1>(b)), std::get<2>(b));
    }
  };
  std::map<std::tuple<std::string, std::string, int>, const onnx::OpSchema*, KeyLess> found_;
};

// `opset` is the model's import version for the node's domain (0: use the newest known).
PortSignature port_signature(const onnx::NodeProto& node, int opset, SchemaLookup& schemas);

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
