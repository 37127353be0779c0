#include <onnx_fp16/inspect.h>

#include <algorithm>
#include <optional>
#include <set>

#include "graph/domain.h"
#include "graph/graph_index.h"
#include "io/proto_copy.h"
#include "io/proto_walk.h"
#include "io/tensor_bytes.h"
#include "types/type_inference.h"
#include "types/value_type.h"

namespace onnx_fp16 {
namespace {

using onnx::TensorProto;
using types::ValueType;

bool is_float(std::int32_t elem) {
  return elem == TensorProto::FLOAT || elem == TensorProto::FLOAT16 || elem == TensorProto::BFLOAT16 ||
         elem == TensorProto::DOUBLE;
}

std::string type_name(std::int32_t elem) { return elem == 0 ? "undefined" : types::elem_name(elem); }

// "float16", or "seq(float16)" / "optional(...)" / "map(...)" for values that are not plain tensors.
std::string declared_type_name(const onnx::TypeProto& type) {
  const ValueType value = types::from_type_proto(type);
  const std::string elem = type_name(value.elem);
  switch (value.kind) {
    case ValueType::Kind::Tensor: return elem;
    case ValueType::Kind::SparseTensor: return "sparse(" + elem + ")";
    case ValueType::Kind::Sequence: return "seq(" + elem + ")";
    case ValueType::Kind::Optional: return "optional(" + elem + ")";
    case ValueType::Kind::Map: return "map(" + elem + ")";
    case ValueType::Kind::Other:
    case ValueType::Kind::Unknown: break;
  }
  return "undefined";
}

// A copy to type, without the bytes of large float tensors: typing needs their types and
// shapes only (shape inference reads the data of small integer tensors: shapes, axes), and
// copying a model's weights would double the memory inspect needs.
onnx::ModelProto copy_for_typing(const onnx::ModelProto& model) {
  constexpr std::size_t kKeepBytesBelow = 4096;
  io::RawDataFilter filter{
      [](const TensorProto& tensor) { return is_float(tensor.data_type()) && tensor.raw_data().size() >= kKeepBytesBelow; },
      [](const TensorProto&, TensorProto&) {},
  };
  onnx::ModelProto copy;
  io::copy_with_raw_data_filter(model, copy, filter);
  return copy;
}

// The precision a node computes in, decided by the element types of its float values:
// - its float outputs, when it has any: a node computes in the precision it produces (a
//   converted node writes float16; a Cast counts as the type it casts to);
// - otherwise its float inputs (ArgMax, Less, Shape of a float16 tensor...);
// - several float types among the ones looked at: mixed; none at all: non_float, or unknown
//   when some value's type could not be worked out.
// Types come from ONNX shape inference plus the project's own propagation through operator
// schemas, the same typing the conversion uses, so inspect sees what convert saw.
Precision node_precision(const graph::Node& node, const std::vector<ValueType>& value_types) {
  bool any_unknown = false;
  auto float_precision = [&](const std::vector<graph::ValueId>& values) -> std::optional<Precision> {
    std::set<std::int32_t> elems;
    for (const graph::ValueId v : values) {
      if (v == graph::kNone) continue;
      const ValueType& t = value_types[v];
      if (!t.known()) {
        any_unknown = true;
      } else if (is_float(t.elem)) {
        elems.insert(t.elem);
      }
    }
    if (elems.empty()) return std::nullopt;
    if (elems.size() > 1) return Precision::Mixed;
    switch (*elems.begin()) {
      case TensorProto::FLOAT: return Precision::Float32;
      case TensorProto::FLOAT16: return Precision::Float16;
      case TensorProto::BFLOAT16: return Precision::BFloat16;
      default: return Precision::Float64;
    }
  };
  if (auto p = float_precision(node.outputs)) return *p;
  if (auto p = float_precision(node.inputs)) return *p;
  return any_unknown ? Precision::Unknown : Precision::NonFloat;
}

std::string op_label(const onnx::NodeProto& node) {
  if (graph::is_default_domain(node.domain())) return node.op_type();
  return node.domain() + "::" + node.op_type();
}

void count_nodes(const onnx::ModelProto& model, Census& census) {
  onnx::ModelProto copy = copy_for_typing(model);
  census.shape_inference_error = types::run_onnx_shape_inference(copy);
  const graph::GraphIndex index(copy);
  const std::vector<ValueType> value_types = types::type_graph(index).values;

  census.nodes = index.nodes().size();
  census.subgraphs = index.scopes().size() - 1;
  for (const auto& node : index.nodes()) {
    auto& counts = census.ops[op_label(*node.proto)];
    ++counts[static_cast<std::size_t>(node_precision(node, value_types))];
    if (node.proto->op_type() == "Cast" && op_label(*node.proto) == "Cast") {
      for (const auto& attribute : node.proto->attribute()) {
        if (attribute.name() == "to") ++census.casts_by_target[type_name(static_cast<std::int32_t>(attribute.i()))];
      }
    }
  }
}

void count_tensors(const onnx::ModelProto& model, Census& census) {
  for (const auto& value : model.graph().input()) ++census.tensors[declared_type_name(value.type())].inputs;
  for (const auto& value : model.graph().output()) ++census.tensors[declared_type_name(value.type())].outputs;
  io::for_each_nested<onnx::GraphProto>(model, [&](const onnx::GraphProto& graph) {
    for (const auto& value : graph.value_info()) ++census.tensors[declared_type_name(value.type())].value_info;
    for (const auto& tensor : graph.initializer()) {
      const std::string name = type_name(tensor.data_type());
      ++census.tensors[name].initializers;
      census.initializer_bytes[name] += io::tensor_data_bytes(tensor);
    }
    for (const auto& sparse : graph.sparse_initializer()) {
      const std::string name = type_name(sparse.values().data_type());
      ++census.tensors[name].initializers;
      census.initializer_bytes[name] += io::tensor_data_bytes(sparse.values()) + io::tensor_data_bytes(sparse.indices());
    }
  });
}

}  // namespace

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::Float32: return "float32";
    case Precision::Float16: return "float16";
    case Precision::BFloat16: return "bfloat16";
    case Precision::Float64: return "float64";
    case Precision::Mixed: return "mixed";
    case Precision::NonFloat: return "non_float";
    case Precision::Unknown: return "unknown";
  }
  return "?";
}

Census take_census(const onnx::ModelProto& model) {
  Census census;
  census.ir_version = model.ir_version();
  for (const auto& opset : model.opset_import()) {
    census.opsets.emplace_back(graph::domain_label(opset.domain()), opset.version());
  }
  count_nodes(model, census);
  count_tensors(model, census);
  return census;
}

}  // namespace onnx_fp16
