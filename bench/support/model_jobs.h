// The benchmark's heavy steps, each run in a child process so that the benchmark itself never
// holds a big model (which would inflate every later child's peak RSS, see child_process.h).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>

#include "support/child_process.h"

namespace bench {

struct ModelFacts {
  std::int64_t nodes = 0;            // in all graphs, subgraphs included
  std::uint64_t weight_bytes = 0;    // initializer data, float32 and float16 alike
};

struct GeneratedModel {
  ModelFacts facts;
  double build_seconds = 0;
  double save_seconds = 0;
  ChildUsage usage;
};

// Builds a model with `build` and writes it to `path` with onnx_fp16::save_model. Throws
// std::runtime_error if the child failed (its message went to stderr).
GeneratedModel generate_in_child(const std::function<onnx::ModelProto()>& build, const std::filesystem::path& path);

// Loads `path` with onnx_fp16::load_model and counts its nodes and weight bytes.
ModelFacts inspect_in_child(const std::filesystem::path& path);

// The library path of `onnx-fp16 convert`, timed step by step.
struct InProcessSplit {
  double load_seconds = 0;
  double convert_seconds = 0;
  double save_seconds = 0;
  std::size_t converted_nodes = 0;
  std::size_t kept_nodes = 0;
  std::size_t casts_added = 0;
  ChildUsage usage;  // peak RSS of the whole load + convert + save
};

// load_model(input), convert_float_to_float16 with default options, save_model(output).
InProcessSplit convert_in_child(const std::filesystem::path& input, const std::filesystem::path& output,
                                std::optional<int> cpu);

}  // namespace bench
