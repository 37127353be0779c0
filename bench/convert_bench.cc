// convert_bench: how fast `onnx-fp16 convert` is and how much memory it takes, on a ~1 GB
// transformer, on graphs of 16k..200k small nodes and (with --huge) on a model larger than
// memory, printed against the project's goals: >= 1 GB/s of float32 weights on one core, peak
// RSS <= 256 MB + the largest tensor whatever the weights weigh, time near the disk's floor
// (`dd conv=fsync` of the input), a 16k-node graph 100x faster than the original took, and a
// 200k-node graph in under 5 s with time linear in the node count.
//
// Each model is generated into a scratch folder and converted by the real CLI in a child
// process (wall time and ru_maxrss from wait4); then the library is timed step by step on the
// transformer. A measurement, not a test: missed goals still exit 0; failures exit 1.
//
//   convert_bench [--quick] [--weight-bytes N|200MB|1GB] [--nodes 16000,25000,...] [--work-dir DIR] [--keep]
//                 [--cli PATH] [--all-cores] [--repeat N] [--huge 30GB]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "modelgen/external_chain_model.h"
#include "modelgen/transformer_model.h"
#include "modelgen/wide_graph_model.h"
#include "support/child_process.h"
#include "support/convert_report.h"
#include "support/convert_results.h"
#include "support/model_jobs.h"
#include "support/work_folder.h"

namespace {

struct Options {
  bool quick = false;
  std::uint64_t weight_bytes = 0;        // 0: 1 GB, or 20 MB with --quick
  std::vector<std::int64_t> wide_nodes;  // empty: 16k..200k, or 1k..8k with --quick
  std::string work_dir;
  bool keep = false;
  std::string cli = ONNX_FP16_CLI_PATH;
  bool all_cores = false;
  int repeat = 1;
  std::uint64_t huge_bytes = 0;  // 0: no larger-than-memory case

