// `onnx-fp16 inspect MODEL [--json]`: the precision census of a model.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace onnx_fp16::cli {

class InspectCommand {
 public:
  explicit InspectCommand(CLI::App& app);

  bool selected() const { return command_->parsed(); }
  // Prints the census: 0 on success; throws onnx_fp16::Error when the model cannot be read.
  int run() const;

 private:
  CLI::App* command_ = nullptr;
  std::string model_path_;
  bool json_ = false;
};

}  // namespace onnx_fp16::cli
