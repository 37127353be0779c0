// The order the improved search tries units in. The spec's bisection walks the node order and
// spends the tolerance on whatever comes first; a heavy Conv late in the graph then stays
// float32 because cheap nodes before it used the budget up. Here each unit is first converted
// alone and its effect at the graph outputs measured (the worst tolerance ratio, or the
// relative L2 distance without a tolerance); the search then tries units by FLOPs per squared
// effect (independent rounding errors add in quadrature), the best value for the budget first,
// and halves segments by FLOPs.
//
// Measuring at the outputs costs a run of everything downstream of the unit, so it is spent on
// the heaviest units first, within a budget of full-run equivalents. With the error model
// (--skip-predicted) only a small share of the budget goes to it (auto_mixed.cc kExactShare):
// there the predictions decide which units are never tried, so every unit needs a fair estimate
// more than a few need an exact one (light units included: leaving BERT-base's units under 0.1%
// of the FLOPs and weight bytes to their local errors times the median gain halved the order,
// 7.9 -> 3.6 full-run equivalents, but its search then converted 18 nodes instead of 105, in 24
// attempts instead of 2; measured 2026-12-07). On the way each such run records, at every cut point after
// the unit (cut_points.h: a node every path to the outputs passes), the gain from the distance
// there to the effect at the outputs. Later units run only up to the nearest cut point with a
// known gain, and their effect is that distance times the gain (measured on a BERT-base against
// the effect at the outputs: within 1.5x for 127 of 150 units, within 2x for 141, at most 3.5x
// off; a cut point a layer away costs a layer's worth of nodes instead of the rest of the
// network). Such a run teaches the cut points it passed their gains too (the estimated effect
// over its distance at each: chained), so the next unit finds a cut point of known gain nearer
// still: BERT-base's order measured its 319 units in 5.7 full-run equivalents instead of 18.6.
// Units left when the budget is spent get their local error (what converting them alone adds
// to their own outputs) times the median gain (effect / local error) of the units measured at
// the outputs; units with neither follow in node order. A unit measured has its local error from
// its own run (the distance at its own outputs), so only the units left cost the engine's
// local_errors pass: BERT-base's order measures all its 319 units, and the full pass it no longer
// makes cost one full run (0.2 s).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "mixed/candidate_engine.h"
#include "mixed/cut_points.h"
#include "mixed/node_costs.h"
#include "mixed/search_units.h"
#include "mixed/acceptance.h"

namespace onnx_fp16::mixed {

struct SearchOrder {
  std::vector<std::size_t> units;  // the searched units, in the order tried
  std::vector<double> weights;     // by position in `units`: what the segment search weighs (FLOPs)
  std::vector<double> effect;      // by unit: its effect alone at the outputs; negative: not measured
  std::vector<double> predicted;   // by unit: `effect` where measured, else estimated; negative: unknown
  std::vector<bool> to_cut;        // by unit: `predicted` from a measurement up to a cut point
  // By unit: what converting it alone adds to its own outputs (CandidateEngine::local_errors),
  // measured in its own run or asked of the engine for the units not measured; negative: unknown.
  std::vector<double> local_error;
  std::size_t measured = 0;        // units measured at the outputs
  // Units measured up to a cut point (`predicted` only).
  std::size_t measured_to_cut() const {
    return static_cast<std::size_t>(std::count(to_cut.begin(), to_cut.end(), true));
  }
  // Units that break the tolerance when converted alone (worst ratio above 1 on the evaluator's
  // own bits): kept without a search, since any attempt containing them would fail too. Not in
  // `units`. Only with a tolerance (a validation function's verdict is not a measure).
  std::vector<std::size_t> failing_alone;
};

// `candidates`: the units to search, in node order; `costs`: by unit; `reference`: the float32
// outputs by sample. `budget`: full-run equivalents the measurement may spend (the engine's
// EngineStats::full_runs); 0 measures nothing. Measures on the first sample the engine runs (the
// first sample, or with samples that run different flat models, the first that runs the unit:
// GroupedEngine), on the evaluator's own float16, from the engine's accepted state (every unit
// kept), which it leaves as it was. `flat_cuts`: none, or the graph's cut points (one per flat
// model the samples run, in the engine's order); with them, once `exact_share` of the budget is
// spent (1: never), an engine that can run up to a node measures the next units up to a cut
// point.
SearchOrder order_by_effect(CandidateEngine& engine, const AcceptanceTest& acceptance, const SearchUnits& units,
                            const std::vector<std::size_t>& candidates, const std::vector<NodeCost>& costs,
                            const SampleOutputs& reference, double budget, std::span<const CutPoints> flat_cuts,
                            double exact_share);

// Sets `order.local_error` of the `candidates` that have none from the engine's local_errors
// pass over just those units' nodes, from the engine's accepted state (call while it is the one
// with every unit kept).
void fill_local_errors(CandidateEngine& engine, const SearchUnits& units, const std::vector<std::size_t>& candidates,
                       SearchOrder& order);

// The spec's order: node order, every unit weighing 1.
SearchOrder node_order(const SearchUnits& units, const std::vector<std::size_t>& candidates);

}  // namespace onnx_fp16::mixed
