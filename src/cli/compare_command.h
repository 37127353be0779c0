// `onnx-fp16 compare A B [--rtol R --atol A] [--json]`: the tensors two files share, compared
// as numpy.allclose(a, b) does, with error statistics.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace onnx_fp16::cli {

class CompareCommand {
 public:
  explicit CompareCommand(CLI::App& app);

  bool selected() const { return command_->parsed(); }
  // 0 when every shared tensor is close and both files hold the same names, 1 otherwise;
  // throws onnx_fp16::Error when a file cannot be read.
  int run() const;

 private:
  CLI::App* command_ = nullptr;
  std::string a_path_;
  std::string b_path_;
  double rtol_ = 1e-5;
  double atol_ = 1e-8;
  bool json_ = false;
};

}  // namespace onnx_fp16::cli
