// `onnx-fp16 convert IN OUT [options]`: load, convert to float16 (or bfloat16), save.
#pragma once

#include <CLI/CLI.hpp>
#include <onnx_fp16/convert.h>

#include <string>
#include <vector>

#include "cli/conversion_flags.h"

namespace onnx_fp16::cli {

class ConvertCommand {
 public:
  // Registers the subcommand and its options on `app`.
  explicit ConvertCommand(CLI::App& app);

  bool selected() const { return command_->parsed(); }
  // Runs the parsed command: 0 on success; throws onnx_fp16::Error (or another std::exception)
  // on failure, having written nothing.
  int run() const;

 private:
  struct Args {
    std::string input;
    std::string output;
    bool force = false;
    std::string external_data;
    std::string report;
    bool check = false;
    bool quiet = false;
  };

  Float16Options float16_options() const;

  CLI::App* command_ = nullptr;
  Args args_;
  ConversionFlags conversion_flags_;
  // Options whose presence matters beyond their value.
  CLI::Option* external_data_option_ = nullptr;
  CLI::Option* report_option_ = nullptr;
};

}  // namespace onnx_fp16::cli
