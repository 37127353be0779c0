// ONNX Runtime timings for the evaluator benchmark: bench/ort_time.js in a child process
// (node with onnxruntime-node), fed the same inputs as the evaluator through raw files.
#pragma once

#include <onnx_fp16/tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace bench {

// Writes every feed's raw values to `folder`/<index>.bin and a feeds.json describing them (the
// format bench/ort_time.js reads); returns the JSON file's path.
std::filesystem::path write_ort_feeds(const std::filesystem::path& folder, const std::map<std::string, onnx_fp16::Tensor>& feeds);

struct OrtTiming {
  std::vector<double> run_seconds;
  double median_seconds = 0;
  double load_seconds = 0;
  double first_seconds = 0;  // the session's first run
  std::string ort_version;
  std::string error;  // why there is no timing (node or ORT missing, the model failed); empty on success
  bool ok() const { return error.empty(); }
};

// Runs `node script model feeds --threads T --runs N --warmup W`; its output goes to `log`.
OrtTiming time_in_ort(const std::filesystem::path& script, const std::filesystem::path& model,
                      const std::filesystem::path& feeds_json, int threads, int runs, int warmup,
                      const std::filesystem::path& log);

}  // namespace bench
