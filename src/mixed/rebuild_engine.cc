// The rebuild and runner engines: every attempt converts a fresh copy of the model and runs it
// whole. Simple and exact; the incremental engine is measured against them. The rebuild engine
// takes every model (subgraphs included) and simulates other float16 implementations by moving
// roundings in what the converted model computes (FlippedRoundings).
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/mixed.h>

#include <cstring>
#include <set>

#include "graph/graph_index.h"
#include "mixed/candidate_engine.h"
#include "mixed/candidate_model.h"
#include "mixed/nudge.h"
#include "types/op_rules.h"

namespace onnx_fp16::mixed {

std::size_t count_nodes(const onnx::GraphProto& graph) {
  std::size_t count = 0;
  for (const auto& node : graph.node()) {
    ++count;
    for (const auto& a : node.attribute()) {
      if (a.has_g()) count += count_nodes(a.g());
      for (const auto& g : a.graphs()) count += count_nodes(g);
    }
  }
  return count;
}

bool computes_values(const onnx::NodeProto& node, const std::function<bool(std::size_t input)>& input_computed) {
  if (node.op_type() == "Constant") return false;
  for (const auto& a : node.attribute()) {
    if (a.has_g() || a.graphs_size() > 0) return true;
  }
  if (!types::only_moves_values(node) && node.op_type() != "Cast") return true;
  for (int i = 0; i < node.input_size(); ++i) {
    if (!node.input(i).empty() && !types::is_index_port(node, i) && input_computed(static_cast<std::size_t>(i))) return true;
  }
  return false;
}

namespace {

std::uint64_t name_hash(const std::string& name) {  // FNV-1a: the same in every process
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

// A simulated float16 implementation of a whole converted model, `variant` > 0 of the rebuild
// engine: each 16-bit float value a node computes moves by one unit in the last place, up or
// down, at elements picked pseudo-randomly (by variant, value name and element: the same on
// every run). The incremental engine nudges a value by up to `spread` of itself before rounding,
// which flips the rounding where the value lies near the middle between two float16 numbers; a
// converted model's kernels round inside, so here the rounded value is flipped, as often as such
// a nudge flips it: for a value at an even place within its rounding step, half the mean nudge
// (spread / 2 of the value) over the step, i.e. spread / 2 x |x| / ulp(x). That is 2^9 to 2^10
// times the spread for a normal float16 (2^6 to 2^7 for bfloat16) but a small multiple for a
// subnormal, whose step is large beside it, and nothing for a zero. The direction is drawn too,
// where a nudge's flip lands on the side of the exact value: some flips here end 1.5 steps away
// instead of half a step, a somewhat wider spread than the nudge's. Not moved: Constant nodes,
// ops that only move, select or exactly map values (types::only_moves_values: a Pad, a Concat,
// an If's outputs), and a Cast of values no node computed, looking back through nodes that pass
// values through: sample data and weights are the same in every implementation (moving Silero
// VAD's padded audio put a result's worst simulated implementation at 14.9x the tolerance, ONNX
// Runtime and the emulation at 0.2x; 0.47x since). `moved` (nodes_that_round) holds the rest.
using MovedNodes = std::set<const onnx::NodeProto*>;

// Whether a value's numbers come from some node's arithmetic (computes_values), looking back
// through its producers, memoised.
class ComputedValues {
 public:
  explicit ComputedValues(const graph::GraphIndex& index) : index_(index), known_(index.values().size(), kUnknown) {}

  bool operator()(graph::ValueId v) {
    if (v == graph::kNone) return false;
    if (known_[v] != kUnknown) return known_[v] == kYes;
    const graph::Value& value = index_.value(v);
    bool computed = false;
    if (value.kind == graph::ValueKind::NodeOutput) {
      const graph::Node& producer = index_.node(value.producer);
      computed = computes_values(*producer.proto, [&](std::size_t i) {
        return i < producer.inputs.size() && (*this)(producer.inputs[i]);
      });
    }
    known_[v] = computed ? kYes : kNo;
    return computed;
  }

 private:
  static constexpr signed char kUnknown = -1, kNo = 0, kYes = 1;
  const graph::GraphIndex& index_;
  std::vector<signed char> known_;
};

// The nodes of `executed` whose 16-bit outputs another implementation would round differently:
// what FlippedRoundings moves, found once per model for all its variants.
MovedNodes nodes_that_round(const onnx::ModelProto& executed) {
  const graph::GraphIndex index(executed);
  ComputedValues computed(index);
  MovedNodes moved;
  for (const graph::Node& node : index.nodes()) {
    // What only moves values rounds nothing itself; a Cast rounds where its input was computed.
    if (types::only_moves_values(*node.proto)) continue;
    const bool rounds = computes_values(*node.proto, [&](std::size_t i) { return i < node.inputs.size() && computed(node.inputs[i]); });
    if (rounds) moved.insert(node.proto);
  }
  return moved;
}

class FlippedRoundings {
 public:
  // `moved` must outlive it.
  FlippedRoundings(const MovedNodes& moved, std::uint64_t variant, double spread)
      : moved_(moved), seed_(mix(variant)), rate_per_place_(spread / 2) {}

  runtime::NodeHook hook() const {
    return [this](const onnx::NodeProto& node, std::span<const Tensor* const>, std::span<Tensor> outputs) {
      if (!moved_.count(&node)) return;
      for (std::size_t j = 0; j < outputs.size() && j < static_cast<std::size_t>(node.output_size()); ++j) {
        const DataType type = outputs[j].defined() ? outputs[j].dtype() : onnx::TensorProto::UNDEFINED;
        if (type == onnx::TensorProto::FLOAT16) {
          outputs[j] = flipped(outputs[j], node.output(static_cast<int>(j)), 10);
        } else if (type == onnx::TensorProto::BFLOAT16) {
          outputs[j] = flipped(outputs[j], node.output(static_cast<int>(j)), 7);
        }
      }
    };
  }

 private:
  // A copy of `value` (16-bit floats with `mantissa_bits` below their exponent) with its picked
  // elements one step up or down in magnitude; zeros, infinities and NaNs stay, and the largest
  // finite stays below infinity.
  Tensor flipped(const Tensor& value, const std::string& name, int mantissa_bits) const {
    if (value.size() == 0) return value;  // nothing to move (and no storage to copy)
    Tensor copy(value.dtype(), value.shape());
    std::memcpy(copy.mutable_bytes().data(), value.bytes().data(), value.bytes().size());
    auto* bits = reinterpret_cast<std::uint16_t*>(copy.mutable_bytes().data());
    const std::uint64_t base = mix(seed_ ^ name_hash(name));
    const auto mantissa_mask = static_cast<std::uint16_t>((1u << mantissa_bits) - 1);
    const auto exponent_mask = static_cast<std::uint16_t>(0x7FFF & ~mantissa_mask);
    for (std::size_t i = 0; i < copy.size(); ++i) {
      const std::uint16_t magnitude = bits[i] & 0x7FFF;
      if (magnitude == 0 || (magnitude & exponent_mask) == exponent_mask) continue;
      // |x| / ulp(x): the significand as an integer, with its implicit leading one if normal.
      const std::uint32_t places = (magnitude & exponent_mask) == 0 ? magnitude : (magnitude & mantissa_mask) | (mantissa_mask + 1u);
      const std::uint64_t r = mix(base + i);
      if (static_cast<double>(r >> 11) * 0x1.0p-53 >= rate_per_place_ * places) continue;
      const std::uint16_t moved = (r & 1) != 0 ? magnitude + 1 : magnitude - 1;
      if ((moved & exponent_mask) == exponent_mask) continue;
      bits[i] = static_cast<std::uint16_t>((bits[i] & 0x8000) | moved);
    }
    return copy;
  }

  const MovedNodes& moved_;
  std::uint64_t seed_;
  double rate_per_place_;  // a flip's probability per unit of |x| / ulp(x)
};

class RebuildEngine final : public CandidateEngine {
 public:
  RebuildEngine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples, int threads, int variants,
                double spread)
      : analysis_(analysis), samples_(samples), threads_(threads), variants_(spread > 0 ? std::max(variants, 0) : 0),
        spread_(spread) {
    stats_.nodes_per_run = count_nodes(analysis.model().graph());
  }

  std::size_t variant_count() const override { return 1 + static_cast<std::size_t>(variants_); }

  // Sample by sample: the evaluator's run, checked alone, then each variant's, checked with
  // those before it; the first refusal ends the attempt.
  bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) override {
    const onnx::ModelProto model = convert_with_kept(analysis_, kept_nodes);
    const auto evaluator = make_evaluator(analysis_, model, {.threads = threads_, .keep = {}});
    const MovedNodes moved = variants_ > 0 ? nodes_that_round(evaluator->model()) : MovedNodes{};
    std::vector<FlippedRoundings> variants;
    for (int v = 1; v <= variants_; ++v) variants.emplace_back(moved, static_cast<std::uint64_t>(v), spread_);
    for (std::size_t s = 0; s < samples_.size(); ++s) {
      VariantOutputs outputs;
      for (std::size_t v = 0; v < variant_count(); ++v) {
        outputs.push_back(run_one(*evaluator, model, s, v == 0 ? nullptr : &variants[v - 1]));
        if (!check(s, outputs)) return false;
      }
    }
    return true;
  }

