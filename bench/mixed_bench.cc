// mixed_bench: the automatic mixed-precision search (auto_convert_mixed_precision) on models
// with a planted numerically sensitive region, baseline search against improved search.
//
// Models (tools/modelgen/sensitive_models.h), random weights, one random sample each (fixed
// seeds):
// - resnet: a ResNet-26 (bottleneck stages [2, 2, 2, 2], ResNet-50's widths) at 64x64 with a
//   cube normalisation (Pow 3 -> ReduceSum -> Div; float32 values up to ~1e7) after stage 2;
// - bert:   a 12-layer BERT-shaped encoder (hidden 256, sequence 128) with a naive softmax
//   Exp(x + 13) / sum (exp overflows float16) in layer 6 and an offset cancellation
//   (x + 512) - 512 on the residual stream after layer 9;
// - gpt:    a 4-layer GPT-shaped decoder (pre-LayerNorm, causal mask by Trilu + Where, hidden
//   256, sequence 128) with an offset centring x + 300 - mean(x + 300) after block 2 and a naive
//   softmax in the last block.
// The planted nodes that must stay float32 are named "planted/...".
//
// For each model the benchmark first checks the setup: the float32 model passes, the
// all-float16 model fails the tolerance, and float16 with only the planted nodes kept passes
// (so the planted region is the only reason plain conversion fails). Then it runs the search with
// SearchStrategy::Baseline and SearchStrategy::Improved on copies of the model, rechecks each
// result on the evaluator and in ONNX Runtime (bench/ort_run.js in a child node process:
// mixed model against the float32 model, both in ORT), and prints the searches side by side with
// the time of one float32 evaluator inference, the search time in those inferences, and the
// goals' verdicts. A measurement, not a test: missed goals still exit 0; failures (a model that
// does not load or run, a search that throws) exit 1.
//
//   mixed_bench [--quick] [--model resnet|bert|gpt|all] [--threads N] [--bert-hidden N]
//               [--rtol X] [--atol X] [--progress] [--no-ort] [--setup-only] [--work-dir DIR] [--keep]
#include <CLI/CLI.hpp>
#include <onnx_fp16/compare.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/mixed.h>
#include <onnx_fp16/model_io.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "modelgen/sensitive_models.h"
#include "support/ort_runner.h"
#include "support/ort_timer.h"
#include "support/table.h"
#include "support/units.h"
#include "support/work_folder.h"

namespace {

using onnx_fp16::Feeds;
using onnx_fp16::Tensor;

constexpr double kBertInferenceGoal = 25.0;  // improved search on the BERT model, in float32 inferences
constexpr int kInferenceRuns = 7;            // float32 inference: the best of these, after one warm-up

struct Options {
  bool quick = false;
  std::string model = "all";
  int threads = 0;
  int bert_hidden = 256;
  std::optional<double> rtol;
  std::optional<double> atol;
  bool progress = false;
  bool search = true;
  bool ort = true;
  std::string work_dir;
  bool keep = false;
  std::string ort_script = (std::filesystem::path(__FILE__).parent_path() / "ort_run.js").string();
};

struct BenchModel {
  std::string name;
  std::string shape;  // one line: what the model is
  modelgen::SensitiveModel sensitive;
  Feeds feeds;
  double rtol = 1e-2;
  double atol = 1e-2;
};

void progress(const std::string& message) { std::cerr << ".. " << message << std::endl; }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string number(double value, int precision = 3) {
  std::ostringstream text;
  text.precision(precision);
  text << value;
  return text.str();
}

std::vector<float> uniform(std::size_t count, float low, float high, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(count);
  for (auto& v : values) v = dist(gen);
  return values;
}

std::vector<std::int64_t> tokens(std::int64_t count, int vocab, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<std::int64_t> token(0, vocab - 1);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(count));
  for (auto& id : ids) id = token(gen);
  return ids;
}

