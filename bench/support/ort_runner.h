// ONNX Runtime outputs for the mixed-precision benchmark: bench/ort_run.js in a child process
// (node with onnxruntime-node) runs several models once on the same inputs (written with
// write_ort_feeds) and hands their outputs back through raw files.
#pragma once

#include <onnx_fp16/tensor.h>

#include <filesystem>
#include <string>
#include <vector>

namespace bench {

struct OrtModelOutputs {
  std::vector<onnx_fp16::Tensor> outputs;  // graph output order
  std::string error;                       // why the model did not load or run; empty on success
  bool ok() const { return error.empty(); }
};

struct OrtRun {
  std::vector<OrtModelOutputs> models;  // one per model asked for, in that order
  std::string ort_version;
  std::string error;  // why nothing ran (node or ORT missing); empty when `models` is filled
  bool ok() const { return error.empty(); }
};

// Runs `node script feeds_json out_dir model... --threads T`; its output goes to `log`.
OrtRun run_in_ort(const std::filesystem::path& script, const std::filesystem::path& feeds_json,
                  const std::filesystem::path& out_dir, const std::vector<std::filesystem::path>& models, int threads,
                  const std::filesystem::path& log);

}  // namespace bench
