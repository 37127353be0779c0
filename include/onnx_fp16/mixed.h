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
#include <onnx_fp16/evaluator.h>  // Feeds
#include <onnx_fp16/tensor.h>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace onnx_fp16 {

// Receives the float32 model's outputs and a candidate's, each in graph output order, for one
// sample; true when the candidate is acceptable.
using ValidateFunction =
    std::function<bool(const std::vector<Tensor>& float32_outputs, const std::vector<Tensor>& candidate_outputs)>;

// Runs a candidate model on every sample (outputs in graph output order, one list per sample):
// for searching with the runtime one deploys on instead of the built-in evaluator.
using CandidateRunner =
    std::function<std::vector<std::vector<Tensor>>(const onnx::ModelProto& model, const std::vector<Feeds>& samples)>;

enum class SearchStrategy {
  // The original's search and nothing more: the nodes in topological order, every attempt
  // converts the model anew and runs it in full. Kept for comparison (bench/mixed_bench) and as
  // a cross-check.
  Baseline,
  // Nodes whose values would leave float16's range on the samples (constants clamped as the
  // conversion clamps them) are kept before the search; attempts re-evaluate only the nodes
  // their change affects, on the model loaded once; candidates must hold with the spread of
  // several simulated float16 implementations (robust acceptance).
  Improved,
};

// How the search ran its candidates (docs/mixed.md, "How candidates run").
enum class CandidateEngineKind {
  Incremental,  // the float32 model compiled once; converted nodes simulated, only what changed re-run
  Rebuild,      // each candidate converted and run in full on the evaluator
  Runner,       // each candidate converted and handed to MixedOptions::runner
};

// The order the search tried the nodes in.
enum class SearchOrderKind {
  Node,         // node order (the spec's)
  Sensitivity,  // by FLOPs per squared effect alone at the outputs (improved strategy)
};

// "baseline"/"improved", "incremental"/"rebuild"/"runner", "node"/"sensitivity": the report's words.
const char* to_string(SearchStrategy strategy);
const char* to_string(CandidateEngineKind engine);
const char* to_string(SearchOrderKind order);

// The default relative spread of the simulated float16 implementations (MixedOptions).
inline constexpr double kDefaultVariantSpread = 0x1.0p-15;
// The most held-out implementations a result can be checked on (MixedOptions::holdout_variants).
inline constexpr int kMaxHoldoutVariants = 64;

// One line of progress, given after each attempt (and once at the start and end).
struct MixedProgress {
  int attempt = 0;                // 0 before the first attempt
  std::size_t tried_nodes = 0;    // size of the segment just tried
  bool passed = false;
  std::size_t good = 0, kept = 0, untried = 0;  // search positions in each state after the attempt
  double flops_float16_share = 0; // of the model's FLOPs, in float16 in the accepted state
  std::string segments;           // the segment sizes along the node order, e.g. "[=12][?6][x1][?5]"
  std::string bar;                // the same as a fixed-width bar: '=' good, 'x' kept, '.' untried
  double elapsed_seconds = 0;
  double estimated_seconds_left = 0;  // about how long the search still takes (an estimate, often off by 2x)
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
  // The conversion's other options (clamping, op_block_list, keep_io_names, target, ...).
  // keep_io_types here or there both keep the graph's inputs and outputs float32.
  Float16Options conversion;

  SearchStrategy strategy = SearchStrategy::Improved;
  bool search = true;  // false: apply the pre-screens below and convert, without a search

  // Optional rule-based pre-screens: nodes kept from the start.
  std::optional<double> data_max;      // a float32 value it reads or writes exceeds this magnitude
  std::optional<double> init_max;      // a float32 initializer it reads exceeds this magnitude
  std::vector<std::string> keep_ops;   // op types
  std::string keep_node_pattern;       // ECMAScript regex matched against the whole node name

