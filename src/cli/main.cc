// onnx-fp16: the command-line tool. Each subcommand lives in its own file; this one parses the
// command line and turns failures into one line on stderr and an exit status:
// 0 success, 1 error (the model or a file is at fault), 2 usage error (the command line is).
#include <google/protobuf/stubs/common.h>
#include <onnx/onnx_pb.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <iostream>
#include <string>

#include "cli/auto_mixed_command.h"
#include "cli/compare_command.h"
#include "cli/convert_command.h"
#include "cli/huge_page_heap.h"
#include "cli/inspect_command.h"
#include "cli/run_command.h"
#include "cli/version.h"

namespace {

constexpr int kError = 1;
constexpr int kUsageError = 2;

std::string version_text() {
  return std::string("onnx-fp16 ") + ONNX_FP16_VERSION + " (ONNX IR version " + std::to_string(onnx::IR_VERSION) +
         ", protobuf " + google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION) + ")";
}

// Messages from the ONNX checker can span lines; scripts and users expect one error line.
std::string one_line(std::string message) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  onnx_fp16::cli::restart_with_huge_page_heap(argv);
  CLI::App app{"Convert float32 ONNX models to float16, inspect their precision, run and compare them."};
  app.name("onnx-fp16");
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  app.footer("Run 'onnx-fp16 COMMAND --help' for a command's options.");
  const onnx_fp16::cli::ConvertCommand convert(app);
  const onnx_fp16::cli::InspectCommand inspect(app);
  const onnx_fp16::cli::RunCommand run(app);
  const onnx_fp16::cli::CompareCommand compare(app);
  const onnx_fp16::cli::AutoMixedCommand auto_mixed(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version end parsing "with an error" whose exit code is 0.
    return app.exit(error) == 0 ? 0 : kUsageError;
  }

  try {
    if (convert.selected()) return convert.run();
    if (run.selected()) return run.run();
    if (compare.selected()) return compare.run();
    if (auto_mixed.selected()) return auto_mixed.run();
    return inspect.run();
  } catch (const std::exception& error) {
    std::cerr << "onnx-fp16: error: " << one_line(error.what()) << std::endl;
    return kError;
  }
}
