#include "frontend/report_json.h"

#include <cmath>

namespace onnx_fp16::frontend {
namespace {

// JSON has no infinity (nlohmann writes null): an infinite ratio or error is written "inf".
nlohmann::ordered_json finite_or_text(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json("inf");
}

}  // namespace

nlohmann::ordered_json mixed_report_json(const MixedReport& report, const std::string& input, const std::string& output) {
  nlohmann::ordered_json json;
  json["input"] = input;
  json["output"] = output;
  json["strategy"] = to_string(report.strategy);
  json["engine"] = to_string(report.engine);
  json["order"] = to_string(report.order);
  json["nodes_measured"] = report.nodes_measured;
  json["nodes_measured_to_cut"] = report.nodes_measured_to_cut;
  json["budget_spent"] = report.budget_spent;
  json["target"] = to_string(report.target);
  json["candidate_nodes"] = report.candidate_nodes;
  json["converted_nodes"] = report.converted_nodes;
  json["kept_count"] = report.kept_nodes.size();
  json["attempts"] = report.attempts;
  json["evaluator_runs"] = report.evaluator_runs;
  json["nodes_evaluated"] = report.nodes_evaluated;
  json["full_run_equivalents"] = report.full_run_equivalents;
  json["flop_run_equivalents"] = report.flop_run_equivalents;
  json["seconds"] = report.seconds;
  nlohmann::ordered_json phases = nlohmann::ordered_json::array();
  for (const auto& phase : report.phases) {
    phases.push_back(
        {{"name", phase.name}, {"seconds", phase.seconds}, {"full_run_equivalents", phase.full_run_equivalents},
         {"flop_run_equivalents", phase.flop_run_equivalents}});
  }
  json["phases"] = std::move(phases);
  json["final_check"] = report.final_check;
  json["float16_variants_checked"] = report.variants_checked;
  json["variant_spread"] = report.variant_spread;
  json["holdout_variants"] = report.holdout_variants;
  json["searched_again"] = report.searched_again;
  json["spread_safety"] = report.spread_safety_used;
  nlohmann::ordered_json margins = nlohmann::ordered_json::array();
  for (const auto& margin : report.margins) {
    nlohmann::ordered_json item = {{"output", margin.name},
                                   {"evaluator_ratio", finite_or_text(margin.evaluator_ratio)},
                                   {"worst_ratio", finite_or_text(margin.worst_ratio)},
                                   {"robust_ratio", finite_or_text(margin.robust_ratio)},
                                   {"variant_distance", finite_or_text(margin.variant_distance)}};
    if (margin.holdout_ratio >= 0) {
      item["holdout_ratio"] = finite_or_text(margin.holdout_ratio);
      nlohmann::ordered_json each = nlohmann::ordered_json::array();
      for (const double ratio : margin.holdout_ratios) each.push_back(finite_or_text(ratio));
      item["holdout_ratios"] = std::move(each);
    }
    margins.push_back(std::move(item));
  }
  json["margins"] = std::move(margins);
  json["flops_total"] = report.flops_total;
  json["flops_float16"] = report.flops_float16;
  json["flops_float16_share"] = report.flops_total > 0 ? report.flops_float16 / report.flops_total : 0.0;
  json["weight_bytes_total"] = report.weight_bytes_total;
  json["weight_bytes_float16"] = report.weight_bytes_float16;
  json["weight_bytes_float16_share"] =
      report.weight_bytes_total > 0 ? report.weight_bytes_float16 / report.weight_bytes_total : 0.0;
  nlohmann::ordered_json kept = nlohmann::ordered_json::array();
  for (const auto& node : report.kept_nodes) {
    nlohmann::ordered_json entry = {{"name", node.name},     {"graph", node.graph},   {"op_type", node.op_type},
                                    {"reason", to_string(node.reason)}, {"detail", node.detail}, {"flops", node.flops}};
    if (node.sensitivity >= 0) entry["sensitivity"] = finite_or_text(node.sensitivity);
    if (node.output_effect >= 0) entry["output_effect"] = finite_or_text(node.output_effect);
    kept.push_back(std::move(entry));
  }
  json["kept"] = std::move(kept);
  json["casts_added"] = report.conversion.casts_added;
  json["shape_inference"] = shape_inference_json(report.conversion);
  json["progress"] = report.log;
  return json;
}

}  // namespace onnx_fp16::frontend
