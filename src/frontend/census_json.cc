#include "frontend/report_json.h"

namespace onnx_fp16::frontend {

using Json = nlohmann::ordered_json;

Json census_json(const Census& census, const std::string& model_path) {
  Json opsets = Json::object();
  for (const auto& [domain, version] : census.opsets) opsets[domain] = version;

  Json nodes_by_precision = Json::object();
  for (std::size_t p = 0; p < kPrecisionCount; ++p) {
    Json ops = Json::object();
    for (const auto& [op, counts] : census.ops) {
      if (counts[p] > 0) ops[op] = counts[p];
    }
    if (!ops.empty()) nodes_by_precision[precision_name(static_cast<Precision>(p))] = ops;
  }

  Json tensors = Json::object();
  for (const auto& [type, counts] : census.tensors) {
    tensors[type] = {{"inputs", counts.inputs},
                     {"outputs", counts.outputs},
                     {"value_info", counts.value_info},
                     {"initializers", counts.initializers}};
  }

  return Json{
      {"model", model_path},
      {"ir_version", census.ir_version},
      {"opsets", opsets},
      {"nodes", census.nodes},
      {"subgraphs", census.subgraphs},
      {"nodes_by_precision", nodes_by_precision},
      {"casts_by_target", census.casts_by_target},
      {"tensors_by_type", tensors},
      {"initializer_bytes_by_type", census.initializer_bytes},
      {"shape_inference_error",
       census.shape_inference_error.empty() ? Json(nullptr) : Json(census.shape_inference_error)},
  };
}

}  // namespace onnx_fp16::frontend