  std::vector<SampleOutputs> holdout_outputs(const std::vector<bool>& kept_nodes, int count, int round,
                                             int from = 0) override {
    if (!(spread_ > 0) || variants_ == 0 || count <= 0 || from < 0 || from + count > kMaxHoldoutVariants || round < 0) {
      return {};
    }
    const onnx::ModelProto model = convert_with_kept(analysis_, kept_nodes);
    const auto evaluator = make_evaluator(analysis_, model, {.threads = threads_, .keep = {}});
    const MovedNodes moved = nodes_that_round(evaluator->model());
    std::vector<SampleOutputs> outputs(static_cast<std::size_t>(count));
    for (int h = 0; h < count; ++h) {
      const FlippedRoundings implementation(moved, holdout_variant(round, from + h), spread_);
      for (std::size_t s = 0; s < samples_.size(); ++s) {
        outputs[static_cast<std::size_t>(h)].push_back(run_one(*evaluator, model, s, &implementation));
      }
    }
    return outputs;
  }

  bool add_variants(int count) override {
    if (!(spread_ > 0) || variants_ == 0 || count <= 0) return false;
    variants_ += count;
    return true;
  }

  CandidateEngineKind kind() const override { return CandidateEngineKind::Rebuild; }

 private:
  std::vector<Tensor> run_one(const runtime::Executor& evaluator, const onnx::ModelProto& model, std::size_t s,
                              const FlippedRoundings* variant) {
    const runtime::NodeHook hook = variant != nullptr ? variant->hook() : runtime::NodeHook{};
    std::vector<Tensor> outputs =
        ordered_outputs(evaluator, evaluator.run(adapt_feeds(model, samples_[s]), nullptr, variant ? &hook : nullptr));
    ++stats_.runs;
    stats_.nodes_evaluated += stats_.nodes_per_run;
    return outputs;
  }

