#include "cli/conversion_flags.h"

#include <algorithm>

namespace onnx_fp16::cli {
namespace {

// `--op-block-list ''` arrives as one empty item: it means "block nothing", not an op named "".
std::vector<std::string> without_empty(std::vector<std::string> items) {
  std::erase(items, std::string());
  return items;
}

// A comma-separated list that may be given several times (all occurrences count).
CLI::Option* add_list(CLI::App& command, const std::string& name, std::vector<std::string>& target,
                      const std::string& help, const std::string& type_name) {
  return command.add_option(name, target, help)
      ->type_name(type_name)
      ->delimiter(',')
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace

void ConversionFlags::add_to(CLI::App& command) {
  command.add_option("--to", to_, "Target type")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"float16", "bfloat16"}))
      ->capture_default_str();
  min_positive_option_ = command.add_option("--min-positive-val", min_positive_val_,
                                            "Constants with 0 < |x| < F become F (float16 only)")
                             ->type_name("F")
                             ->default_str("1e-7")
                             ->check(CLI::PositiveNumber);
  max_finite_option_ = command.add_option("--max-finite-val", max_finite_val_,
                                          "Finite constants with |x| > F become F (float16 only)")
                           ->type_name("F")
                           ->default_str("1e4")
                           ->check(CLI::PositiveNumber);
  auto* keep_io_types = command.add_flag("--keep-io-types", keep_io_types_, "Keep all model inputs and outputs float32");
  add_list(command, "--keep-io", keep_io_, "Keep only these model inputs/outputs float32", "NAME,...")
      ->excludes(keep_io_types);
  op_block_list_option_ =
      add_list(command, "--op-block-list", op_block_list_, "Op types to keep float32, replacing the default list ('' for none)",
               "A,B");
  command.add_flag("--no-op-block-list", no_op_block_list_, "Block no op type (same as --op-block-list '')")
      ->excludes(op_block_list_option_);
  add_list(command, "--node-block-list", node_block_list_, "Names of nodes to keep float32", "N1,N2");
  command.add_flag("--disable-shape-infer", disable_shape_infer_,
                   "Do not run ONNX shape inference (types come from the model and the operator schemas)");
}

Float16Options ConversionFlags::options() const {
  Float16Options options;
  options.target = to_ == "bfloat16" ? TargetType::BFloat16 : TargetType::Float16;
  options.min_positive_val = min_positive_val_;
  options.max_finite_val = max_finite_val_;
  options.keep_io_types = keep_io_types_;
  options.keep_io_names = without_empty(keep_io_);
  options.disable_shape_infer = disable_shape_infer_;
  // Not given: the library's default list. Given, even empty: it replaces the default.
  if (no_op_block_list_) {
    options.op_block_list = std::vector<std::string>{};
  } else if (op_block_list_option_->count() > 0) {
    options.op_block_list = without_empty(op_block_list_);
  }
  options.node_block_list = without_empty(node_block_list_);
  return options;
}

bool ConversionFlags::clamp_values_given() const {
  return min_positive_option_->count() > 0 || max_finite_option_->count() > 0;
}

}  // namespace onnx_fp16::cli
