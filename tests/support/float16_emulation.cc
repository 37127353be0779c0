#include "support/float16_emulation.h"

#include <gtest/gtest.h>
#include <onnx_fp16/model_io.h>

#include <cstdlib>
#include <fstream>

#include "support/paths.h"
#include "support/run_cli.h"

namespace test_support {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPython = "/usr/bin/python3";

bool shell_ok(const std::string& command) { return std::system(command.c_str()) == 0; }

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary);
  file << bytes;
}

}  // namespace

bool float16_emulation_available() {
  static const bool ok = shell_ok(std::string(kPython) + " -c 'import numpy, onnx' >/dev/null 2>&1");
  return ok;
}

std::vector<onnx_fp16::Tensor> run_float16_emulation(const fs::path& dir, const onnx::ModelProto& model,
                                                      const std::map<std::string, onnx_fp16::Tensor>& feeds,
                                                      const EmulationOptions& options) {
  const std::string variant = std::string(options.intermediate_rounding ? "outputs" : "outputs_f32") +
                              (options.accumulate_float64 ? "_acc64" : "");
  const fs::path inputs = dir / "inputs", outputs = dir / variant;
  fs::create_directories(inputs);
  onnx_fp16::save_model(model, dir / "model.onnx");
  int index = 0;
  for (const auto& [name, tensor] : feeds) {
    write_file(inputs / (std::to_string(index++) + ".pb"), tensor.to_proto(name).SerializeAsString());
  }
  const fs::path script = source_dir() / "tests" / "emulation" / "emulate_float16.py";
  const fs::path log = dir / (variant + ".log");
  const std::string command = std::string(kPython) + " '" + script.string() + "' '" + (dir / "model.onnx").string() +
                              "' '" + inputs.string() + "' '" + outputs.string() + "'" +
                              (options.intermediate_rounding ? "" : " --no-intermediate-rounding") +
                              (options.accumulate_float64 ? " --accumulate=float64" : "") + " >'" + log.string() +
                              "' 2>&1";
  std::vector<onnx_fp16::Tensor> results;
  if (!shell_ok(command)) {
    ADD_FAILURE() << "the emulation failed:\n" << read_file(log);
    return results;
  }
  for (int i = 0; i < model.graph().output_size(); ++i) {
    onnx::TensorProto proto;
    std::ifstream file(outputs / (std::to_string(i) + ".pb"), std::ios::binary);
    if (!proto.ParseFromIstream(&file)) {
      ADD_FAILURE() << "the emulation wrote no readable output " << i;
      return {};
    }
    results.push_back(onnx_fp16::Tensor::from_proto(proto));
  }
  return results;
}

}  // namespace test_support
