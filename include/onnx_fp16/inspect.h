// The precision census behind `onnx-fp16 inspect` and the Python package's `inspect()`: which
// precision each node computes in, the casts, and the element types of the model's tensors.
#pragma once

#include <onnx/onnx_pb.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace onnx_fp16 {

// The precision a node computes in (see node_precision in census.cc for the rule).
enum class Precision { Float32, Float16, BFloat16, Float64, Mixed, NonFloat, Unknown };
inline constexpr std::size_t kPrecisionCount = 7;
// "float32", "float16", "bfloat16", "float64", "mixed", "non_float", "unknown".
const char* precision_name(Precision precision);

// Declared tensors of one element type, by where they are declared.
struct TensorCounts {
  std::size_t inputs = 0;        // the model's (main graph's) inputs
  std::size_t outputs = 0;       // the model's outputs
  std::size_t value_info = 0;    // value_info entries of all graphs
  std::size_t initializers = 0;  // initializers (dense and sparse) of all graphs
};

struct Census {
  std::int64_t ir_version = 0;
  std::vector<std::pair<std::string, std::int64_t>> opsets;  // domain ("ai.onnx" for the default), version
  std::size_t nodes = 0;      // in all graphs
  std::size_t subgraphs = 0;  // graphs held by node attributes (If branches, Loop bodies...), at any depth
  // Per op type ("Add", or "com.microsoft::Attention" outside the default domain): node
  // counts indexed by Precision.
  std::map<std::string, std::array<std::size_t, kPrecisionCount>> ops;
  std::map<std::string, std::size_t> casts_by_target;                // element type name -> Cast nodes
  std::map<std::string, TensorCounts> tensors;                       // element type name -> counts
  std::map<std::string, std::uint64_t> initializer_bytes;            // element type name -> bytes
  std::string shape_inference_error;  // why ONNX shape inference failed (types then come from the schemas)
};

// Does not change `model`; types are worked out on a copy without its large float tensors'
// bytes. Throws onnx_fp16::Error when the graph is malformed (a node reads an undefined name).
Census take_census(const onnx::ModelProto& model);

}  // namespace onnx_fp16
