#include "frontend/report_json.h"

#include <charconv>
#include <cstdlib>

namespace onnx_fp16::frontend {
namespace {

using Json = nlohmann::ordered_json;

// The float option as the user would write it: 1e-07, not 1.0000000116860974e-07 (the float
// widened to double). to_chars gives the shortest text that reads back as the same float.
double as_written(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text - 1, value).ptr;
  *end = '\0';
  return std::strtod(text, nullptr);
}


// The options as they took effect: the op block list is the default one unless replaced, so
// a reader of the report never has to know what "default" meant in this version.
Json options_json(const ConvertOutcome& outcome) {
  const Float16Options& o = outcome.options;
  return Json{
      {"to", to_string(o.target)},
      {"min_positive_val", as_written(o.min_positive_val)},
      {"max_finite_val", as_written(o.max_finite_val)},
      {"keep_io_types", o.keep_io_types},
      {"keep_io", o.keep_io_names},
      {"disable_shape_infer", o.disable_shape_infer},
      {"op_block_list", o.op_block_list.value_or(default_op_block_list())},
      {"op_block_list_is_default", !o.op_block_list.has_value()},
      {"node_block_list", o.node_block_list},
      {"force", o.force},
      {"external_data", outcome.external_data_file ? Json(*outcome.external_data_file) : Json(nullptr)},
      {"check", outcome.checked},
  };
}

Json kept_nodes_json(const std::vector<KeptNode>& kept) {
  Json nodes = Json::array();
  for (const KeptNode& node : kept) {
    nodes.push_back({{"name", node.name},
                     {"op_type", node.op_type},
                     {"graph", node.graph},
                     {"reason", to_string(node.reason)},
                     {"detail", node.detail}});
  }
  return nodes;
}

}  // namespace

Json shape_inference_json(const ConversionReport& report) {
  return Json{{"ran", report.shape_inference_ran},
              {"error", report.shape_inference_error.empty() ? Json(nullptr) : Json(report.shape_inference_error)}};
}

Json report_json(const ConvertOutcome& outcome) {
  const ConversionReport& r = outcome.report;
  Json json{
      {"input", outcome.input},
      {"output", outcome.output},
      {"options", options_json(outcome)},
      {"converted_nodes", r.converted_nodes},
      {"kept_nodes", kept_nodes_json(r.kept_nodes)},
      {"casts_added", r.casts_added},
      {"initializers_converted", r.initializers_converted},
      {"initializers_duplicated", r.initializers_duplicated},
      {"constants_converted", r.constants_converted},
      {"values_clamped", r.values_clamped},
      {"bytes",
       {{"float_constants_before", r.float_bytes_before},
        {"float_constants_after", r.float_bytes_after},
        {"input_file", outcome.files.input_file},
        {"output_file", outcome.files.output_file},
        {"output_data_file", outcome.files.output_data_file}}},
      {"time_seconds",
       {{"load", outcome.seconds.load},
        {"convert", outcome.seconds.convert},
        {"check", outcome.seconds.check},
        {"save", outcome.seconds.save},
        {"total", outcome.seconds.total}}},
      {"shape_inference", shape_inference_json(r)},
      {"warnings", outcome.warnings},
  };
  if (outcome.peak_memory_bytes > 0) json["peak_memory_bytes"] = outcome.peak_memory_bytes;
  return json;
}

}  // namespace onnx_fp16::frontend