  // Robust acceptance (the improved strategy; docs/mixed.md): a candidate must pass on the
  // evaluator and on this many other faithful float16 implementations, simulated by nudging
  // every float16 value a node computes, and every float32 result cast to float16 for a float16
  // reader, by up to `variant_spread` (relative) before rounding, each variant with its own
  // pattern. 0: the evaluator's bits alone, as the original accepts. 4 by default: with 2,
  // PaddleOCR's detector and recogniser were accepted at 0.94 and 0.89 of the tolerance and
  // measured 1.09 and 1.28 on the numpy emulation (docs/benchmarks.md); with 4 both pass.
  // Not used with `runner` (the caller's runtime is the judge). A model the incremental engine
  // cannot run (a Loop or Scan the samples run, an If they take both ways) runs whole on the
  // rebuild engine, whose variants move the rounded values instead, by one step at the rate such
  // a nudge flips roundings (rebuild_engine.cc). A model whose Ifs each take one branch on every
  // sample runs on the incremental engine as the flat model those branches make.
  // With a tolerance, an element passes only when, with c the mean of the evaluator's and the
  // variants' values, |float32 - c| + `spread_safety` * the largest |implementation - c| stays
  // within atol + rtol * |evaluator|: then every implementation run passes, and so does an
  // unseen one landing within spread_safety times their largest deviation from c. The margin is
  // needed because the search keeps what passes its own variants: where deviations are like
  // independent draws, an unseen implementation (the user's GPU) lands beyond the largest of n
  // with probability 1/(n+1). Centred on the mean, not on the evaluator: where the evaluator's
  // error is largest its draw was often the unlucky one and the others land nearer float32
  // (BERT-base), so the spread measured from the evaluator is overstated there. 2.5 by default:
  // on 60 variants the search never ran, the results for PaddleOCR det, rec, cls and BERT-base
  // all pass, with more float16 than 1.5 measured from the evaluator had (docs/mixed.md "How far
  // the results hold").
  int float16_variants = 4;
  double variant_spread = kDefaultVariantSpread;  // in (0, 2^-13]
  double spread_safety = 2.5;
  // After the search, the result also runs on this many simulated implementations the search
  // never ran (other nudge patterns, the same spread; at most 64): OutputMargin::holdout_ratio.
  // What the search accepted was selected to pass on its own variants; these say how it does
  // on unseen ones, as the user's GPU is (PaddleOCR det and rec, 2026-12-04: two of twelve
  // results accepted at K = 2.5 reached 1.22 and 1.81 on twelve unseen). When an output reaches
  // over 0.8 of the tolerance there (the worst of a few draws: one more can land beyond it), the
  // search runs once more on twice as many simulated implementations, at most 16 (with 16
  // already: spread_safety x1.4 instead; MixedReport::searched_again; not with a search_budget,
  // nor without a search) and its result is checked on other held-out implementations; an output
  // still over 0.8 gets a warning. About one full run each, per sample. 0: none. Only with a
  // tolerance and float16_variants > 0, on the improved strategy's engines.
  // Not set (the default): a tenth of the full runs the search itself made, from 4 to 16. The
  // holdout's worst is the worst of a few draws, so a rare bad implementation slips past a small
  // one: PaddleOCR det's first result (own AVX-512 products) reached 0.75 on 4, 0.79 on 8, 0.96
  // on 16 and 1.17 on 64 held-out implementations (2 of 64 over 1). A search of 177 full runs
  // affords 16 more; BERT-base with a search budget of 25 keeps 4. A search under 40 full runs,
  // whose 4 are more than a tenth, runs its tenth (at least 2) and the rest only when one of
  // those reaches more than 0.5 of the tolerance (docs/mixed.md "The holdout check");
  // MixedReport::holdout_variants says how many ran. A count given is always run whole.
  std::optional<int> holdout_variants;

