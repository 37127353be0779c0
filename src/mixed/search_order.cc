#include "mixed/search_order.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace onnx_fp16::mixed {

namespace {

// The unit's effect at the outputs: the worst tolerance ratio, or without a tolerance the
// largest relative L2 distance.
double effect_of(const AcceptanceTest& acceptance, const std::vector<Tensor>& reference, const std::vector<Tensor>& outputs) {
  double effect = 0;
  if (acceptance.has_tolerance()) {
    for (double ratio : acceptance.tolerance_ratios(reference, outputs)) effect = std::max(effect, ratio);
  } else {
    for (std::size_t o = 0; o < reference.size() && o < outputs.size(); ++o) {
      effect = std::max(effect, relative_l2_distance(outputs[o], reference[o]));
    }
  }
  return effect;
}

}  // namespace

SearchOrder node_order(const SearchUnits& units, const std::vector<std::size_t>& candidates) {
  SearchOrder order;
  order.units = candidates;
  order.weights.assign(candidates.size(), 1.0);
  order.effect.assign(units.size(), -1.0);
  order.predicted.assign(units.size(), -1.0);
  order.to_cut.assign(units.size(), false);
  order.local_error.assign(units.size(), -1.0);
  return order;
}

void fill_local_errors(CandidateEngine& engine, const SearchUnits& units, const std::vector<std::size_t>& candidates,
                       SearchOrder& order) {
  std::vector<bool> unknown(units.unit_of.size(), false);
  bool any_unknown = false;
  for (std::size_t u : candidates) {
    if (order.local_error[u] >= 0) continue;
    unknown[units.nodes[u]] = true;
    any_unknown = true;
  }
  if (!any_unknown) return;
  if (const auto errors = engine.local_errors(unknown)) {
    for (std::size_t u : candidates) {
      if (unknown[units.nodes[u]]) order.local_error[u] = (*errors)[units.nodes[u]];
    }
  }
}

