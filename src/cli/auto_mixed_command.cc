#include "cli/auto_mixed_command.h"

#include <onnx_fp16/error.h>
#include <onnx_fp16/model_io.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/atomic_text_file.h"
#include "cli/external_runner.h"
#include "frontend/json_text.h"
#include "io/model_save.h"
#include "io/streamed_model.h"
#include "mixed/streamed.h"
#include "frontend/report_json.h"
#include "frontend/output_paths.h"
#include "cli/progress_display.h"
#include "cli/run_inputs.h"
#include "cli/stopwatch.h"
#include "cli/text_format.h"
#include "runtime/feed_validation.h"

namespace onnx_fp16::cli {
namespace {

namespace fs = std::filesystem;

// One --input is one sample, except a folder of ONNX test data sets (test_data_set_0, ...),
// which is one sample per set.
std::vector<std::string> expand_sample_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> expanded;
  for (const auto& path : paths) {
    std::vector<std::string> sets;
    std::error_code error;
    if (fs::is_directory(path, error)) {
      for (const auto& entry : fs::directory_iterator(path, error)) {
        if (entry.is_directory() && entry.path().filename().string().starts_with("test_data_set_")) {
          sets.push_back(entry.path().string());
        }
      }
    }
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) {
      expanded.push_back(path);
    } else {
      expanded.insert(expanded.end(), sets.begin(), sets.end());
    }
  }
  return expanded;
}

// Every sample read and checked against the model before the search starts.
std::vector<Feeds> read_samples(const std::vector<std::string>& paths, const onnx::ModelProto& model) {
  const std::vector<InputInfo> inputs = runtime::describe_inputs(model.graph());
  std::vector<Feeds> samples;
  for (const auto& path : expand_sample_paths(paths)) {
    Feeds feeds = read_feeds({path}, inputs);
    try {
      runtime::validate_feeds(inputs, feeds);
    } catch (const Error& e) {
      throw Error("--input '" + path + "': " + e.what());
    }
    samples.push_back(std::move(feeds));
  }
  return samples;
}

// The runs' FLOPs in full runs' FLOPs (MixedReport::flop_run_equivalents), one decimal.
std::string flop_runs_text(double runs) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", runs);
  return text;
}

// "Time: load 0.02 s, analysis 0.01 s, float32 run 0.38 s (1.0 runs), ..., save 0.77 s; 5.41 s
// in all": the search's phases (MixedReport::phases) between the command's loading and saving.
std::string time_line(const MixedReport& report, double load_seconds, double save_seconds) {
  std::string text = "Time: load " + seconds_text(load_seconds);
  for (const auto& phase : report.phases) {
    text += ", " + phase.name + " " + seconds_text(phase.seconds);
    if (phase.full_run_equivalents > 0) {
      char runs[48];
      std::snprintf(runs, sizeof runs, " (%.1f runs)", phase.full_run_equivalents);
      text += runs;
    }
  }
  return text + ", save " + seconds_text(save_seconds) + "; " +
         seconds_text(load_seconds + report.seconds + save_seconds) + " in all\n";
}