  // The improved search's order (docs/mixed.md): each node is first converted alone and its
  // effect at the outputs measured, heaviest nodes first, until this many full-run equivalents
  // are spent; the search then tries nodes by FLOPs per squared effect and halves segments by
  // FLOPs. 0: node order (still halved by FLOPs). Not used with `runner`.
  double sensitivity_budget = 25;
  // The most full-run equivalents the whole search may spend (the float32 reference, the order's
  // measurements and the attempts, every sample and implementation variant counted); 0: no
  // limit. No attempt starts once it is spent: the nodes not decided by then stay float32
  // (MixedKeepReason::Budget) and the result is the last accepted state, which passes like any
  // other. The attempt under way and the final check come on top (a few equivalents); the
  // order's measurements take at most what is left. For a bounded search time: the cost of an
  // unbounded one depends on where its attempts happen to fail (BERT-base's fast search, the
  // same options, 19.8 or 55.6 equivalents with two BLAS builds' last bits; docs/mixed.md).
  double search_budget = 0;
  // Skipping predicted failures (docs/mixed.md "Skipping predicted failures"): the improved
  // search hands nodes to the bisection in runs its error model predicts to fit the tolerance
  // (effects alone add in quadrature, corrected by every attempt) and keeps without an attempt
  // the nodes predicted to break it. On by default since 2026-12-05: with robust acceptance
  // (K = 2.5) it kept more float16 than trying every node on each of PaddleOCR's three models
  // (det 73.7% of the FLOPs vs 71.5%, rec 57.1% vs 55.8%, cls 99.1% vs 95.7%) in fewer full
  // runs (det 39 vs 425, rec 54 vs 346, cls 88 vs 97), and on BERT-base 25.5% vs 29.2% in 42
  // full runs instead of 427; each held on 64 implementations it never ran (docs/mixed.md). Trying every node accepts nodes by the last ulps of the tolerance: det's and rec's
  // results then failed their holdout and were searched again on 8 implementations (twice the
  // cost, less float16), where the predicted runs passed theirs at once. false: every node
  // heavier than 0.1% of the model is tried (each kept node then failed in an attempt, as in
  // the spec's bisection). Needs a tolerance (without one nothing is predicted).
  bool skip_predicted_failures = true;

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
  Predicted,         // not tried: predicted to break the tolerance with what is converted (by default only nodes
                     // under 0.1% of the model), or too light for an attempt (skip_predicted_failures)
  FollowsProducer,   // it only moves or exactly maps its producer's values, and that producer stays float32 (improved strategy)
  Budget,            // not tried: the search_budget was spent before the search came to it
  Float16Overflow,   // a float32 value it reads or writes exceeds float16's largest (65504) on a sample
  Float16Underflow,  // a float32 tensor it writes is nonzero but wholly below float16's normals
  DataMax,           // --data-max
  InitMax,           // --init-max
  KeepOp,            // --keep-op
  KeepNode,          // --keep-node
  NotRun,            // inside a subgraph no sample runs (an If's branch, a Loop body run zero times): nothing
                     // could check it in float16 (improved strategy)
};
const char* to_string(MixedKeepReason reason);

struct MixedKeptNode {
  std::string name;     // the node's name, or "<op_type>#<index>"
  std::string op_type;
  MixedKeepReason reason = MixedKeepReason::Search;
  std::string detail;   // the error its conversion caused, or the value that triggered a screen
  double flops = 0;     // what keeping it costs (NodeCost)
  // The relative RMS error converting it alone adds to its own outputs (improved strategy on the
  // incremental engine); negative: not measured.
  double sensitivity = -1;
  // Its effect at the graph outputs with only it converted: the worst tolerance ratio (the
  // relative L2 distance without a tolerance), as the improved search's order measured it;
  // negative: not measured.
  double output_effect = -1;
  // The graph it is in: "main", or "<node>/<attribute>" inside a subgraph (an If's branch, a
  // Loop's body), as the conversion report names them.
  std::string graph = "main";
};

// How much room a result leaves under the tolerance, per graph output: the worst element's
// |float32 - candidate| / (atol + rtol * |candidate|) over every sample (numpy.allclose passes
// at <= 1).
struct OutputMargin {
  std::string name;
  double evaluator_ratio = 0;  // on the evaluator's float16
  double worst_ratio = 0;      // the worst over every implementation variant checked
  // What acceptance judged: the worst element's (|float32 - c| + spread_safety * the largest
  // |implementation - c|) / (atol + rtol * |x|), c the mean of the evaluator and the variants;
  // equals evaluator_ratio without variants.
  double robust_ratio = 0;
  // How far the variants' outputs are from the evaluator's: the largest relative L2 distance
  // ||variant - evaluator|| / ||evaluator|| over variants and samples (0 without variants).
  double variant_distance = 0;
  // The worst element's plain tolerance ratio over MixedOptions::holdout_variants implementations
  // the search never ran; negative: not measured.
  double holdout_ratio = -1;
  // Per held-out implementation, in the order run: its worst element's ratio over the samples
  // (holdout_ratio is their largest). How they spread says more than the worst of a few draws.
  std::vector<double> holdout_ratios;
};

