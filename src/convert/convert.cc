// The conversion pipeline: types -> policy -> plan -> rewrite.
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>

#include "convert/context.h"
#include "convert/pipeline.h"
#include "convert/plan.h"
#include "convert/policy.h"
#include "convert/rewrite.h"
#include "graph/domain.h"
#include "graph/graph_index.h"
#include "types/type_inference.h"

namespace onnx_fp16 {

namespace {

// The original refuses to convert a model that already holds the target type: converting twice
// would clamp and round constants again. Returns where it found one, or "".
std::string find_target_typed_tensor(const onnx::GraphProto& graph, std::int32_t target) {
  auto typed = [&](const onnx::ValueInfoProto& v) {
    return v.type().has_tensor_type() && v.type().tensor_type().elem_type() == target;
  };
  for (const auto& v : graph.input()) {
    if (typed(v)) return "graph input '" + v.name() + "'";
  }
  for (const auto& v : graph.output()) {
    if (typed(v)) return "graph output '" + v.name() + "'";
  }
  for (const auto& t : graph.initializer()) {
    if (t.data_type() == target) return "initializer '" + t.name() + "'";
  }
  for (const auto& v : graph.value_info()) {
    if (typed(v)) return "tensor '" + v.name() + "'";
  }
  for (const auto& node : graph.node()) {
    for (const auto& a : node.attribute()) {
      if (a.has_t() && a.t().data_type() == target) return "a tensor attribute of node '" + node.name() + "'";
      if (a.has_g()) {
        if (auto where = find_target_typed_tensor(a.g(), target); !where.empty()) return where;
      }
      for (const auto& g : a.graphs()) {
        if (auto where = find_target_typed_tensor(g, target); !where.empty()) return where;
      }
    }
  }
  return "";
}

// Inserted Casts belong to the ONNX domain; a model that imports only other domains (training
// ops, ML ops) needs an import of it. Cast-13 is the first to know bfloat16.
void ensure_default_domain_import(onnx::ModelProto& model, const ConversionReport& report) {
  if (report.casts_added == 0) return;
  for (const auto& op : model.opset_import()) {
    if (graph::is_default_domain(op.domain())) return;
  }
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  if (model.ir_version() < 7) model.set_ir_version(7);
}

}  // namespace

namespace convert {

ConversionReport run_pipeline(onnx::ModelProto& model, const Float16Options& options,
                              const std::vector<bool>& forced_keep) {
  const std::int32_t target = elem_type(target_precision(options.target));
  if (!model.has_graph()) throw Error("the model has no graph");
  if (!options.force) {
    if (auto where = find_target_typed_tensor(model.graph(), target); !where.empty()) {
      throw Error("the model already holds " + types::elem_name(target) + " (" + where +
                  "); converting again would round its constants twice. Use --force (Float16Options::force) to "
                  "convert anyway");
    }
  }
  if (options.target == TargetType::Float16 &&
      !(options.min_positive_val > 0 && options.max_finite_val > options.min_positive_val)) {
    throw Error("min_positive_val must be positive and smaller than max_finite_val");
  }

  ConversionReport report;
  // Built before shape inference, which leaves what the index holds (nodes, names,
  // initializers) as it is: one index serves both.
  graph::GraphIndex index(model);
  if (!options.disable_shape_infer) {
    report.shape_inference_error = types::run_onnx_shape_inference(model, index);
    report.shape_inference_ran = report.shape_inference_error.empty();
    if (!report.shape_inference_ran) {
      report.warnings.push_back("ONNX shape inference failed (" + report.shape_inference_error +
                                "); types come from the model's declarations and the operator schemas");
    }
  }

  const Context ctx = make_context(index, options);
  const Plan plan = make_plan(ctx, decide_nodes(ctx, forced_keep));

  // Record the decisions before the rewrite moves nodes around.
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(index.nodes().size()); ++n) {
    const NodeDecision& d = plan.decisions[n];
    if (d.fate == NodeDecision::Fate::NotFloat) continue;
    if (d.converted()) {
      ++report.converted_nodes;
    } else {
      report.kept_nodes.push_back({index.node_label(n), index.node(n).proto->op_type(),
                                   index.scope(index.node(n).scope).label, d.reason, d.detail});
    }
  }
  apply_plan(ctx, plan, report);
  ensure_default_domain_import(model, report);
  return report;
}

}  // namespace convert

ConversionReport convert_float_to_float16(onnx::ModelProto& model, const Float16Options& options) {
  return convert::run_pipeline(model, options, {});
}

}  // namespace onnx_fp16