std::string summary(const MixedReport& report, const std::string& output, double load_seconds, double save_seconds) {
  std::map<std::string, std::size_t> by_reason;
  for (const auto& node : report.kept_nodes) ++by_reason[to_string(node.reason)];
  std::string reasons;
  for (const auto& [reason, count] : by_reason) reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(count);
  char shares[160];
  std::snprintf(shares, sizeof shares, " (%.1f%% of FLOPs, %.1f%% of weight bytes)",
                report.flops_total > 0 ? 100 * report.flops_float16 / report.flops_total : 0.0,
                report.weight_bytes_total > 0 ? 100 * report.weight_bytes_float16 / report.weight_bytes_total : 0.0);
  std::string text = "Wrote " + output + ": " + std::to_string(report.converted_nodes) + " of " +
                     std::to_string(report.candidate_nodes) + " nodes in " + to_string(report.target) + shares + ", " +
                     count_of(report.kept_nodes.size(), "node", "nodes") + " kept in float32" +
                     (reasons.empty() ? "" : " (" + reasons + ")") + "\n";
  text += "Search: " + count_of(report.attempts, "attempt", "attempts") + ", " + std::to_string(report.evaluator_runs) +
          " evaluator runs (" + std::to_string(report.full_run_equivalents).substr(0, 5) + " full-run equivalents, " +
          flop_runs_text(report.flop_run_equivalents) + " of their FLOPs, " +
          to_string(report.engine) + " engine), " + seconds_text(report.seconds) + "; the result " + report.final_check + "\n";
  text += time_line(report, load_seconds, save_seconds);
  if (!report.margins.empty()) {
    text += "Margin (worst element / tolerance, above 1 fails), " + margin_basis(report) + ":";
    for (const auto& margin : report.margins) {
      char item[320];
      if (report.variants_checked > 1 && margin.holdout_ratio >= 0) {
        std::snprintf(item, sizeof item,
                      " %s %.2f (evaluator %.2f, worst variant %.2f, variants %.2g apart; %.2f on %d implementations the "
                      "search never ran)",
                      margin.name.c_str(), margin.robust_ratio, margin.evaluator_ratio, margin.worst_ratio,
                      margin.variant_distance, margin.holdout_ratio, report.holdout_variants);
      } else if (report.variants_checked > 1) {
        std::snprintf(item, sizeof item, " %s %.2f (evaluator %.2f, worst variant %.2f, variants %.2g apart)",
                      margin.name.c_str(), margin.robust_ratio, margin.evaluator_ratio, margin.worst_ratio,
                      margin.variant_distance);
      } else {
        std::snprintf(item, sizeof item, " %s %.2f", margin.name.c_str(), margin.evaluator_ratio);
      }
      text += item;
    }
    text += "\n";
  }
  // The kept nodes that leave the most FLOPs in float32 first (in node order among equals): a
  // model's heavy products say more than its Reshapes, or the untaken branch's nodes (not_run).
  constexpr std::size_t kListed = 20;
  std::vector<const MixedKeptNode*> listed;
  for (const auto& node : report.kept_nodes) listed.push_back(&node);
  std::stable_sort(listed.begin(), listed.end(),
                   [](const MixedKeptNode* a, const MixedKeptNode* b) { return a->flops > b->flops; });
  for (std::size_t i = 0; i < std::min(kListed, listed.size()); ++i) {
    const MixedKeptNode& node = *listed[i];
    text += "  kept " + (node.graph == "main" ? "" : node.graph + "/") + node.name + " (" + node.op_type +
            "): " + to_string(node.reason) + (node.detail.empty() ? "" : ": " + node.detail) + "\n";
  }
  if (report.kept_nodes.size() > kListed) text += "  ... and " + std::to_string(report.kept_nodes.size() - kListed) + " more (see --report)\n";
  return text;
}

}  // namespace