// --quick shrinks the models (fewer blocks, 32x32 images, sequence 32) to check the harness fast.
BenchModel make_model(const std::string& name, const Options& options) {
  BenchModel bench{name, {}, {}, {}};
  if (name == "resnet") {
    modelgen::ResNetSpec spec;
    spec.stage_blocks = options.quick ? std::array<int, 4>{1, 1, 1, 1} : std::array<int, 4>{2, 2, 2, 2};
    spec.image_size = options.quick ? 32 : 64;
    const std::int64_t size = spec.image_size;
    const int depth = 2 + 3 * (spec.stage_blocks[0] + spec.stage_blocks[1] + spec.stage_blocks[2] + spec.stage_blocks[3]);
    bench.shape = "ResNet-" + std::to_string(depth) + " (bottleneck), " + std::to_string(size) + "x" +
                  std::to_string(size) + ", 1000 classes";
    bench.sensitive = modelgen::sensitive_resnet_model(spec);
    bench.feeds = {{"image", Tensor::from_vector<float>({1, 3, size, size}, uniform(3 * size * size, -1, 1, 5))}};
  } else if (name == "bert") {
    modelgen::TransformerSpec spec = modelgen::bert_base_spec();
    spec.hidden_size = options.bert_hidden;
    spec.layers = options.quick ? 2 : 12;
    const std::int64_t sequence = options.quick ? 32 : 128;
    bench.shape = "BERT encoder, " + std::to_string(spec.layers) + " layers, hidden " + std::to_string(spec.hidden_size) +
                  ", sequence " + std::to_string(sequence);
    bench.sensitive = modelgen::sensitive_bert_model(spec);
    // The last 8 positions are padding, so the attention mask matters.
    std::vector<std::int64_t> mask(static_cast<std::size_t>(sequence), 1);
    std::fill(mask.end() - 8, mask.end(), 0);
    bench.feeds = {{"input_ids", Tensor::from_vector<std::int64_t>({1, sequence}, tokens(sequence, spec.vocab_size, 7))},
                   {"attention_mask", Tensor::from_vector<std::int64_t>({1, sequence}, mask)}};
  } else if (name == "gpt") {
    modelgen::GptSpec spec;
    spec.layers = options.quick ? 2 : 4;
    const std::int64_t sequence = options.quick ? 32 : 128;
    bench.shape = "GPT decoder, " + std::to_string(spec.layers) + " layers, hidden " + std::to_string(spec.hidden_size) +
                  ", sequence " + std::to_string(sequence) + ", vocabulary " + std::to_string(spec.vocab_size);
    bench.sensitive = modelgen::sensitive_gpt_model(spec);
    bench.feeds = {{"input_ids", Tensor::from_vector<std::int64_t>({1, sequence}, tokens(sequence, spec.vocab_size, 11))}};
  } else {
    throw std::runtime_error("unknown model '" + name + "' (resnet, bert, gpt, all)");
  }
  if (options.rtol) bench.rtol = *options.rtol;
  if (options.atol) bench.atol = *options.atol;
  return bench;
}

// Outputs in graph output order.
std::vector<Tensor> run_outputs(const onnx_fp16::Evaluator& evaluator, const Feeds& feeds) {
  auto named = evaluator.run(feeds);
  std::vector<Tensor> outputs;
  for (const auto& name : evaluator.output_names()) outputs.push_back(named.at(name));
  return outputs;
}

std::vector<Tensor> run_outputs(const onnx::ModelProto& model, const Feeds& feeds, int threads) {
  return run_outputs(onnx_fp16::Evaluator(model, {.threads = threads, .keep = {}}), feeds);
}

// Whether `actual` is within tolerance of `expected` on every output, and how far it is.
struct Check {
  bool close = false;
  std::string text;  // "passes (max abs err 3e-3)", "FAILS (12/65536 not close, max abs err 0.8)"
};