// One step of auto_convert_mixed_precision, for where the time goes: the phases follow each
// other in the order they ran and add up to MixedReport::seconds and full_run_equivalents.
struct MixedPhase {
  // "analysis", "engine", "float32 run", "flat engine" (a model whose Ifs each took one branch
  // on each sample: compiling and running the flat models those branches make, one per branch
  // pattern), "local errors",
  // "screens and endpoints", "first attempt",
  // "order", "attempts", "margins and holdout", "final conversion and check" (the baseline
  // strategy has no "local errors" and no "order"; "local errors" covers the nodes the order
  // never measures, kept by a screen or following their producer: it reads the others' from their
  // own runs); a second search (MixedReport::
  // searched_again) adds "again: endpoints", "again: first attempt", ... "again: margins and
  // holdout" before the last.
  std::string name;
  double seconds = 0;
  double full_run_equivalents = 0;  // the model runs it made, in full-run equivalents
  double flop_run_equivalents = 0;  // the same runs weighed by each node's FLOPs (MixedReport's)
};

struct MixedReport {
  std::size_t candidate_nodes = 0;  // main-graph nodes the conversion would turn to float16
  std::size_t converted_nodes = 0;  // of those, converted in the result
  std::vector<MixedKeptNode> kept_nodes;  // main-graph nodes kept by the search or a screen
  int attempts = 0;                 // candidate models tried (not counting the checks)
  int evaluator_runs = 0;           // model runs on one sample, full or partial, checks included
  std::size_t nodes_evaluated = 0;  // node executions over all runs (partial runs skip nodes)
  // The runs in full runs of the model on one sample: node executions over those of a full run
  // (each engine counts its own: a model searched as the flat model of its samples' If branches
  // counts the branches taken, not both).
  double full_run_equivalents = 0;
  // The FLOPs the runs executed / a full run's FLOPs (each node's from its shapes, as in
  // flops_total): a node count weighs a Reshape as much as a MatMul. On BERT-base the two agree;
  // on convolutional networks the partial runs execute the convolutions more often than their
  // share of the nodes (PaddleOCR det: 44.9 full-run equivalents, 95.1 by FLOPs).
  double flop_run_equivalents = 0;
  bool budget_spent = false;        // the search stopped at search_budget with nodes undecided
  double seconds = 0;
  std::vector<MixedPhase> phases;   // where the seconds and the runs went
  SearchStrategy strategy = SearchStrategy::Improved;
  SearchOrderKind order = SearchOrderKind::Node;  // Sensitivity when nodes were measured (sensitivity_budget)
  std::size_t nodes_measured = 0;                 // nodes whose output effect the order measured
  std::size_t nodes_measured_to_cut = 0;          // nodes it measured only up to a cut point (skip_predicted_failures)
  CandidateEngineKind engine = CandidateEngineKind::Incremental;
  TargetType target = TargetType::Float16;
  std::string final_check;          // the final model's worst output against the float32 one
  int variants_checked = 1;         // float16 implementations every accepted candidate passed on
  int holdout_variants = 0;         // implementations the search never ran, the result checked on
  bool searched_again = false;      // the first result failed on them: searched once more on more implementations
  double spread_safety_used = 0;    // the spread_safety of the result (x1.4 when searched again on 16 implementations)
  double variant_spread = 0;        // their relative spread (0: the evaluator alone)
  std::vector<OutputMargin> margins;  // with a tolerance: per graph output, for the result
  // What the result holds in float16, of the main graph's FLOPs and float32 weight bytes
  // (NodeCost; a weight read by several nodes counts once per reader).
  double flops_total = 0, flops_float16 = 0;
  double weight_bytes_total = 0, weight_bytes_float16 = 0;
  ConversionReport conversion;      // the final conversion
  std::vector<std::string> log;     // the progress lines
};

// What a report's margins were judged on, for messages: "on the evaluator alone", "on the
// caller's runtime alone" (MixedOptions::runner: --validate-cmd), or "with the spread of N
// float16 implementations".
std::string margin_basis(const MixedReport& report);

// Converts `model` in place to mixed precision (float16, or bfloat16 with conversion.target). Throws onnx_fp16::Error when the options are
// incomplete (no tolerance and no function), a sample does not fit the model (naming the input),
// the float32 model fails its own validation, or the model with every node kept in float32
// fails it.
MixedReport auto_convert_mixed_precision(onnx::ModelProto& model, const std::vector<Feeds>& samples,
                                         const MixedOptions& options);

}  // namespace onnx_fp16
