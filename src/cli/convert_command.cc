#include "cli/convert_command.h"

#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/checker.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "cli/atomic_text_file.h"
#include "frontend/convert_outcome.h"
#include "frontend/json_text.h"
#include "frontend/option_warnings.h"
#include "frontend/output_paths.h"
#include "frontend/report_json.h"
#include "cli/summary.h"
#include "cli/byte_progress.h"
#include "cli/stopwatch.h"
#include "io/model_save.h"
#include "io/process_memory.h"
#include "io/streamed_model.h"

namespace onnx_fp16::cli {
namespace {

namespace fs = std::filesystem;
std::uint64_t file_size_or_zero(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  return error ? 0 : size;
}

// The converted model is not freed: the command returns to main, which exits, and the operating
// system takes the process's memory back at once, while freeing a graph's protos one by one costs
// about a tenth of converting it (16,000 nodes: 100 of 1,035 million instructions). Held from a
// pointer that is never freed, so it stays reachable and LeakSanitizer does not call it a leak.
void leave_to_process_exit(io::StreamedModel&& streamed) {
  static auto* const left = new std::vector<std::unique_ptr<io::StreamedModel>>();
  left->push_back(std::make_unique<io::StreamedModel>(std::move(streamed)));
}

}  // namespace

ConvertCommand::ConvertCommand(CLI::App& app) {
  command_ = app.add_subcommand("convert", "Convert a float32 model to float16 (or bfloat16)");
  command_->footer(
      "Nothing is written when the command fails, and the input is never modified.\n"
      "Exit status: 0 on success, 1 on an error, 2 on a usage error.");
  Args& a = args_;
  command_->add_option("IN", a.input, "The float32 ONNX model to convert")->required();
  command_->add_option("OUT", a.output, "Where to write the converted model (not IN)")->required();

  conversion_flags_.add_to(*command_);
  command_->add_flag("--force", a.force, "Convert even if the model already holds the target type");
  external_data_option_ = command_->add_option("--external-data", a.external_data,
                                               "Store the output's tensors in FILE, beside OUT")
                              ->type_name("FILE");
  report_option_ = command_->add_option("--report", a.report, "Write a JSON report to FILE")->type_name("FILE");
  command_->add_flag("--check", a.check, "Check the result with the ONNX checker (full check) before writing it");
  command_->add_flag("-q,--quiet", a.quiet, "Print nothing on success but warnings");
}

Float16Options ConvertCommand::float16_options() const {
  Float16Options options = conversion_flags_.options();
  options.force = args_.force;
  return options;
}

int ConvertCommand::run() const {
  const Clock::time_point start = Clock::now();
  const Args& a = args_;

  frontend::ConvertOutcome outcome;
  outcome.input = a.input;
  outcome.output = a.output;
  outcome.options = float16_options();
  outcome.checked = a.check;
  std::optional<std::string> requested_data_file;
  if (external_data_option_->count() > 0) requested_data_file = a.external_data;
  std::optional<fs::path> report_path;
  if (report_option_->count() > 0) report_path = a.report;

  const frontend::OutputPaths output_paths{a.input, a.output, requested_data_file, report_path};
  frontend::check_output_paths(output_paths);
  // Created now so that an unwritable report fails before the conversion, not after the save.
  std::optional<AtomicTextFile> report_file;
  if (report_path) report_file.emplace(*report_path);

  Clock::time_point step = Clock::now();
  // Weights stay in their files until the save streams them through the conversion: memory
  // holds the graph's structure, not its weights.
  io::StreamedModel streamed = io::load_model_streamed(a.input);
  onnx::ModelProto& model = streamed.model;
  frontend::check_not_input_data(output_paths, streamed.data_files);
  outcome.seconds.load = seconds_since(step);
  outcome.files.input_file = file_size_or_zero(a.input);
  const bool clamp_values_given = conversion_flags_.clamp_values_given();
  std::vector<std::string> own_warnings = frontend::option_warnings(model, outcome.options, clamp_values_given);

  step = Clock::now();
  outcome.report = convert_float_to_float16(model, outcome.options);
  outcome.seconds.convert = seconds_since(step);

  if (a.check) {
    step = Clock::now();
    // The checker reads tensor data: the weights come into memory for it.
    outcome.report.values_clamped += io::materialize_deferred(model, streamed.sources);
    std::string note;
    try {
      note = check_model_full(model);
    } catch (const Error& error) {
      throw Error(std::string("--check: the converted model is invalid, nothing was written: ") + error.what());
    }
    if (!note.empty()) own_warnings.push_back("--check: " + note);
    outcome.seconds.check = seconds_since(step);
  }

  step = Clock::now();
  SaveOptions save_options;
  save_options.external_data_file = requested_data_file;
  const io::SaveResult saved = io::save_model_with_limit(model, a.output, save_options, io::kAutomaticExternalDataLimit,
                                                         &streamed.sources, progress_bar(a.quiet));
  // Clamping of streamed weights happens as they are written.
  outcome.report.values_clamped += saved.values_clamped;
  outcome.external_data_file = saved.external_data_file;
  outcome.seconds.save = seconds_since(step);
  outcome.warnings = outcome.report.warnings;
  outcome.warnings.insert(outcome.warnings.end(), own_warnings.begin(), own_warnings.end());
  outcome.files.output_file = file_size_or_zero(a.output);
  if (outcome.external_data_file) {
    outcome.files.output_data_file = file_size_or_zero(fs::path(a.output).replace_filename(*outcome.external_data_file));
  }
  outcome.seconds.total = seconds_since(start);
  outcome.peak_memory_bytes = io::peak_resident_bytes();

  if (report_file) report_file->commit(frontend::json_text(frontend::report_json(outcome)));
  if (!a.quiet) std::cout << conversion_summary(outcome) << std::flush;
  for (const auto& warning : outcome.warnings) std::cerr << "onnx-fp16: warning: " << warning << "\n";
  leave_to_process_exit(std::move(streamed));
  return 0;
}

}  // namespace onnx_fp16::cli
