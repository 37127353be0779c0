// `onnx-fp16 auto-mixed MODEL OUT --input SAMPLE [--rtol R] [--atol A] ...`: the smallest set of
// nodes to keep in float32 so that the outputs on the samples stay within tolerance.
#pragma once

#include <CLI/CLI.hpp>
#include <onnx_fp16/mixed.h>

#include <optional>
#include <string>
#include <vector>

#include "cli/conversion_flags.h"

namespace onnx_fp16::cli {

class AutoMixedCommand {
 public:
  explicit AutoMixedCommand(CLI::App& app);

  bool selected() const { return command_->parsed(); }
  // 0 on success; throws onnx_fp16::Error on failure, having written nothing.
  int run() const;

 private:
  struct Args {
    std::string input;
    std::string output;
    std::vector<std::string> samples;
    double rtol = 0;
    double atol = 0;
    std::string report;
    bool quiet = false;
    std::string strategy = "improved";
    bool no_search = false;
    double data_max = 0;
    double init_max = 0;
    std::vector<std::string> keep_ops;
    std::string keep_node;
    std::string validate_cmd;
    int threads = 0;
    int variants = MixedOptions{}.float16_variants;
    double variant_spread = MixedOptions{}.variant_spread;
    double spread_safety = MixedOptions{}.spread_safety;
    int holdout = 0;  // only when given: MixedOptions' default scales with the search
    double sensitivity_budget = MixedOptions{}.sensitivity_budget;
    double search_budget = MixedOptions{}.search_budget;
    bool skip_predicted = MixedOptions{}.skip_predicted_failures;
  };

  MixedOptions mixed_options() const;

  CLI::App* command_ = nullptr;
  Args args_;
  ConversionFlags conversion_flags_;
  CLI::Option* rtol_option_ = nullptr;
  CLI::Option* atol_option_ = nullptr;
  CLI::Option* data_max_option_ = nullptr;
  CLI::Option* holdout_option_ = nullptr;
  CLI::Option* init_max_option_ = nullptr;
  CLI::Option* report_option_ = nullptr;
};

}  // namespace onnx_fp16::cli
