// auto_convert_mixed_precision: checks, screens, the segment search, the final conversion.
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/mixed.h>

#include <cstdio>

#include "mixed/candidate_engine.h"
#include "mixed/candidate_model.h"
#include "mixed/conversion_analysis.h"
#include "mixed/incremental_engine.h"
#include "mixed/progress.h"
#include "mixed/screens.h"
#include "mixed/search_units.h"
#include "mixed/segment_search.h"
#include "mixed/validation.h"
#include "runtime/feed_validation.h"

namespace onnx_fp16 {

const char* to_string(MixedKeepReason reason) {
  switch (reason) {
    case MixedKeepReason::Search: return "search";
    case MixedKeepReason::Float16Overflow: return "float16_overflow";
    case MixedKeepReason::Float16Underflow: return "float16_underflow";
    case MixedKeepReason::DataMax: return "data_max";
    case MixedKeepReason::InitMax: return "init_max";
    case MixedKeepReason::KeepOp: return "keep_op";
    case MixedKeepReason::KeepNode: return "keep_node";
  }
  return "unknown";
}

namespace mixed {
namespace {

void check_samples(const onnx::ModelProto& model, const std::vector<Feeds>& samples) {
  if (samples.empty()) throw Error("auto mixed precision needs at least one sample input");
  const std::vector<InputInfo> inputs = runtime::describe_inputs(model.graph());
  for (std::size_t s = 0; s < samples.size(); ++s) {
    try {
      runtime::validate_feeds(inputs, samples[s]);
    } catch (const Error& e) {
      throw Error("sample " + std::to_string(s) + ": " + e.what());
    }
  }
}

// The float32 model's outputs on every sample, and the named intermediates (for the screens):
// from the engine when it can (the incremental one starts from that state), else an Evaluator.
// With a runner the reference outputs come from the runtime the user deploys on.
Float32Run run_float32(CandidateEngine& engine, const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                       const MixedOptions& options, const std::vector<std::string>& keep) {
  if (auto run = engine.run_float32(keep)) return std::move(*run);
  Float32Run run;
  if (!keep.empty() || !options.runner) {
    const Evaluator evaluator(analysis.model(), {.threads = options.threads, .keep = keep});
    for (const Feeds& sample : samples) {
      auto named = evaluator.run(sample);
      run.outputs.push_back(ordered_outputs(evaluator, named));
      if (!keep.empty()) run.values.push_back(std::move(named));
    }
  }
  if (options.runner) run.outputs = options.runner(analysis.model(), samples);
  return run;
}

std::unique_ptr<CandidateEngine> choose_engine(ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                               const MixedOptions& options) {
  if (options.runner) return make_runner_engine(analysis, samples, options.runner);
  if (options.strategy == SearchStrategy::Improved && incremental_engine_supports(analysis)) {
    return make_incremental_engine(analysis, samples, options.threads);
  }
  return make_rebuild_engine(analysis, samples, options.threads);
}

}  // namespace
}  // namespace mixed

MixedReport auto_convert_mixed_precision(onnx::ModelProto& model, const std::vector<Feeds>& samples,
                                         const MixedOptions& options) {
  using namespace mixed;
  MixedReport report;
  ProgressReporter progress(options, report.log);
  if (options.conversion.target != TargetType::Float16) throw Error("auto mixed precision converts to float16 only");
  if (!model.has_graph()) throw Error("the model has no graph");
  std::vector<std::string> output_names;
  for (const auto& output : model.graph().output()) output_names.push_back(output.name());
  const Validator validator(options, output_names);
  check_samples(model, samples);

  Float16Options conversion = options.conversion;
  conversion.keep_io_types = options.keep_io_types;
  conversion.block_node = nullptr;
  ConversionAnalysis analysis(model, conversion);
  const SearchUnits units = find_search_units(analysis);
  report.candidate_nodes = units.size();
  report.strategy = options.strategy == SearchStrategy::Baseline ? "baseline" : "improved";

  std::unique_ptr<CandidateEngine> engine = choose_engine(analysis, samples, options);
  report.engine = engine->name();

  // The float32 reference (and the values the screens read).
  const bool range_screen = options.strategy == SearchStrategy::Improved;
  const bool need_values = range_screen || options.data_max.has_value();
  const Float32Run float32 = run_float32(*engine, analysis, samples, options,
                                         need_values ? screened_value_names(analysis, units) : std::vector<std::string>{});
  const bool float32_by_engine = engine->stats().runs > 0;
  if (const Verdict self = validator.check_all(float32.outputs, float32.outputs); !self.ok) {
    throw Error("the float32 model does not pass its own validation (" + validator.describe() + "): " + self.detail +
                "; NaN outputs are never close");
  }
  const std::vector<std::optional<ScreenVerdict>> screened =
      screen_units(analysis, units, need_values ? measure_ranges(float32.values) : ValueRanges{}, options, range_screen);
  progress.note("float32 model: " + std::to_string(units.size()) + " nodes can convert; validating with " +
                validator.describe() + " on " + std::to_string(samples.size()) + " sample" +
                (samples.size() == 1 ? "" : "s"));

  std::vector<bool> kept_units(units.size(), true);
  if (const Verdict all_kept = validator.check_all(float32.outputs, engine->run(units.kept_nodes(kept_units)));
      !all_kept.ok) {
    throw Error("even with every node kept in float32 the model fails validation (" + validator.describe() +
                "): " + all_kept.detail + (options.keep_io_types ? "" : "; try keep_io_types (--keep-io-types)"));
  }
  engine->accept_last();

  // The screens' verdicts; the search covers the rest.
  std::vector<std::size_t> searched;  // positions in the search -> units
  std::vector<std::string> errors(units.size());
  std::size_t screened_count = 0;
  for (std::size_t u = 0; u < units.size(); ++u) {
    if (screened[u]) {
      ++screened_count;
    } else {
      searched.push_back(u);
    }
  }
  if (screened_count > 0) progress.note(std::to_string(screened_count) + " nodes kept by the screens before the search");

  SegmentSearch search(options.search ? searched.size() : 0);
  auto kept_for = [&](const std::vector<bool>& kept_positions) {
    std::vector<bool> kept(units.size(), true);
    if (!options.search) {
      for (std::size_t u = 0; u < units.size(); ++u) kept[u] = screened[u].has_value();
      return kept;
    }
    for (std::size_t p = 0; p < searched.size(); ++p) kept[searched[p]] = kept_positions[p];
    return kept;
  };
  progress.search_starting();
  while (const auto trial = search.next()) {
    const SegmentSearch::Segment segment = search.segments()[*trial];
    const std::vector<bool> kept = kept_for(search.kept_while_trying(*trial));
    Verdict verdict;
    engine->run_checked(units.kept_nodes(kept), [&](std::size_t s, const std::vector<Tensor>& outputs) {
      verdict = validator.check(float32.outputs[s], outputs, s);
      return verdict.ok;
    });
    ++report.attempts;
    if (verdict.ok) {
      search.passed(*trial);
      engine->accept_last();
    } else {
      if (segment.size == 1) errors[searched[segment.begin]] = verdict.detail;
      search.failed(*trial);
    }
    progress.attempt(report.attempts, segment.size, verdict.ok, search);
  }
  kept_units = kept_for(search.kept_now());

  // The result: converted for real, validated once more.
  const EngineStats stats = engine->stats();
  engine.reset();  // its values and compiled model are no longer needed: free them before converting
  const double search_end = progress.elapsed_seconds();
  onnx::ModelProto result = convert_with_kept(analysis, units.kept_nodes(kept_units), &report.conversion);
  const double converted_at = progress.elapsed_seconds();
  report.conversion.shape_inference_ran = !conversion.disable_shape_infer;
  std::vector<std::vector<Tensor>> final_outputs;
  if (options.runner) {
    std::vector<Feeds> feeds;
    for (const Feeds& sample : samples) feeds.push_back(adapt_feeds(result, sample));
    final_outputs = options.runner(result, feeds);
  } else {
    final_outputs = run_on_evaluator(result, samples, options.threads);
  }
  const Verdict final_verdict = validator.check_all(float32.outputs, final_outputs);
  if (!final_verdict.ok && !options.search) {
    // Screens only: the user chose the nodes; say how the result does instead of refusing it.
    report.final_check = "FAILS " + validator.describe() + " (" + final_verdict.detail + ")";
  } else if (!final_verdict.ok) {
    throw Error("internal: the final mixed-precision model fails validation although its search passed (" +
                final_verdict.detail + "); please report it, with --strategy baseline as a workaround");
  }
  if (final_verdict.ok) report.final_check = "passes " + validator.describe() + " on every sample";
  char timing[120];
  std::snprintf(timing, sizeof timing, "final model: converted in %.2f s, checked in %.2f s", converted_at - search_end,
                progress.elapsed_seconds() - converted_at);
  progress.note(timing);

  for (std::size_t u = 0; u < units.size(); ++u) {
    if (!kept_units[u]) {
      ++report.converted_nodes;
      continue;
    }
    const onnx::NodeProto& node = *analysis.index().node(units.nodes[u]).proto;
    MixedKeptNode kept{units.labels[u], node.op_type(), MixedKeepReason::Search, errors[u]};
    if (screened[u]) {
      kept.reason = screened[u]->reason;
      kept.detail = screened[u]->detail;
    }
    report.kept.push_back(std::move(kept));
  }
  // Besides the engine's runs: the final check, and the float32 run when an Evaluator made it.
  const int extra_passes = 1 + (float32_by_engine ? 0 : 1);
  report.evaluator_runs = stats.runs + static_cast<int>(samples.size()) * extra_passes;
  const std::size_t nodes_per_run = count_nodes(analysis.model().graph());
  report.nodes_evaluated = stats.nodes_evaluated + samples.size() * nodes_per_run * extra_passes;
  report.full_run_equivalents =
      nodes_per_run == 0 ? 0 : static_cast<double>(report.nodes_evaluated) / static_cast<double>(nodes_per_run);
  report.seconds = progress.elapsed_seconds();
  char summary[160];
  std::snprintf(summary, sizeof summary, "done: %zu of %zu nodes in float16, %zu kept; %d attempts, %.1f full-run equivalents, %.2f s",
                report.converted_nodes, report.candidate_nodes, report.kept.size(), report.attempts,
                report.full_run_equivalents, report.seconds);
  progress.note(summary);
  model = std::move(result);
  return report;
}

}  // namespace onnx_fp16