SearchOrder order_by_effect(CandidateEngine& engine, const AcceptanceTest& acceptance, const SearchUnits& units,
                            const std::vector<std::size_t>& candidates, const std::vector<NodeCost>& costs,
                            const SampleOutputs& reference, double budget, std::span<const CutPoints> flat_cuts,
                            double exact_share) {
  SearchOrder order = node_order(units, candidates);
  auto flops = [&](std::size_t u) { return costs[u].flops; };
  // The cut points of the flat model that runs the node (the first one's where none does).
  auto cuts_of = [&](graph::NodeId node) -> const CutPoints* {
    for (const CutPoints& cuts : flat_cuts) {
      if (cuts.rank(node) >= 0) return &cuts;
    }
    return flat_cuts.empty() ? nullptr : &flat_cuts.front();
  };

  // Heaviest first, until the budget is spent.
  std::vector<std::size_t> by_weight = candidates;
  std::stable_sort(by_weight.begin(), by_weight.end(), [&](std::size_t a, std::size_t b) { return flops(a) > flops(b); });
  const std::size_t start = engine.stats().nodes_evaluated;
  const double allowed = budget * static_cast<double>(engine.stats().nodes_per_run);
  auto spent = [&] { return static_cast<double>(engine.stats().nodes_evaluated - start); };
  // By cut point: effect at the outputs / distance at the point, from the units measured in full.
  std::map<graph::NodeId, std::vector<double>> cut_gains;
  auto gain_at = [&](graph::NodeId point) {
    std::vector<double>& seen = cut_gains.at(point);
    std::nth_element(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(seen.size() / 2), seen.end());
    return seen[seen.size() / 2];
  };
  // The unit alone, its effect at the outputs (counted in `measured`). The first sample's
  // evaluator outputs are all it needs: refusing them ends the run there, and a refused run is
  // never accepted, so the engine's state stays every unit kept.
  auto measure_at_outputs = [&](std::size_t u, const std::vector<bool>& kept) {
    double effect = 0;
    engine.run_checked(units.kept_nodes(kept), [&](std::size_t s, const VariantOutputs& outputs) {
      effect = effect_of(acceptance, reference.at(s), outputs.front());
      return false;
    });
    order.effect[u] = effect;
    if (const auto local = engine.distance_in_last_run(units.nodes[u])) order.local_error[u] = *local;
    ++order.measured;
    return effect;
  };
  auto alone = [&](std::size_t u) {
    std::vector<bool> kept(units.size(), true);
    kept[u] = false;
    return kept;
  };
  for (std::size_t u : by_weight) {
    if (spent() >= allowed) break;
    const std::vector<bool> kept = alone(u);
    const CutPoints* cuts = cuts_of(units.nodes[u]);
    const std::vector<graph::NodeId> after = cuts ? cuts->after(units.nodes[u]) : std::vector<graph::NodeId>{};
    // `exact_share` of the budget measures in full (and learns the cut points' gains on the way); then a unit
    // with a cut point of known gain after it runs only up to that point, where that spares at
    // least half the run (otherwise the exact measurement costs little more). The cut points it
    // passes on the way learn their gains from it too (chained): its effect at the outputs, as
    // estimated, over its distance there. So a run reaches only the nearest cut point of known
    // gain, and the units measured next (lighter, or earlier in the graph) find one nearer still.
    if (cuts != nullptr && spent() >= allowed * exact_share) {
      const auto point = std::find_if(after.begin(), after.end(), [&](graph::NodeId p) { return cut_gains.count(p) > 0; });
      const int here = cuts->rank(units.nodes[u]);
      if (point != after.end() && 2 * (cuts->rank(*point) - here) <= cuts->node_count() - here) {
        const std::vector<graph::NodeId> passed(after.begin(), point + 1);
        std::vector<graph::NodeId> measured{units.nodes[u]};  // the unit's own outputs: its local error
        measured.insert(measured.end(), passed.begin(), passed.end());
        if (const auto distances = engine.distances_up_to(units.kept_nodes(kept), measured)) {
          const double effect = distances->back() * gain_at(*point);
          order.predicted[u] = effect;
          order.to_cut[u] = true;
          order.local_error[u] = distances->front();
          for (std::size_t i = 0; i + 1 < passed.size(); ++i) {
            const double distance = (*distances)[i + 1];
            if (distance > 0 && effect > 0) cut_gains[passed[i]].push_back(effect / distance);
          }
          continue;
        }
      }
    }
    const double effect = measure_at_outputs(u, kept);
    if (effect <= 0) continue;
    for (graph::NodeId point : after) {
      const auto distance = engine.distance_in_last_run(point);
      if (distance && *distance > 0) cut_gains[point].push_back(effect / *distance);
    }
  }

  // An estimate up to a cut point that condemns its unit alone is checked at the outputs, on top
  // of the budget: the search would never try that unit, and a cut point's gain comes from other
  // units (on the GPT-shaped benchmark a ReduceMean of values near 300 was estimated at 7.5 of
  // the tolerance and passes alone and in the result). Rare: PaddleOCR det had 1, rec 2.
  if (acceptance.has_tolerance()) {
    for (std::size_t u : by_weight) {
      if (!order.to_cut[u] || !(order.predicted[u] > 1)) continue;
      measure_at_outputs(u, alone(u));
      order.to_cut[u] = false;
    }
  }

  // The local errors the measurements did not give (the units the budget left, or all of them on
  // an engine that cannot measure up to a node); the state is still the one they started from.
  fill_local_errors(engine, units, candidates, order);

  // The unmeasured units' effects, predicted from their local errors: a local error grows into
  // an effect at the outputs by a gain that differs from node to node (measured on a BERT-base:
  // from 6 on the attention's query path to 6000 on its value path); the median is the guess
  // that is as often too high as too low. The search corrects it by trying.
  std::vector<double> gains;
  auto local = [&](std::size_t u) { return order.local_error[u]; };
  for (std::size_t u : candidates) {
    if (order.effect[u] > 0 && local(u) > 0 && std::isfinite(local(u))) gains.push_back(order.effect[u] / local(u));
  }
  double gain = -1;
  if (!gains.empty()) {
    std::nth_element(gains.begin(), gains.begin() + static_cast<std::ptrdiff_t>(gains.size() / 2), gains.end());
    gain = gains[gains.size() / 2];
  }
  for (std::size_t u : candidates) {
    if (order.effect[u] >= 0) {
      order.predicted[u] = order.effect[u];
    } else if (order.predicted[u] >= 0) {
      continue;  // measured up to a cut point
    } else if (gain > 0 && local(u) >= 0) {
      order.predicted[u] = local(u) * gain;  // infinite where the node cannot even run converted
    }
  }

  // Units by FLOPs per squared (predicted) effect, best first; a unit whose effect is nil first
  // of all (it costs no budget). Those with no prediction follow in node order.
  auto value = [&](std::size_t u) {
    const double e = order.predicted[u];
    return e <= 0 ? std::numeric_limits<double>::infinity() : flops(u) / (e * e);
  };
  if (acceptance.has_tolerance()) {
    for (std::size_t u : order.units) {
      if (order.effect[u] > 1) order.failing_alone.push_back(u);
    }
    std::erase_if(order.units, [&](std::size_t u) { return order.effect[u] > 1; });
  }
  const auto measured_end = std::stable_partition(order.units.begin(), order.units.end(),
                                                  [&](std::size_t u) { return order.predicted[u] >= 0; });
  std::stable_sort(order.units.begin(), measured_end, [&](std::size_t a, std::size_t b) {
    const double va = value(a), vb = value(b);
    return va != vb ? va > vb : flops(a) > flops(b);
  });
  order.weights.resize(order.units.size());
  for (std::size_t p = 0; p < order.units.size(); ++p) order.weights[p] = flops(order.units[p]);
  return order;
}

}  // namespace onnx_fp16::mixed