AutoMixedCommand::AutoMixedCommand(CLI::App& app) {
  command_ = app.add_subcommand("auto-mixed", "Keep the fewest nodes in float32 that keep the outputs within tolerance");
  command_->footer(
      "Each --input is one sample (.npz, .npy, .pb, or a folder of input_<N>.pb files); a folder of\n"
      "test_data_set_* folders is one sample per set. Every sample must pass.\n"
      "Validation: numpy.allclose(float32_output, candidate_output, rtol, atol); if only --atol is given\n"
      "rtol = 1e-5, if only --rtol, atol = 1e-8.\n"
      "Robust acceptance (improved strategy): a candidate must also pass on --variants simulated\n"
      "float16 implementations that differ from the evaluator as another accumulation order does\n"
      "(--variants 0: the evaluator's bits alone; see docs/mixed.md).\n"
      "--validate-cmd CMD runs CMD {model} {input} {output} for each candidate and sample (through sh;\n"
      "without placeholders the three paths are appended); it must write the outputs as .npz.\n"
      "Exit status: 0 on success, 1 on an error, 2 on a usage error.");
  Args& a = args_;
  command_->add_option("MODEL", a.input, "The float32 ONNX model")->required();
  command_->add_option("OUTPUT", a.output, "Where to write the mixed-precision model")->required();
  command_->add_option("-i,--input", a.samples, "A sample input: file or folder (repeatable)")
      ->type_name("FILE")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  rtol_option_ = command_->add_option("--rtol", a.rtol, "Relative tolerance")->check(CLI::NonNegativeNumber);
  atol_option_ = command_->add_option("--atol", a.atol, "Absolute tolerance")->check(CLI::NonNegativeNumber);
  report_option_ = command_->add_option("--report", a.report, "Write a JSON report: kept nodes, reasons, errors, figures")
                       ->type_name("FILE");
  command_->add_flag("-q,--quiet", a.quiet, "No progress lines and no summary");
  command_->add_option("--strategy", a.strategy, "improved: screens + incremental evaluation; baseline: the original's search")
      ->check(CLI::IsMember({"improved", "baseline"}))
      ->capture_default_str();
  command_->add_option("--variants", a.variants, "Simulated float16 implementations a candidate must also pass on (0: none)")
      ->check(CLI::Range(0, 16))
      ->capture_default_str();
  command_->add_option("--spread-safety", a.spread_safety,
                       "An element's error counts the implementations' largest deviation from their mean times this (>= 1)")
      ->check(CLI::Range(1.0, 100.0))
      ->capture_default_str();
  command_->add_option("--variant-spread", a.variant_spread, "Their relative spread before rounding, at most 2^-13")
      ->check(CLI::Range(0.0, 0x1.0p-13))
      ->capture_default_str();
  holdout_option_ = command_->add_option("--holdout", a.holdout,
                                         "After the search, check the result on this many simulated float16 "
                                         "implementations it never ran; over 0.8 of the tolerance there, search once "
                                         "more on twice as many simulated implementations (up to 16), and warn if "
                                         "still over (0: none; default: a tenth of the search's full runs, 4 to 16; a short "
                                         "search's stops at its tenth, at least 2, when all are under half the "
                                         "tolerance)")
                        ->check(CLI::Range(0, kMaxHoldoutVariants));
  command_->add_option("--sensitivity-budget", a.sensitivity_budget,
                       "Full-run equivalents the improved search spends measuring each node's effect alone, to try "
                       "the most FLOPs per unit of error first (0: node order)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command_->add_option("--search-budget", a.search_budget,
                       "Full-run equivalents the whole search may spend; then the nodes not decided stay float32 "
                       "(0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command_->add_flag("--skip-predicted,!--try-every-node", a.skip_predicted,
                     "The default: the improved search keeps without an attempt every node its error model predicts "
                     "to break the tolerance, and every segment under 0.1% of the model (see docs/mixed.md). "
                     "--try-every-node: try every node over 0.1% (slower; on the models measured, less float16)");
  command_->add_flag("--no-search", a.no_search, "Only the screens below: keep what they select, convert the rest");
  data_max_option_ = command_->add_option("--data-max", a.data_max, "Keep nodes reading or writing float32 values above this magnitude");
  init_max_option_ = command_->add_option("--init-max", a.init_max, "Keep nodes reading initializers above this magnitude");
  command_->add_option("--keep-op", a.keep_ops, "Keep nodes of these op types")->type_name("OP,...")->delimiter(',');
  command_->add_option("--keep-node", a.keep_node, "Keep nodes whose whole name matches this regex")->type_name("REGEX");
  command_->add_option("--validate-cmd", a.validate_cmd, "Run candidates with this command instead of the evaluator")
      ->type_name("CMD");
  command_->add_option("--threads", a.threads, "Evaluator threads (0: all)")->check(CLI::NonNegativeNumber)->capture_default_str();
  conversion_flags_.add_to(*command_);
}

