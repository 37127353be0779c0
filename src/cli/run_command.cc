#include "cli/run_command.h"

#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/tensor_io.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/run_inputs.h"
#include "cli/text_format.h"

namespace onnx_fp16::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

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

  const Clock::time_point run_start = Clock::now();
  RunStats stats;
  const std::map<std::string, Tensor> results = evaluator.run(feeds, &stats);
  const double run_seconds = seconds_since(run_start);

  write_npz(output_path_, results, compress_ ? NpzCompression::Deflate : NpzCompression::Stored);
  if (quiet_) return 0;

  std::vector<std::string> kept;
  for (const auto& name : keep) {
    const auto& outputs = evaluator.output_names();
    if (std::find(outputs.begin(), outputs.end(), name) == outputs.end()) kept.push_back(name);
  }
  std::cout << "Ran " << model_path_ << ": " << count_of(stats.nodes_run, "node", "nodes") << " in "
            << seconds_text(run_seconds) << " (load " << seconds_text(load_seconds) << "), peak "
            << human_bytes(stats.peak_live_bytes) << " of intermediates\n"
            << "Wrote " << count_of(results.size(), "tensor", "tensors") << " to " << output_path_ << ":\n"
            << tensor_rows(results, evaluator.output_names(), "") << tensor_rows(results, kept, "  (kept)");
  return 0;
}

}  // namespace onnx_fp16::cli