  void apply_defaults() {
    if (weight_bytes == 0) weight_bytes = quick ? 20'000'000 : 1'000'000'000;
    if (wide_nodes.empty()) {
      wide_nodes = quick ? std::vector<std::int64_t>{1'000, 2'000, 4'000, 8'000}
                         : std::vector<std::int64_t>{16'000, 25'000, 50'000, 100'000, 200'000};
    }
    std::sort(wide_nodes.begin(), wide_nodes.end());  // the scaling table compares with the smallest
    wide_nodes.erase(std::unique(wide_nodes.begin(), wide_nodes.end()), wide_nodes.end());
  }
};

struct ModelCase {
  std::string name;
  bool wide_graph;
  std::function<onnx::ModelProto()> build;
};

std::vector<ModelCase> model_cases(const Options& options) {
  std::vector<ModelCase> cases;
  modelgen::TransformerSpec spec;
  spec.weight_bytes = options.weight_bytes;
  cases.push_back({"transformer", false,
                   [spec] { return modelgen::transformer_model(spec); }});
  for (std::int64_t nodes : options.wide_nodes) {
    cases.push_back({"wide-" + std::to_string(nodes), true,
                     [nodes] { return modelgen::wide_graph_model(static_cast<int>(nodes)); }});
  }
  return cases;
}

void progress(const std::string& message) { std::cerr << ".. " << message << std::endl; }

// The end of a child's log, to show with its failure.
std::string log_excerpt(const std::filesystem::path& log) {
  const std::string tail = bench::tail_of_file(log, 15);
  return tail.empty() ? " (it printed nothing)" : "; end of its output:\n" + tail;
}

// The disk's floor for a conversion: reading the input's bytes once and writing as many bytes
// as the output holds, flushed as convert flushes (two `dd` runs, times added).
bench::ChildUsage disk_floor(const std::filesystem::path& input, std::uint64_t output_bytes,
                             const std::filesystem::path& scratch, std::optional<int> cpu) {
  constexpr std::uint64_t kBlock = 4 << 20;
  const std::string log = scratch.string() + ".log";
  bench::ChildUsage read = bench::run_program({"/bin/dd", "if=" + input.string(), "of=/dev/null", "bs=4M", "status=none"}, log, cpu);
  const bench::ChildUsage write = bench::run_program(
      {"/bin/dd", "if=/dev/zero", "of=" + scratch.string(), "bs=4M", "count=" + std::to_string((output_bytes + kBlock - 1) / kBlock),
       "conv=fsync", "status=none"}, log, cpu);
  std::filesystem::remove(scratch);
  if (!write.succeeded()) return write;
  read.wall_seconds += write.wall_seconds;
  return read;
}

// Generates a model larger than memory straight to disk, converts it and measures the floor;
// the files are removed as soon as they are measured (tens of GB).
bench::HugeResult run_huge(std::uint64_t weight_bytes, const bench::WorkFolder& work, std::optional<int> cpu,
                           const std::string& cli) {
  bench::HugeResult result;
  const auto input = work.folder("huge/in") / "model.onnx";
  const auto output = work.folder("huge/out") / "model_fp16.onnx";
  try {
    progress("writing a " + std::to_string(weight_bytes / 1'000'000'000) + " GB model to " + input.parent_path().string());
    modelgen::ExternalChainSpec spec;
    spec.weight_bytes = weight_bytes;
    const auto start = std::chrono::steady_clock::now();
    const auto written = modelgen::write_external_chain_model(input, "model.onnx.data", spec);
    result.generate_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.weight_bytes = written.weight_bytes;
    result.largest_tensor_bytes = static_cast<std::uint64_t>(spec.width) * spec.width * sizeof(float);
    progress("converting it");
    const auto log = work.path() / "huge" / "convert.log";
    result.cli = bench::run_program({cli, "convert", input.string(), output.string()}, log, cpu,
                                    bench::kHugeAddressSpaceLimit);
    if (!result.cli.succeeded()) {
      result.error = "onnx-fp16 convert: " + result.cli.describe_failure() + log_excerpt(log);
      return result;
    }
    result.output_bytes = bench::folder_bytes(output.parent_path());
    std::filesystem::remove_all(output.parent_path());
    progress("reading and writing as many bytes with dd (the floor)");
    result.copy_floor = disk_floor(input.parent_path() / "model.onnx.data", result.output_bytes,
                                   work.path() / "huge" / "floor.bin", cpu);
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  std::filesystem::remove_all(work.path() / "huge");
  return result;
}

// Generates one model, converts it with the CLI and reads the result back; a failing step ends
// the case with its error, the other cases still run.
bench::CaseResult run_case(const ModelCase& model, const bench::WorkFolder& work, std::optional<int> cpu,
                           const std::string& cli, int repeat) {
  bench::CaseResult result;
  result.name = model.name;
  result.wide_graph = model.wide_graph;
  const auto input = work.folder(model.name + "/in") / "model.onnx";
  const auto output = work.folder(model.name + "/out") / "model_fp16.onnx";
  const auto log = work.path() / model.name / "convert.log";
  try {
    progress("generating " + model.name);
    result.generated = bench::generate_in_child(model.build, input);
    result.generated_ok = true;
    result.file_bytes_in = bench::folder_bytes(input.parent_path());

    progress("converting " + model.name);
    // Best of `repeat` runs: the noise of a shared machine only ever adds time.
    for (int run = 0; run < repeat; ++run) {
      const bench::ChildUsage usage = bench::run_program({cli, "convert", input.string(), output.string()}, log, cpu);
      if (!usage.succeeded()) {
        result.error = "onnx-fp16 convert: " + usage.describe_failure() + log_excerpt(log);
        return result;
      }
      if (run == 0 || usage.wall_seconds < result.cli.wall_seconds) result.cli = usage;
    }
    if (!std::filesystem::exists(output)) {
      result.error = "onnx-fp16 convert exited 0 but wrote no " + output.string() + log_excerpt(log);
      return result;
    }
    result.file_bytes_out = bench::folder_bytes(output.parent_path());
    result.output = bench::inspect_in_child(output);
    if (!model.wide_graph) {
      result.copy_floor = disk_floor(input, result.file_bytes_out, work.path() / model.name / "floor.bin", cpu);
    }
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result;
}

void run_in_process_split(bench::BenchResults& results, const bench::WorkFolder& work, std::optional<int> cpu) {
  const bench::CaseResult& transformer = results.cases.front();
  results.in_process_model = transformer.name;
  if (!transformer.generated_ok) {
    results.in_process_error = "the model was not generated";
    return;
  }
  progress("converting " + transformer.name + " in process");
  try {
    results.in_process = bench::convert_in_child(work.path() / transformer.name / "in" / "model.onnx",
                                                 work.folder(transformer.name + "/in-process") / "model_fp16.onnx", cpu);
  } catch (const std::exception& e) {
    results.in_process_error = e.what();
  }
}

void print_header(const Options& options, const bench::WorkFolder& work, const bench::BenchResults& results) {
  std::cout << "convert_bench" << (options.quick ? " --quick" : "") << "\n"
            << "  CLI:         " << options.cli << "\n"
            << "  work folder: " << work.path().string() << (options.keep ? " (kept)" : " (removed at the end)") << "\n"
            << "  CPU:         "
            << (results.pinned_cpu ? "children pinned to CPU " + std::to_string(*results.pinned_cpu) : "not pinned")
            << "\n"
            << "  goals:       >= 1 GB/s of float32 weights on one core; peak RSS <= 256 MB + the largest tensor;\n"
            << "               time near the disk's floor; 16k-node graph >= 100x the original;\n"
            << "               200k-node graph < 5 s, time linear in nodes\n";
}

int run(const Options& options) {
  bench::WorkFolder work(options.work_dir, options.keep);
  bench::BenchResults results;
  results.quick = options.quick;
  if (!options.all_cores) results.pinned_cpu = bench::first_allowed_cpu();
  print_header(options, work, results);

  results.fork_floor_rss = bench::run_function([] { return std::string(); }).usage.peak_rss_bytes;
  for (const ModelCase& model : model_cases(options)) {
    results.cases.push_back(run_case(model, work, results.pinned_cpu, options.cli, options.repeat));
  }
  run_in_process_split(results, work, results.pinned_cpu);
  if (options.huge_bytes > 0) results.huge = run_huge(options.huge_bytes, work, results.pinned_cpu, options.cli);

  bench::print_generation_table(std::cout, results);
  bench::print_conversion_table(std::cout, results);
  bench::print_scaling_table(std::cout, results);
  bench::print_in_process_split(std::cout, results);
  bench::print_goals(std::cout, results);
  bench::print_huge(std::cout, results);
  bench::print_failures(std::cout, results);

  bool all_measured = results.in_process.has_value() && (!results.huge || results.huge->error.empty());
  for (const auto& c : results.cases) all_measured = all_measured && c.measured();
  return all_measured ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times `onnx-fp16 convert` and measures its peak memory on synthetic models"};
  Options options;
  app.add_flag("--quick", options.quick, "Small sizes (20 MB transformer, 1k..8k nodes): a smoke run of seconds");
  app.add_option("--weight-bytes", options.weight_bytes, "Float32 weight bytes of the transformer (default 1GB = 1e9)")
      ->transform(CLI::AsSizeValue(true));
  app.add_option("--nodes", options.wide_nodes, "Node counts of the wide graphs (default 16000,25000,50000,100000,200000)")
      ->delimiter(',')
      ->check(CLI::Range(1, 100'000'000));
  app.add_option("--work-dir", options.work_dir, "Where to put the models (default: the temporary folder)");
  app.add_flag("--keep", options.keep, "Keep the generated and converted models");
  app.add_option("--cli", options.cli, "The onnx-fp16 executable to time")->capture_default_str();
  app.add_flag("--all-cores", options.all_cores, "Do not pin the conversions to one CPU");
  app.add_option("--repeat", options.repeat, "Run each CLI conversion N times and keep the fastest")
      ->check(CLI::Range(1, 100));
  app.add_option("--huge", options.huge_bytes,
                 "Also convert a model of this many bytes of float32 weights in external data, written straight "
                 "to disk (e.g. 30GB: mind the free disk, input + half of it)")
      ->transform(CLI::AsSizeValue(true));
  CLI11_PARSE(app, argc, argv);
  options.apply_defaults();
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "convert_bench: " << e.what() << "\n";
    return 1;
  }
}