MixedOptions AutoMixedCommand::mixed_options() const {
  const Args& a = args_;
  MixedOptions options;
  if (rtol_option_->count() > 0) options.rtol = a.rtol;
  if (atol_option_->count() > 0) options.atol = a.atol;
  // The library also takes a validation function; from the command line a tolerance is the way.
  if (!options.rtol && !options.atol) throw Error("give a tolerance: --rtol and/or --atol");
  options.conversion = conversion_flags_.options();
  options.keep_io_types = options.conversion.keep_io_types;
  options.strategy = a.strategy == "baseline" ? SearchStrategy::Baseline : SearchStrategy::Improved;
  options.search = !a.no_search;
  if (data_max_option_->count() > 0) options.data_max = a.data_max;
  if (init_max_option_->count() > 0) options.init_max = a.init_max;
  options.keep_ops = a.keep_ops;
  options.keep_node_pattern = a.keep_node;
  options.threads = a.threads;
  options.float16_variants = a.variants;
  options.variant_spread = a.variant_spread;
  options.spread_safety = a.spread_safety;
  if (holdout_option_->count() > 0) options.holdout_variants = a.holdout;
  options.sensitivity_budget = a.sensitivity_budget;
  options.search_budget = a.search_budget;
  options.skip_predicted_failures = a.skip_predicted;
  if (!a.validate_cmd.empty()) options.runner = make_command_runner(a.validate_cmd);
  if (!a.quiet) {
    options.progress = [display = make_stderr_progress()](const MixedProgress& progress) { display->show(progress); };
  }
  return options;
}

int AutoMixedCommand::run() const {
  const Args& a = args_;
  const MixedOptions options = mixed_options();
  std::optional<fs::path> report_path;
  if (report_option_->count() > 0) report_path = a.report;
  const frontend::OutputPaths output_paths{a.input, a.output, std::nullopt, report_path};
  frontend::check_output_paths(output_paths);
  for (const auto& sample : a.samples) {
    std::error_code error;
    if (fs::exists(sample, error) && fs::exists(a.output, error) && fs::equivalent(sample, a.output, error)) {
      throw Error("OUTPUT '" + a.output + "' is the sample file '" + sample + "'");
    }
  }
  std::optional<AtomicTextFile> report_file;
  if (report_path) report_file.emplace(*report_path);

  // Weights stay in their files: the search's engine and the final check read them into their
  // own tensors, and the save streams them from the input to the output. A --validate-cmd runner
  // is handed whole models, so then the model is loaded with its data.
  const Clock::time_point load_start = Clock::now();
  io::StreamedModel streamed = options.runner ? io::StreamedModel{} : io::load_model_streamed(a.input);
  if (options.runner) streamed.model = load_model(a.input, streamed.data_files);
  onnx::ModelProto& model = streamed.model;
  frontend::check_not_input_data(output_paths, streamed.data_files);
  const std::vector<Feeds> samples = read_samples(a.samples, model);
  const double load_seconds = seconds_since(load_start);

  MixedReport report = options.runner ? auto_convert_mixed_precision(model, samples, options)
                                      : mixed::auto_convert_mixed_precision(model, streamed.sources, samples, options);
  const Clock::time_point save_start = Clock::now();
  const io::SaveResult saved =
      io::save_model_with_limit(model, a.output, {}, io::kAutomaticExternalDataLimit, &streamed.sources);
  const double save_seconds = seconds_since(save_start);
  report.conversion.values_clamped += saved.values_clamped;  // streamed weights are clamped as they are written
  if (report_file) {
    nlohmann::ordered_json json = frontend::mixed_report_json(report, a.input, a.output);
    json["load_seconds"] = load_seconds;  // the command's own phases, before and after the search's
    json["save_seconds"] = save_seconds;
    report_file->commit(frontend::json_text(json));
  }
  if (!a.quiet) std::cout << summary(report, a.output, load_seconds, save_seconds) << std::flush;
  return 0;
}

}  // namespace onnx_fp16::cli