  const ConversionAnalysis& analysis_;
  const std::vector<Feeds>& samples_;
  int threads_;
  int variants_;               // simulated implementations besides the evaluator
  double spread_;
};

class RunnerEngine final : public CandidateEngine {
 public:
  RunnerEngine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples, CandidateRunner runner)
      : analysis_(analysis), samples_(samples), runner_(std::move(runner)) {
    stats_.nodes_per_run = count_nodes(analysis.model().graph());
  }

  bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) override {
    const onnx::ModelProto model = convert_with_kept(analysis_, kept_nodes);
    std::vector<Feeds> feeds;
    for (const Feeds& sample : samples_) feeds.push_back(adapt_feeds(model, sample));
    auto outputs = runner_(model, feeds);
    if (outputs.size() != samples_.size()) {
      throw Error("the runner returned outputs for " + std::to_string(outputs.size()) + " samples, expected " +
                  std::to_string(samples_.size()));
    }
    stats_.runs += static_cast<int>(samples_.size());
    stats_.nodes_evaluated += samples_.size() * stats_.nodes_per_run;
    for (std::size_t s = 0; s < outputs.size(); ++s) {
      if (!check(s, {outputs[s]})) return false;
    }
    return true;
  }
  CandidateEngineKind kind() const override { return CandidateEngineKind::Runner; }

 private:
  const ConversionAnalysis& analysis_;
  const std::vector<Feeds>& samples_;
  CandidateRunner runner_;
};

}  // namespace

std::unique_ptr<CandidateEngine> make_rebuild_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                     int threads, int variants, double spread) {
  return std::make_unique<RebuildEngine>(analysis, samples, threads, variants, spread);
}

std::unique_ptr<CandidateEngine> make_runner_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                    CandidateRunner runner) {
  return std::make_unique<RunnerEngine>(analysis, samples, std::move(runner));
}

}  // namespace onnx_fp16::mixed
