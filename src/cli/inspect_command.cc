#include "cli/inspect_command.h"

#include <onnx_fp16/inspect.h>
#include <onnx_fp16/model_io.h>

#include <iostream>

#include "io/streamed_model.h"

#include "cli/census_output.h"
#include "frontend/json_text.h"
#include "frontend/report_json.h"

namespace onnx_fp16::cli {

InspectCommand::InspectCommand(CLI::App& app) {
  command_ = app.add_subcommand("inspect", "Show which precision a model's nodes and tensors use");
  command_->footer(
      "A node counts in the precision of the float values it writes (or, writing none, of those it reads).\n"
      "Exit status: 0 on success, 1 on an error, 2 on a usage error.");
  command_->add_option("MODEL", model_path_, "The ONNX model to inspect")->required();
  command_->add_flag("--json", json_, "Print JSON instead of tables");
}

int InspectCommand::run() const {
  // The census needs types, shapes and byte counts, never the weights' values: they stay on disk.
  const io::StreamedModel streamed = io::load_model_streamed(model_path_);
  const onnx::ModelProto& model = streamed.model;
  const Census census = take_census(model);
  if (json_) {
    std::cout << frontend::json_text(frontend::census_json(census, model_path_));
  } else {
    std::cout << census_table(census, model_path_);
  }
  return 0;
}

}  // namespace onnx_fp16::cli
