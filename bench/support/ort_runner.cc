#include "support/ort_runner.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <iterator>

#include "support/child_process.h"
#include "support/work_folder.h"

namespace bench {

namespace {

onnx_fp16::Tensor read_tensor(const nlohmann::json& description) {
  const auto dtype = static_cast<onnx_fp16::DataType>(description["dtype"].get<int>());
  const auto dims = description["dims"].get<onnx_fp16::Shape>();
  onnx_fp16::Tensor tensor = onnx_fp16::Tensor::uninitialized(dtype, dims);
  const std::string file = description["file"].get<std::string>();
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto target = tensor.mutable_bytes();
  if (bytes.size() != target.size()) {
    throw std::runtime_error(file + ": " + std::to_string(bytes.size()) + " bytes, expected " +
                             std::to_string(target.size()));
  }
  std::memcpy(target.data(), bytes.data(), bytes.size());
  return tensor;
}

}  // namespace

OrtRun run_in_ort(const std::filesystem::path& script, const std::filesystem::path& feeds_json,
                  const std::filesystem::path& out_dir, const std::vector<std::filesystem::path>& models, int threads,
                  const std::filesystem::path& log) {
  OrtRun run;
  const std::string node = std::filesystem::exists("/usr/bin/node") ? "/usr/bin/node" : "/usr/local/bin/node";
  std::vector<std::string> argv{node, script.string(), feeds_json.string(), out_dir.string()};
  for (const auto& model : models) argv.push_back(model.string());
  argv.push_back("--threads");
  argv.push_back(std::to_string(threads));
  const ChildUsage usage = run_program(argv, log, std::nullopt);
  std::ifstream in(log);
  std::string line;
  nlohmann::json result;
  while (std::getline(in, line)) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) result = std::move(parsed);
  }
  if (result.contains("error")) {
    run.error = result["error"].get<std::string>();
    return run;
  }
  if (!usage.succeeded() || !result.contains("models") || result["models"].size() != models.size()) {
    run.error = "ort_run.js " + usage.describe_failure() + "; end of its output:\n" + tail_of_file(log, 10);
    return run;
  }
  run.ort_version = result.value("ort_version", "");
  for (const auto& model : result["models"]) {
    OrtModelOutputs outputs;
    if (model.contains("error")) {
      outputs.error = model["error"].get<std::string>();
    } else {
      try {
        for (const auto& output : model["outputs"]) outputs.outputs.push_back(read_tensor(output));
      } catch (const std::exception& e) {
        outputs.error = e.what();
      }
    }
    run.models.push_back(std::move(outputs));
  }
  return run;
}

}  // namespace bench
