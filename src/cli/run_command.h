// `onnx-fp16 run MODEL [--input FILE...] --output OUT.npz`: runs a model on the built-in CPU
// evaluator (float16 stored as float16, see docs/evaluator.md) and writes its outputs.
#pragma once

#include <CLI/CLI.hpp>
#include <onnx_fp16/evaluator.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace onnx_fp16::cli {

class RunCommand {
 public:
  explicit RunCommand(CLI::App& app);

  bool selected() const { return command_->parsed(); }
  // 0 on success; throws onnx_fp16::Error (the model, an input or the output is at fault),
  // having written nothing.
  int run() const;

 private:
  CLI::App* command_ = nullptr;
  std::string model_path_;
  std::vector<std::string> input_paths_;
  std::string output_path_;
  int threads_ = 0;
  std::size_t memory_limit_ = 0;
  std::int64_t max_loop_iterations_ = EvaluatorOptions{}.max_loop_iterations;
  std::vector<std::string> keep_;
  bool compress_ = false;
  bool quiet_ = false;
  int repeat_ = 1;
  bool profile_ = false;
};

}  // namespace onnx_fp16::cli
