#include "cli/run_command.h"

#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/tensor_io.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "cli/run_inputs.h"
#include "cli/stopwatch.h"
#include "cli/text_format.h"

namespace onnx_fp16::cli {
namespace {

namespace fs = std::filesystem;
bool same_existing_file(const fs::path& a, const fs::path& b) {
  std::error_code error;
  return fs::exists(a, error) && fs::exists(b, error) && fs::equivalent(a, b, error);
}

// Checked before the (possibly long) load and run: the output replaces no file the command
// reads, and its folder exists.
void check_output(const fs::path& output, const std::string& model, const std::vector<std::string>& inputs) {
  if (same_existing_file(output, model)) throw Error("--output '" + output.string() + "' is the model file");
  for (const auto& input : inputs) {
    if (same_existing_file(output, input)) throw Error("--output '" + output.string() + "' is the input file '" + input + "'");
  }
  const fs::path folder = output.has_parent_path() ? output.parent_path() : fs::path(".");
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    throw Error("cannot write '" + output.string() + "': folder '" + folder.string() + "' does not exist");
  }
}

// "y  FLOAT16  [2,4]" rows, names padded to line up.
std::string tensor_rows(const std::map<std::string, Tensor>& tensors, const std::vector<std::string>& names,
                        const std::string& note) {
  std::size_t width = 0;
  for (const auto& name : names) width = std::max(width, name.size());
  std::string text;
  for (const auto& name : names) {
    const Tensor& t = tensors.at(name);
    text += "  " + pad_right(name, width) + "  " + pad_right(data_type_name(t.dtype()), 8) + "  " +
            shape_to_string(t.shape()) + note + "\n";
  }
  return text;
}

// "Ran 20 times: first 40.12 ms, then median 3.31 ms, fastest 3.20 ms" (nothing for one run).
std::string repeat_text(const std::vector<double>& seconds) {
  if (seconds.size() < 2) return "";
  std::vector<double> later(seconds.begin() + 1, seconds.end());
  std::sort(later.begin(), later.end());
  const std::size_t mid = later.size() / 2;
  const double median = later.size() % 2 == 1 ? later[mid] : (later[mid - 1] + later[mid]) / 2;
  return "Ran " + std::to_string(seconds.size()) + " times: first " + duration_text(seconds.front()) +
         ", then median " + duration_text(median) + ", fastest " + duration_text(later.front()) + "\n";
}

// Where the runs' time went, per run on average: by op type, then the slowest nodes. Main-graph
// nodes (a node with subgraphs includes them).
std::string profile_text(std::span<const RunStats> runs) {
  struct Total {
    double seconds = 0;
    std::size_t nodes = 0;  // in one run
  };
  std::map<std::string, Total> by_op;
  std::map<std::pair<std::string, std::string>, double> by_node;  // (name, op type)
  double all = 0;
  for (const RunStats& run : runs) {
    for (const auto& t : run.node_times) {
      by_op[t.op_type].seconds += t.seconds;
      by_node[{t.name, t.op_type}] += t.seconds;
      all += t.seconds;
    }
  }
  if (runs.empty() || all <= 0) return "";
  for (const auto& t : runs.front().node_times) ++by_op[t.op_type].nodes;
  const double per_run = 1.0 / static_cast<double>(runs.size());
  std::vector<std::pair<std::string, Total>> ops(by_op.begin(), by_op.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  std::size_t width = 7;  // "op type"
  for (const auto& [op, total] : ops) width = std::max(width, op.size());
  auto share = [&](double seconds) {
    char text[16];
    std::snprintf(text, sizeof text, "%.1f%%", 100.0 * seconds / all);
    return std::string(text);
  };
  std::string text = "Time by op type (per run" + std::string(runs.size() > 1 ? ", the runs after the first" : "") +
                     "; nodes of the main graph, " + duration_text(all * per_run) + " in all):\n";
  text += "  " + pad_right("op type", width) + "  " + pad_left("nodes", 5) + "  " + pad_left("time", 10) + "  " +
          pad_left("share", 6) + "\n";
  for (const auto& [op, total] : ops) {
    text += "  " + pad_right(op, width) + "  " + pad_left(std::to_string(total.nodes), 5) + "  " +
            pad_left(duration_text(total.seconds * per_run), 10) + "  " + pad_left(share(total.seconds), 6) + "\n";
  }
  std::vector<std::pair<std::pair<std::string, std::string>, double>> nodes(by_node.begin(), by_node.end());
  std::sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  nodes.resize(std::min<std::size_t>(nodes.size(), 10));
  text += "Slowest nodes:\n";
  for (const auto& [node, seconds] : nodes) {
    text += "  " + pad_left(duration_text(seconds * per_run), 10) + "  " + pad_left(share(seconds), 6) + "  '" +
            node.first + "' (" + node.second + ")\n";
  }
  return text;
}

}  // namespace

RunCommand::RunCommand(CLI::App& app) {
  command_ = app.add_subcommand("run", "Run a model on the built-in CPU evaluator (float16 kept as float16)");
  command_->footer(
      "Input files: .npz (tensors by name), .npy (the model's single input), .pb (a TensorProto),\n"
      "or a folder of input_<N>.pb files (ONNX test data). Several --input files are merged.\n"
      "Exit status: 0 on success, 1 on an error, 2 on a usage error.");
  command_->add_option("MODEL", model_path_, "The ONNX model to run")->required();
  command_->add_option("-i,--input", input_paths_, "A file (or folder) of input tensors (a model without inputs needs none)")
      ->type_name("FILE")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command_->add_option("-o,--output", output_path_, "Where to write the outputs (.npz)")->type_name("OUT.npz")->required();
  command_->add_option("--threads", threads_, "Threads the kernels may use (0: all hardware threads)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command_->add_option("--keep", keep_, "Intermediate values to write too")
      ->type_name("NAME,...")
      ->delimiter(',')
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command_->add_option("--memory-limit", memory_limit_,
                       "The most bytes one tensor, and all intermediate tensors at once, may take (e.g. 8GB; "
                       "0: the machine's physical memory)")
      ->transform(CLI::AsSizeValue(/*kb_is_1000=*/true))
      ->capture_default_str();
  command_->add_option("--max-loop-iterations", max_loop_iterations_, "The most iterations one Loop may run (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command_->add_flag("--compress", compress_, "Deflate the .npz entries (numpy.savez_compressed)");
  command_->add_option("--repeat", repeat_, "Run the model N times: the first run, then the median and fastest of the others")
      ->type_name("N")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  command_->add_flag("--profile", profile_,
                     "Print where a run's time goes: by op type and the slowest nodes (over the runs after the "
                     "first when --repeat is more than 1)");
  command_->add_flag("-q,--quiet", quiet_, "Print nothing on success");
}

int RunCommand::run() const {
  const Clock::time_point start = Clock::now();
  check_output(output_path_, model_path_, input_paths_);
  std::vector<std::string> keep = keep_;
  std::erase(keep, std::string());  // "--keep ''" keeps nothing

  // From the path: the weights go from the file straight into the evaluator's tensors.
  const Evaluator evaluator(std::filesystem::path(model_path_), {.threads = threads_,
                                   .keep = keep,
                                   .memory_limit = memory_limit_,
                                   .max_loop_iterations = max_loop_iterations_});
  const std::map<std::string, Tensor> feeds = read_feeds(input_paths_, evaluator.inputs());
  const double load_seconds = seconds_since(start);

  // The outputs are the first run's (every run computes the same bits).
  std::vector<RunStats> runs(static_cast<std::size_t>(repeat_));
  std::vector<double> run_seconds(runs.size());
  std::map<std::string, Tensor> results;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Clock::time_point run_start = Clock::now();
    std::map<std::string, Tensor> outputs = evaluator.run(feeds, &runs[i]);
    run_seconds[i] = seconds_since(run_start);
    if (i == 0) results = std::move(outputs);
  }
  const RunStats& stats = runs.front();

  write_npz(output_path_, results, compress_ ? NpzCompression::Deflate : NpzCompression::Stored);
  if (quiet_) return 0;

  std::vector<std::string> kept;
  for (const auto& name : keep) {
    const auto& outputs = evaluator.output_names();
    if (std::find(outputs.begin(), outputs.end(), name) == outputs.end()) kept.push_back(name);
  }
  std::cout << "Ran " << model_path_ << ": " << count_of(stats.nodes_run, "node", "nodes") << " in "
            << seconds_text(run_seconds.front()) << " (load " << seconds_text(load_seconds) << "), peak "
            << human_bytes(stats.peak_live_bytes) << " of intermediates\n"
            << repeat_text(run_seconds)
            << (profile_ ? profile_text(std::span(runs).subspan(runs.size() > 1 ? 1 : 0)) : std::string())
            << "Wrote " << count_of(results.size(), "tensor", "tensors") << " to " << output_path_ << ":\n"
            << tensor_rows(results, evaluator.output_names(), "") << tensor_rows(results, kept, "  (kept)");
  return 0;
}

}  // namespace onnx_fp16::cli
