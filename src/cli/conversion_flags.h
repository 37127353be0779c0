// The conversion options `convert` and `auto-mixed` share, registered and read in one place so
// that both subcommands parse them alike: the same names, checks and defaults, empty names
// dropped, `--op-block-list ''` or `--no-op-block-list` blocking nothing.
#pragma once

#include <CLI/CLI.hpp>
#include <onnx_fp16/convert.h>

#include <string>
#include <vector>

namespace onnx_fp16::cli {

class ConversionFlags {
 public:
  // Registers --to, --min-positive-val, --max-finite-val, --keep-io-types, --keep-io,
  // --op-block-list, --no-op-block-list, --node-block-list and --disable-shape-infer on
  // `command`. The object must outlive the parse (the options write into it).
  void add_to(CLI::App& command);

  // The options as given (call after parsing).
  Float16Options options() const;
  // Whether --min-positive-val or --max-finite-val was given (bfloat16 ignores them: a warning).
  bool clamp_values_given() const;

 private:
  std::string to_ = "float16";
  float min_positive_val_ = 1e-7f;
  float max_finite_val_ = 1e4f;
  bool keep_io_types_ = false;
  std::vector<std::string> keep_io_;
  std::vector<std::string> op_block_list_;
  bool no_op_block_list_ = false;
  std::vector<std::string> node_block_list_;
  bool disable_shape_infer_ = false;
  CLI::Option* op_block_list_option_ = nullptr;
  CLI::Option* min_positive_option_ = nullptr;
  CLI::Option* max_finite_option_ = nullptr;
};

}  // namespace onnx_fp16::cli
