// What onnx-fp16 knows about ONNX-domain operators beyond their schemas, in one table: which
// inputs are shapes or indices, which attribute sets the output type, which ops end a
// shape-computation walk, and which are valid in float16 yet cannot run so. The typing
// (type_inference.cc), the conversion's port rules, policy and rewrite, and the shape-computation
// analysis all read it: adding an op's rule is one entry in op_rules.cc. (com.microsoft ops have
// their own table, builtin_type_rules.cc, because ONNX has no schemas for them.)
#pragma once

#include <onnx/onnx_pb.h>

#include <optional>
#include <string_view>
#include <vector>

namespace onnx_fp16::types {

// An output type that an integer attribute sets.
struct TypeAttribute {
  enum class WhenAbsent {
    Required,        // Cast's `to`
    Float32,         // the output is float32 (Random*, the window ops)
    LikeFirstInput,  // the output has the first input's type (the *Like ops, Bernoulli)
  };
  std::string_view name;  // "to", "dtype", "output_datatype"
  WhenAbsent when_absent = WhenAbsent::Required;
};

struct OpRule {
  std::string_view op_type;
  // Inputs whose values are shapes, sizes, indices or axes (not data): float arithmetic feeding
  // them must stay exact, and runtimes expect float32 there (Resize roi/scales).
  std::vector<int> index_ports = {};
  std::optional<TypeAttribute> type_attribute = std::nullopt;
  // Its integer results come from its input's shape or from comparisons, not from float
  // arithmetic on it: a walk back from an index port stops here.
  bool stops_shape_walk = false;
  // Valid in float16 by its schema, but ONNX Runtime or ONNX's checker cannot take it in float16:
  // why (nullptr: nothing stops it). `limited`, when set, narrows this to some attribute values.
  const char* runtime_limitation = nullptr;
  bool (*limited)(const onnx::NodeProto& node) = nullptr;
  // Its integer results are sums of products (ConvInteger, MatMulInteger): up to 2^31, far
  // beyond float16's 65504 until the quantization scales bring them down.
  bool integer_sums = false;
  // Its float outputs hold its first input's values moved, selected or mapped exactly (Reshape,
  // Gather, Relu, MaxPool, Neg): on float16 values it computes float16 values, so in float16 it
  // rounds nothing its input's producer has not rounded. Numerically its precision does not
  // matter when it follows that producer's: the improved mixed search decides it with its
  // producer instead of trying it (mixed/search_units.h).
  bool preserves_values = false;
  // Its float outputs are values of its float inputs (or of its subgraphs' outputs), moved or
  // selected, never computed (Concat, Pad, Where, Max, If): like the ops that preserve values,
  // it rounds nothing in any implementation, but several inputs feed it, so the search does not
  // decide it with one producer. mixed/rebuild_engine.cc's simulated implementations leave both
  // kinds' outputs as they are.
  bool selects_values = false;
};

// The rule of a node of the ONNX domain; nullptr for other domains and ops without one.
const OpRule* find_op_rule(const onnx::NodeProto& node);
// Every rule (for tests and documentation).
const std::vector<OpRule>& op_rules();

// Whether input `port` of `node` is a shape/index port (OpRule::index_ports).
bool is_index_port(const onnx::NodeProto& node, int port);
// The runtime limitation that keeps `node` in float32, or nullptr.
const char* runtime_limitation(const onnx::NodeProto& node);
// Whether `node`'s results are integer sums of products (OpRule::integer_sums).
bool makes_integer_sums(const onnx::NodeProto& node);
// Whether `node`'s float outputs are its first input's values, moved or mapped exactly
// (OpRule::preserves_values).
bool preserves_values(const onnx::NodeProto& node);
// Whether `node` rounds nothing in any implementation: its float outputs are values of its
// inputs or subgraphs, moved, selected or mapped exactly (preserves_values or selects_values).
bool only_moves_values(const onnx::NodeProto& node);

}  // namespace onnx_fp16::types