Check check_outputs(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected, double rtol, double atol) {
  Check check{true, {}};
  double worst = 0;
  std::size_t not_close = 0, count = 0, nonfinite = 0;
  std::string problem;
  if (actual.size() != expected.size()) return {false, "FAILS (" + std::to_string(actual.size()) + " outputs)"};
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const auto d = onnx_fp16::compare_tensors(actual[i], expected[i], {rtol, atol});
    check.close = check.close && d.close;
    if (!d.problem.empty()) problem = d.problem;
    worst = std::max(worst, d.max_abs_error);
    not_close += d.not_close;
    count += d.count;
    nonfinite += d.nonfinite_mismatches;
  }
  if (!problem.empty()) {
    check.text = "FAILS (" + problem + ")";
  } else if (check.close) {
    check.text = "passes (max abs err " + number(worst, 2) + ")";
  } else {
    check.text = "FAILS (" + std::to_string(not_close) + "/" + std::to_string(count) + " not close" +
                 (nonfinite ? ", " + std::to_string(nonfinite) + " inf/NaN" : "") + ", max abs err " + number(worst, 2) + ")";
  }
  return check;
}

std::vector<Tensor> converted_outputs(const onnx::ModelProto& model, const Feeds& feeds, int threads,
                                      const std::vector<std::string>& blocked) {
  onnx::ModelProto converted = model;
  onnx_fp16::Float16Options options;
  options.keep_io_types = true;
  options.node_block_list = blocked;
  onnx_fp16::convert_float_to_float16(converted, options);
  return run_outputs(converted, feeds, threads);
}

struct SearchResult {
  std::optional<onnx_fp16::MixedReport> report;
  std::string error;  // the search threw
  onnx::ModelProto model;
  Check evaluator_check;
  std::optional<Check> ort_check;
  std::string ort_error;
  std::vector<std::string> planted_missed;  // planted nodes it converted
  std::size_t other_kept = 0;               // kept nodes that are not planted
};

struct ModelResult {
  BenchModel bench;
  int node_count = 0;
  double inference_seconds = 0;
  Check float16_all;      // the plain float16 model (keep_io_types) against float32
  Check float16_planted;  // float16 with the planted nodes kept
  std::string ort_float32;  // ORT's float32 outputs against the evaluator's
  SearchResult baseline;
  SearchResult improved;
};

SearchResult run_search(const BenchModel& bench, onnx_fp16::SearchStrategy strategy, const std::vector<Tensor>& reference,
                        const Options& options) {
  SearchResult result;
  result.model = bench.sensitive.model;
  onnx_fp16::MixedOptions mixed;
  mixed.rtol = bench.rtol;
  mixed.atol = bench.atol;
  mixed.keep_io_types = true;
  mixed.strategy = strategy;
  mixed.threads = options.threads;
  if (options.progress) mixed.progress = [](const onnx_fp16::MixedProgress& p) { std::cerr << "   " << p.line << "\n"; };
  try {
    result.report = onnx_fp16::auto_convert_mixed_precision(result.model, {bench.feeds}, mixed);
  } catch (const std::exception& e) {
    result.error = e.what();
    return result;
  }
  std::set<std::string> kept;
  for (const auto& node : result.report->kept_nodes) kept.insert(node.name);
  for (const auto& name : bench.sensitive.planted) {
    if (!kept.count(name)) result.planted_missed.push_back(name);
  }
  const std::set<std::string> planted(bench.sensitive.planted.begin(), bench.sensitive.planted.end());
  for (const auto& name : kept) result.other_kept += planted.count(name) ? 0 : 1;
  try {
    result.evaluator_check = check_outputs(run_outputs(result.model, bench.feeds, options.threads), reference, bench.rtol,
                                           bench.atol);
  } catch (const std::exception& e) {
    result.evaluator_check = {false, std::string("FAILS to run: ") + e.what()};
  }
  return result;
}

