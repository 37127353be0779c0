// The incremental engine: simulates a conversion on the float32 model, loaded and compiled once,
// and re-evaluates only what an attempt changes.
//
// Why a simulation is exact: the evaluator runs a float16 node by reading float16 as float32,
// computing in float32 and rounding what it writes (docs/evaluator.md). So a converted node is
// the float32 node with its float16 inputs rounded (the Casts the conversion inserts, constants
// clamped as the conversion clamps them) and its float16 outputs rounded. Which values and
// ports are float16 comes from the conversion's own policy and plan (ConversionAnalysis), so
// the simulated model is the converted one. tests/unit/mixed_engine_test.cc checks the two
// agree bit for bit.
//
// Why it is fast: the search changes a few nodes at a time. A node is re-run only when its own
// rounding changed or an input it reads changed; values are compared bit for bit, so a change
// that rounds to the same numbers stops there. Everything else is reused from the accepted state.
#pragma once

#include <onnx_fp16/mixed.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "mixed/candidate_engine.h"
#include "mixed/conversion_analysis.h"
#include "mixed/inlined_branches.h"
#include "runtime/graph_plan.h"

namespace onnx_fp16::mixed {

// Whether the incremental engine can run this model as it is: main-graph nodes with subgraphs
// (If, Loop, Scan) it runs only where each If takes one branch on every sample, given as
// `inlined` to make_incremental_engine (inlined_branches.h); else the rebuild engine runs them.
bool incremental_engine_supports(const ConversionAnalysis& analysis);

// Other faithful float16 implementations, simulated (robust acceptance, docs/mixed.md): variant
// k > 0 computes every float16 value a node writes as the evaluator does, then moves it by a
// pseudo-random relative amount of at most `spread` (its own pattern per variant) before
// rounding. That is how an implementation with another accumulation order or another
// evaluation of a function differs: its float32 result is a few float32 ulps away, which
// changes the float16 rounding of the values that lie near a rounding boundary. Values that are
// exact in float16 (data movement, casts, constants) are never moved (spread < half an ulp),
// nor are the roundings of sample data and weights, as they are or moved by nodes that compute
// nothing (computes_values): every implementation rounds the same numbers.
//
// Between its runs a variant keeps only some of its values (the rest is computed again when a
// later run needs it; the engine's checkpoint_slots): every value under `keep_below_bytes`, and
// the large ones live across a checkpoint.
struct VariantOptions {
  int count = 0;        // variants besides the evaluator's own
  double spread = 0;    // relative, at most 2^-13
  std::size_t keep_below_bytes = std::size_t{64} << 10;  // shapes, masks, scalars: kept
};

// `analysis` must outlive the engine. Feeds must have been validated. `inlined`: the If nodes
// to run as their taken branch (every node with subgraphs the samples reach must be one, and
// flat_nodes must accept them), for samples that take those branches. `shared_weights`: the
// weights other engines of the same analysis loaded, taken from there (their storage shared),
// and this engine's added (nullptr: it reads its own).
std::unique_ptr<CandidateEngine> make_incremental_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                         int threads, VariantOptions variants, InlinedBranches inlined = {},
                                                         runtime::LoadedInitializers* shared_weights = nullptr);

}  // namespace onnx_fp16::mixed
