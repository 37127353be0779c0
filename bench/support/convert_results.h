// What convert_bench measures, kept apart from how it is measured (convert_bench.cc) and how it
// is printed (convert_report.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/model_jobs.h"

namespace bench {

// The goals the figures are printed against.
inline constexpr double kThroughputGoalBytesPerSecond = 1e9;  // float32 weights, one core
inline constexpr double kPeakRssGoalRatio = 1.3;              // peak RSS / (input + output file bytes)
inline constexpr double kWideGraphGoalSeconds = 5.0;          // for the 200k-node graph
inline constexpr std::int64_t kWideGraphGoalNodes = 200'000;

struct CaseResult {
  std::string name;
  bool wide_graph = false;  // part of the node-count scaling series
  bool generated_ok = false;
  GeneratedModel generated;
  std::uint64_t file_bytes_in = 0;
  ChildUsage cli;           // `onnx-fp16 convert IN OUT`
  ModelFacts output;
  std::uint64_t file_bytes_out = 0;
  std::string error;        // set when generating, converting or reading the output failed

  bool measured() const { return error.empty(); }
  double peak_rss_ratio() const;
};

struct BenchResults {
  bool quick = false;
  std::optional<int> pinned_cpu;
  std::uint64_t fork_floor_rss = 0;  // peak RSS of a child that does nothing: the floor of every figure
  std::vector<CaseResult> cases;
  std::optional<InProcessSplit> in_process;
  std::string in_process_model;
  std::string in_process_error;
};

}  // namespace bench
