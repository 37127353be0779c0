// What the fuzz targets share: a private scratch folder where a target writes the input bytes
// as the file a user would hand over (the library reads models and tensors from paths), and the
// rule that an onnx_fp16::Error is the expected answer to a bad input (anything else that
// escapes, and any crash or sanitizer report, is a finding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <onnx/onnx_pb.h>
#include <onnx_fp16/evaluator.h>

namespace onnx_fp16::fuzz {

// A folder of this process's own, created once (the data file a model's external data may
// name, weights.bin, is in it), removed when the process ends normally.
const std::filesystem::path& scratch_folder();

// Writes `size` bytes to scratch_folder() / name and returns the path.
std::filesystem::path write_input(const std::string& name, const std::uint8_t* data, std::size_t size);

// The fuzzed bytes written as model.onnx and loaded, or nothing when they are not a model (a
// clear onnx_fp16::Error: fuzz_convert is the target that compares the loaders). `path` gets
// the file's path.
std::optional<onnx::ModelProto> load_fuzzed_model(const std::uint8_t* data, std::size_t size,
                                                  std::filesystem::path& path);

// The evaluator's limits while fuzzing: one thread, 64 MB of tensors, 1000 Loop iterations.
inline const EvaluatorOptions kFuzzEvaluatorLimits{
    .threads = 1, .keep = {}, .memory_limit = 64u << 20, .max_loop_iterations = 1000};

// A value for each tensor input the model declares, of its type and shape (symbolic dimensions
// as 1): zeros, or with `varied` float inputs of pseudo-random values in [-1, 1) (a fixed
// sequence), other types zeros. Inputs beyond 4096 elements are not fed (the feed check must
// refuse that clearly), nor inputs of a type a Tensor cannot hold.
Feeds sample_feeds(const onnx::ModelProto& model, bool varied);

}  // namespace onnx_fp16::fuzz