int ort_threads(const Options& options) {
  return options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

ModelResult bench_model(const std::string& name, const Options& options, bench::WorkFolder& work) {
  ModelResult result;
  progress("generating " + name);
  result.bench = make_model(name, options);
  const BenchModel& bench = result.bench;
  const onnx::ModelProto& model = bench.sensitive.model;
  result.node_count = model.graph().node_size();

  progress(name + ": float32 inference time");
  const onnx_fp16::Evaluator evaluator(model, {.threads = options.threads, .keep = {}});
  const std::vector<Tensor> reference = run_outputs(evaluator, bench.feeds);  // also the warm-up
  std::vector<double> times;
  // The best of several runs: on a shared machine the median drifts with the load, and the best
  // is the conservative divisor for "search = N x inference".
  for (int i = 0; i < kInferenceRuns; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run_outputs(evaluator, bench.feeds);
    times.push_back(seconds_since(start));
  }
  result.inference_seconds = *std::min_element(times.begin(), times.end());

  progress(name + ": checking that plain float16 fails only because of the planted nodes");
  result.float16_all = check_outputs(converted_outputs(model, bench.feeds, options.threads, {}), reference, bench.rtol,
                                     bench.atol);
  result.float16_planted = check_outputs(converted_outputs(model, bench.feeds, options.threads, bench.sensitive.planted),
                                         reference, bench.rtol, bench.atol);

  if (!options.search) return result;
  progress(name + ": baseline search");
  result.baseline = run_search(bench, onnx_fp16::SearchStrategy::Baseline, reference, options);
  progress(name + ": improved search");
  result.improved = run_search(bench, onnx_fp16::SearchStrategy::Improved, reference, options);

  if (options.ort) {
    progress(name + ": ONNX Runtime");
    const auto folder = work.folder(name);
    std::vector<std::filesystem::path> paths{folder / "float32.onnx"};
    onnx_fp16::save_model(model, paths[0]);
    std::vector<SearchResult*> searched;
    for (SearchResult* search : {&result.baseline, &result.improved}) {
      if (!search->report) continue;
      paths.push_back(folder / (std::string(onnx_fp16::to_string(search->report->strategy)) + ".onnx"));
      onnx_fp16::save_model(search->model, paths.back());
      searched.push_back(search);
    }
    const auto feeds_json = bench::write_ort_feeds(folder / "feeds", bench.feeds);
    const bench::OrtRun ort = bench::run_in_ort(options.ort_script, feeds_json, folder / "ort_outputs", paths,
                                                ort_threads(options), folder / "ort.log");
    if (!ort.ok()) {
      result.ort_float32 = "ORT failed: " + ort.error;
      for (SearchResult* search : searched) search->ort_error = ort.error;
    } else if (!ort.models[0].ok()) {
      result.ort_float32 = "ORT failed on float32: " + ort.models[0].error;
      for (SearchResult* search : searched) search->ort_error = "float32 model failed in ORT";
    } else {
      result.ort_float32 = check_outputs(ort.models[0].outputs, reference, bench.rtol, bench.atol).text;
      for (std::size_t i = 0; i < searched.size(); ++i) {
        const auto& outputs = ort.models[i + 1];
        if (!outputs.ok()) {
          searched[i]->ort_error = outputs.error;
        } else {
          searched[i]->ort_check = check_outputs(outputs.outputs, ort.models[0].outputs, bench.rtol, bench.atol);
        }
      }
    }
  }
  return result;
}

std::string yes_no(bool ok) { return ok ? "yes" : "NO"; }

std::string ort_cell(const SearchResult& search, bool ort_enabled) {
  if (!ort_enabled) return "skipped";
  if (search.ort_check) return search.ort_check->text;
  return "FAILS: " + search.ort_error;
}

std::string share(double part, double total) { return total > 0 ? bench::format_fixed(100 * part / total, 1) + "%" : "-"; }

// The accepted margin (worst element / tolerance over the outputs, with the variants' spread),
// and on how many float16 implementations.
std::string worst_margin(const onnx_fp16::MixedReport& r) {
  double worst = 0;
  for (const auto& m : r.margins) worst = std::max(worst, m.robust_ratio);
  return bench::format_fixed(worst, 2) + " (" + std::to_string(r.variants_checked) + " impl.)";
}

void add_search_row(bench::Table& table, const ModelResult& m, const SearchResult& s, const std::string& strategy,
                    bool ort_enabled) {
  if (!s.report) {
    table.add_row({m.bench.name, strategy, "search failed: " + s.error});
    return;
  }
  const auto& r = *s.report;
  const std::size_t planted = m.bench.sensitive.planted.size();
  table.add_row({m.bench.name, strategy, onnx_fp16::to_string(r.engine), std::to_string(r.attempts), std::to_string(r.evaluator_runs),
                 bench::format_fixed(r.full_run_equivalents, 1), bench::format_seconds(r.seconds),
                 bench::format_fixed(r.seconds / m.inference_seconds, 1) + " x",
                 std::to_string(r.kept_nodes.size()) + " of " + std::to_string(r.candidate_nodes),
                 std::to_string(planted - s.planted_missed.size()) + "/" + std::to_string(planted),
                 std::to_string(s.other_kept), share(r.flops_float16, r.flops_total),
                 share(r.weight_bytes_float16, r.weight_bytes_total), worst_margin(r), s.evaluator_check.text,
                 ort_cell(s, ort_enabled)});
}

void print_kept(const ModelResult& m, const SearchResult& s) {
  if (!s.report) return;
  std::cout << "  " << m.bench.name << ", " << onnx_fp16::to_string(s.report->strategy) << ": kept " << s.report->kept_nodes.size() << " nodes\n";
  for (const auto& node : s.report->kept_nodes) {
    std::cout << "    " << node.name << " (" << node.op_type << "): " << onnx_fp16::to_string(node.reason);
    if (!node.detail.empty()) std::cout << ": " << node.detail;
    std::cout << "\n";
  }
  for (const auto& name : s.planted_missed) std::cout << "    MISSED planted node " << name << "\n";
}

int run_bench(const Options& options) {
  std::vector<std::string> names{"resnet", "bert", "gpt"};
  if (options.model != "all") names = {options.model};
  bench::WorkFolder work(options.work_dir, options.keep);
  std::vector<ModelResult> results;
  bool failed = false;
  for (const auto& name : names) {
    try {
      results.push_back(bench_model(name, options, work));
    } catch (const std::exception& e) {
      std::cerr << "mixed_bench: " << name << ": " << e.what() << "\n";
      failed = true;
    }
  }

  std::cout << "\nModels (one random sample each; float32 inference: evaluator, best of " << kInferenceRuns
            << " runs" << (options.quick ? "; --quick: reduced models" : "") << ")\n";
  bench::Table models({"model", "shape", "nodes", "planted", "tolerance", "float32 inference", "all float16",
                       "float16, planted kept", "ORT float32 vs evaluator"});
  for (const auto& m : results) {
    models.add_row({m.bench.name, m.bench.shape, std::to_string(m.node_count),
                    std::to_string(m.bench.sensitive.planted.size()),
                    "rtol " + number(m.bench.rtol) + ", atol " + number(m.bench.atol),
                    bench::format_seconds(m.inference_seconds), m.float16_all.text, m.float16_planted.text,
                    options.ort ? m.ort_float32 : "skipped"});
  }
  models.print(std::cout);
  for (const auto& m : results) std::cout << "  " << m.bench.name << ": " << m.bench.sensitive.description << "\n";
  if (!options.search) return failed ? 1 : 0;

  std::cout << "\nSearch: baseline vs improved (threads: " << (options.threads ? std::to_string(options.threads) : "all")
            << ")\n";
  bench::Table searches({"model", "strategy", "engine", "attempts", "evaluator runs", "full-run equiv.", "seconds",
                         "search = N x inference", "kept", "planted kept", "other kept", "FLOPs fp16", "weights fp16",
                         "margin", "evaluator recheck",
                         "ORT recheck (vs ORT float32)"});
  for (const auto& m : results) {
    add_search_row(searches, m, m.baseline, "baseline", options.ort);
    add_search_row(searches, m, m.improved, "improved", options.ort);
  }
  searches.print(std::cout);

  std::cout << "\nKept nodes\n";
  for (const auto& m : results) {
    print_kept(m, m.baseline);
    print_kept(m, m.improved);
  }

  std::cout << "\nGoals\n";
  bench::Table goals({"model", "setup: only planted nodes break float16", "planted nodes found and kept",
                      "final model meets tolerance (evaluator)", "final model meets tolerance (ORT)",
                      "improved keeps <= baseline FLOPs in float32", "improved search <= 25 inferences (bert)"});
  for (const auto& m : results) {
    const bool setup = !m.float16_all.close && m.float16_planted.close;
    const SearchResult* both[] = {&m.baseline, &m.improved};
    bool found = true, evaluator_ok = true, ort_ok = options.ort;
    for (const SearchResult* s : both) {
      found = found && s->report && s->planted_missed.empty();
      evaluator_ok = evaluator_ok && s->report && s->evaluator_check.close;
      ort_ok = ort_ok && s->ort_check && s->ort_check->close;
      if (!s->report) failed = true;
    }
    // The objective is work in float16, not node count: improved must not keep more FLOPs in float32.
    const bool fewer = m.baseline.report && m.improved.report &&
                       m.improved.report->flops_float16 >= m.baseline.report->flops_float16;
    std::string speed = "-";
    if (m.bench.name == "bert" && m.improved.report) {
      const double ratio = m.improved.report->seconds / m.inference_seconds;
      speed = bench::format_fixed(ratio, 1) + " x: " + (ratio <= kBertInferenceGoal ? "met" : "MISSED") +
              (options.quick ? " (--quick: not the goal's model)" : "");
    }
    goals.add_row({m.bench.name, yes_no(setup), yes_no(found), yes_no(evaluator_ok),
                   options.ort ? yes_no(ort_ok) : "skipped", yes_no(fewer), speed});
  }
  goals.print(std::cout);
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmarks the automatic mixed-precision search (baseline vs improved) on models with planted "
               "numerically sensitive regions"};
  Options options;
  app.add_flag("--quick", options.quick, "Reduced models: a fast check of the harness");
  app.add_option("--model", options.model, "Which model: resnet, bert, gpt or all")
      ->check(CLI::IsMember({"resnet", "bert", "gpt", "all"}))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "Evaluator threads (0: all hardware threads); ORT gets as many")
      ->capture_default_str();
  app.add_option("--bert-hidden", options.bert_hidden, "Hidden size of the BERT-shaped model (multiple of 64)")
      ->capture_default_str();
  app.add_option("--rtol", options.rtol, "Relative tolerance for every model (default: per model)");
  app.add_option("--atol", options.atol, "Absolute tolerance for every model (default: per model)");
  app.add_flag("--progress", options.progress, "Print the searches' progress lines");
  bool no_search = false;
  app.add_flag("--setup-only", no_search, "Only check the models' setup (no searches, no ORT)");
  bool no_ort = false;
  app.add_flag("--no-ort", no_ort, "Skip the ONNX Runtime recheck");
  app.add_option("--work-dir", options.work_dir, "Where to write the models for ORT");
  app.add_flag("--keep", options.keep, "Keep the written models");
  app.add_option("--ort-script", options.ort_script, "Path of ort_run.js")->capture_default_str();
  try {
    app.parse(argc, argv);
    options.ort = !no_ort && !no_search;
    options.search = !no_search;
    return run_bench(options);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "mixed_bench: " << e.what() << "\n";
    return 1;
  }
}
