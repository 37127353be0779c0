// Automatic mixed precision: the library face of `onnx-fp16 auto-mixed`.
//
// Mirrors onnxconverter-common's `auto_convert_mixed_precision(model, feed_dict, validate_fn,
// rtol, atol, keep_io_types)`: converts as many nodes to float16 as it can while the outputs on
// the sample inputs stay within tolerance of the float32 model's, and keeps the rest in float32.
// It needs no GPU: candidates run on the built-in evaluator, which stores float16 faithfully.
//
//   onnx_fp16::MixedOptions options;
//   options.rtol = 0.01;
//   options.atol = 0.001;
//   onnx_fp16::MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, {feeds}, options);
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/tensor.h>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace onnx_fp16 {

// One sample: a tensor per graph input, by name.
using Feeds = std::map<std::string, Tensor>;

// Receives the float32 model's outputs and a candidate's, each in graph output order, for one
// sample; true when the candidate is acceptable.
using ValidateFunction =
    std::function<bool(const std::vector<Tensor>& float32_outputs, const std::vector<Tensor>& candidate_outputs)>;

// Runs a candidate model on every sample (outputs in graph output order, one list per sample):
// for searching with the runtime one deploys on instead of the built-in evaluator.
using CandidateRunner =
    std::function<std::vector<std::vector<Tensor>>(const onnx::ModelProto& model, const std::vector<Feeds>& samples)>;

enum class SearchStrategy {
  // The original's search and nothing more: every attempt converts the model anew and runs it
  // in full. Kept for comparison (bench/mixed_bench) and as a cross-check.
  Baseline,
  // Nodes whose float32 values leave float16's range on the samples are kept before the search;
  // attempts re-evaluate only the nodes their change affects, on the model loaded once.
  Improved,
};

// One line of progress, given after each attempt (and once at the start and end).
struct MixedProgress {
  int attempt = 0;                // 0 before the first attempt
  std::size_t tried_nodes = 0;    // size of the segment just tried
  bool passed = false;
  std::string segments;           // the segment sizes along the node order, e.g. "[=12][?6][x1][?5]"
  std::string bar;                // the same as a fixed-width bar: '=' good, 'x' kept, '.' untried
  double elapsed_seconds = 0;
  double estimated_seconds_left = 0;
  std::string line;               // all of the above as one line of text
};

struct MixedOptions {
  // Validation: numpy.allclose(float32_output, candidate_output, rtol, atol) for every output
  // and sample. If only atol is given rtol = 1e-5; if only rtol, atol = 1e-8. With neither,
  // `validate` is required. When both are given, a candidate must pass both.
  std::optional<double> rtol;
  std::optional<double> atol;
  ValidateFunction validate;
  bool keep_io_types = false;
  // The conversion's other options (clamping, op_block_list, ...). Its keep_io_types and
  // block_node are set by the search.
  Float16Options conversion;

  SearchStrategy strategy = SearchStrategy::Improved;
  bool search = true;  // false: apply the pre-screens below and convert, without a search

  // Optional rule-based pre-screens: nodes kept from the start.
  std::optional<double> data_max;      // a float32 value it reads or writes exceeds this magnitude
  std::optional<double> init_max;      // a float32 initializer it reads exceeds this magnitude
  std::vector<std::string> keep_ops;   // op types
  std::string keep_node_pattern;       // ECMAScript regex matched against the whole node name

  int threads = 0;  // evaluator threads, 0: all hardware threads
  // Called with each progress line; unset: silent.
  std::function<void(const MixedProgress&)> progress;
  // Unset: the built-in evaluator. Set: used for the float32 reference and every candidate
  // (the search then converts and hands over the whole model each attempt).
  CandidateRunner runner;
};

// Why the search left a node in float32.
enum class MixedKeepReason {
  Search,            // converting it alone broke the tolerance
  Float16Overflow,   // a float32 value it reads or writes exceeds float16's largest (65504) on a sample
  Float16Underflow,  // a float32 tensor it writes is nonzero but wholly below float16's normals
  DataMax,           // --data-max
  InitMax,           // --init-max
  KeepOp,            // --keep-op
  KeepNode,          // --keep-node
};
const char* to_string(MixedKeepReason reason);

struct MixedKeptNode {
  std::string name;     // the node's name, or "<op_type>#<index>"
  std::string op_type;
  MixedKeepReason reason = MixedKeepReason::Search;
  std::string detail;   // the error its conversion caused, or the value that triggered a screen
};

struct MixedReport {
  std::size_t candidate_nodes = 0;  // main-graph nodes the conversion would turn to float16
  std::size_t converted_nodes = 0;  // of those, converted in the result
  std::vector<MixedKeptNode> kept;  // main-graph nodes kept by the search or a screen
  int attempts = 0;                 // candidate models tried (not counting the checks)
  int evaluator_runs = 0;           // model runs on one sample, full or partial, checks included
  std::size_t nodes_evaluated = 0;  // node executions over all runs (partial runs skip nodes)
  double full_run_equivalents = 0;  // nodes_evaluated / nodes per full run
  double seconds = 0;
  std::string strategy;             // "baseline" or "improved"
  std::string engine;               // how candidates ran: "incremental", "rebuild", "runner"
  std::string final_check;          // the final model's worst output against the float32 one
  ConversionReport conversion;      // the final conversion
  std::vector<std::string> log;     // the progress lines
};

// Converts `model` in place to mixed precision. Throws onnx_fp16::Error when the options are
// incomplete (no tolerance and no function), a sample does not fit the model (naming the input),
// the float32 model fails its own validation, or the model with every node kept in float32
// fails it.
MixedReport auto_convert_mixed_precision(onnx::ModelProto& model, const std::vector<Feeds>& samples,
                                         const MixedOptions& options);

}  // namespace onnx_fp16
