// The float16 conversion: the library face of `onnx-fp16 convert`.
//
// Mirrors onnxconverter-common's `convert_float_to_float16(model, min_positive_val,
// max_finite_val, keep_io_types, disable_shape_infer, op_block_list, node_block_list)`, with
// the same defaults, taking and returning an onnx::ModelProto.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace onnx_fp16 {

// The spec's DEFAULT_OP_BLOCK_LIST: ops left in float32 unless the caller says otherwise.
const std::vector<std::string>& default_op_block_list();

enum class TargetType { Float16, BFloat16 };
const char* to_string(TargetType target);  // "float16", "bfloat16"

struct Float16Options {
  TargetType target = TargetType::Float16;
  // Constant clamping (float16 only; bfloat16 has float32's range): magnitudes strictly between
  // 0 and min_positive_val become min_positive_val, strictly between max_finite_val and inf
  // become max_finite_val; 0, NaN and +-inf are unchanged.
  float min_positive_val = 1e-7f;
  float max_finite_val = 1e4f;
  // Graph inputs/outputs stay float32. keep_io_names, when not empty, narrows this to those
  // names (keep_io_types need not be set then).
  bool keep_io_types = false;
  std::vector<std::string> keep_io_names;
  bool disable_shape_infer = false;
  // Unset means the default list; an empty vector means "block nothing".
  std::optional<std::vector<std::string>> op_block_list;
  std::vector<std::string> node_block_list;
  // Convert even if the model already holds float16 (the original refuses such models).
  bool force = false;
};

// Why a node stayed in float32.
enum class KeepReason {
  OpBlockList,
  NodeBlockList,
  NoFloat16InSchema,    // the operator's schema (at the model's opset) has no float16 variant
  UnknownOperator,      // no schema and no built-in type rule
  ModelLocalFunction,   // a call of one of the model's own functions: left as written
  ShapeComputation,     // float arithmetic whose result becomes a shape or an index
  NonTensorTypes,       // sequence/optional/map values cannot be cast, so they stay float32
  CastFollowsConsumers, // a Cast to float whose every reader is float32
  RuntimeLimitation,    // valid in float16, but ONNX Runtime or ONNX's checker cannot take it
  IntegerSums,          // casts or scales the int32 sums of ConvInteger/MatMulInteger (float16 overflows)
};
const char* to_string(KeepReason reason);

struct KeptNode {
  std::string name;     // the node's name, or "<op_type>#<index>" where it has none
  std::string op_type;
  std::string graph;    // the (sub)graph holding it: "main", or "<node>/<attribute>"
  KeepReason reason;
  std::string detail;
};

struct ConversionReport {
  std::vector<KeptNode> kept_nodes;
  std::size_t converted_nodes = 0;
  std::size_t casts_added = 0;
  std::size_t initializers_converted = 0;
  std::size_t initializers_duplicated = 0;  // read in both precisions: a float16 copy was added
  std::size_t constants_converted = 0;      // Constant nodes and tensor attributes
  std::size_t values_clamped = 0;           // constant values changed by the clamping rule
  std::uint64_t float_bytes_before = 0;     // bytes of float32 constants before conversion
  std::uint64_t float_bytes_after = 0;      // bytes of float32 + float16 constants after
  bool shape_inference_ran = false;
  std::string shape_inference_error;        // why ONNX shape inference failed, if it did
  std::vector<std::string> warnings;
};

// Converts `model` in place. Throws onnx_fp16::Error with a message naming the tensor or node
// at fault (untypeable float tensor, model already float16 without `force`, ...).
ConversionReport convert_float_to_float16(onnx::ModelProto& model, const Float16Options& options = {});

}  // namespace onnx_fp16
