#include "mixed/incremental_engine.h"

#include <onnx_fp16/error.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <cstring>
#include <deque>
#include <map>
#include <unordered_map>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include "convert/port_rules.h"
#include "graph/domain.h"
#include "half/half.h"
#include "mixed/acceptance.h"
#include "mixed/node_costs.h"
#include "mixed/nudge.h"
#include "runtime/graph_plan.h"
#include "runtime/kernel_registry.h"
#include "runtime/parallel.h"
#include "runtime/float_compute.h"
#include "runtime/read_rounding.h"
#include "runtime/tensor_cast.h"
#include "types/op_rules.h"

namespace onnx_fp16::mixed {

namespace {

// What happens to a float32 value on its way into a slot or into a node's input.
enum class Rounding : std::uint8_t {
  None,
  Round,       // stored in the target type: nearest even (float16: overflow to inf)
  ClampRound,  // a constant converted by the conversion: clamped first (float16 only), then rounded
  ClampLarge,  // the conversion's clamping of large constants alone, no rounding (the range
               // screen's values: raising tiny constants to min_positive_val changes no magnitude
               // the screen judges, and would copy nearly every weight tensor)
};

struct Config {
  std::vector<Rounding> store;              // by slot: how the value is stored
  std::vector<std::vector<Rounding>> read;  // by step, by input: the Cast (or constant copy) a reader sees
  std::vector<bool> float16_outputs;        // by graph output
};

// Variant k's nudge of the values one slot's producer computes: a pseudo-random relative move of
// at most `spread` per element, the same on every run (so unchanged inputs give unchanged values
// and the incremental reuse still holds).
struct Nudge {
  std::uint64_t seed = 0;
  float spread = 0;
};

// Mixed into a read's nudge seed, so that a value's cast and its producer's own rounding move
// independently.
constexpr std::uint64_t kCastSeed = 0xCA57'0000'0000'0000ull;


bool is_16bit_float(const Tensor& tensor) {
  return tensor.defined() &&
         (tensor.dtype() == onnx::TensorProto::FLOAT16 || tensor.dtype() == onnx::TensorProto::BFLOAT16);
}

// A value as the float32 kernels read it: a value stored in the target type (Rounder::store)
// widened, exactly, in chunks over `threads` (every reader of a float16 value widens it before
// its kernel runs; on one thread the other waited); any other as it is.
Tensor as_float32(const Tensor& tensor, int threads) {
  if (!is_16bit_float(tensor)) return tensor;
  Tensor out = Tensor::uninitialized(onnx::TensorProto::FLOAT, tensor.shape());
  const std::span<float> widened = out.mutable_data<float>();
  constexpr std::size_t kGrain = std::size_t{1} << 14;
  runtime::parallel_for(threads, widened.size(), kGrain, [&](std::size_t begin, std::size_t end) {
    if (tensor.dtype() == onnx::TensorProto::FLOAT16) {
      runtime::widen_to_float(tensor.data<Float16>().subspan(begin, end - begin), widened.subspan(begin, end - begin));
    } else {
      runtime::widen_to_float(tensor.data<BFloat16>().subspan(begin, end - begin), widened.subspan(begin, end - begin));
    }
  });
  return out;
}

// Rounding to the conversion's target type, as the converted model rounds.
class Rounder {
 public:
  Rounder(std::int32_t target, half::ClampRule rule, int threads)
      : bfloat16_(target == onnx::TensorProto::BFLOAT16), rule_(rule), threads_(threads) {}

  // Round and ClampRound as runtime/read_rounding.h says them (the one home of the conversion
  // rule: round_chunks and the kernels that read constants rounded both go through it); no
  // rounding for the others.
  runtime::ReadRounding reading(Rounding rounding) const {
    runtime::ReadRounding result;
    if (rounding != Rounding::Round && rounding != Rounding::ClampRound) return result;
    result.target = bfloat16_ ? runtime::ReadRounding::Target::BFloat16 : runtime::ReadRounding::Target::Float16;
    result.clamp = rounding == Rounding::ClampRound && !bfloat16_;
    result.rule = rule_;
    return result;
  }

  // Whether `in` reads the same under both roundings (no nudge), bit for bit: chunk by chunk, so
  // no rounded copy of a weight is made to find out. (The clamp alone against no rounding has
  // its own one pass: clamps().)
  bool same_values(std::span<const float> in, Rounding a, Rounding b) const {
    if (a == b) return true;
    constexpr std::size_t kChunk = 4096;
    std::vector<float> x(kChunk), y(kChunk);
    for (std::size_t begin = 0; begin < in.size(); begin += kChunk) {
      const auto values = in.subspan(begin, std::min(kChunk, in.size() - begin));
      values_as(values, std::span<float>(x.data(), values.size()), a);
      values_as(values, std::span<float>(y.data(), values.size()), b);
      if (std::memcmp(x.data(), y.data(), values.size() * sizeof(float)) != 0) return false;
    }
    return true;
  }

  // Whether the conversion's clamp changes a value whose largest finite |x| is `largest` (one
  // above max_finite; infinities and NaN stay as they are: half::clamp_constant).
  bool clamps(float largest) const { return !bfloat16_ && largest > rule_.max_finite; }  // bfloat16: float32's range
  bool clamps_any(std::span<const float> in) const { return !bfloat16_ && clamps(largest_finite_magnitude(in)); }

  // half::largest_finite_magnitude over the threads, a range each (a maximum is the same in any
  // order): the range screen's run asks it of every weight (BERT-base: 436 MB), and the other
  // thread waited meanwhile.
  float largest_finite_magnitude(std::span<const float> in) const {
    return runtime::parallel_max(threads_, in.size(), std::size_t{1} << 18, 0.0f, [&](std::size_t begin, std::size_t end) {
      return half::largest_finite_magnitude(in.subspan(begin, end - begin));
    });
  }

  // `tensor` as a reader of the converted model sees it, in float32.
  Tensor apply(const Tensor& tensor, Rounding rounding, const Nudge* nudge = nullptr) const {
    if (rounding == Rounding::None || !tensor.defined() || tensor.dtype() != onnx::TensorProto::FLOAT) return tensor;
    if (rounding == Rounding::ClampLarge && bfloat16_) return tensor;  // bfloat16 has float32's range: no clamping
    const auto in = tensor.data<float>();
    if (rounding == Rounding::ClampLarge && !clamps_any(in)) return tensor;  // nothing to clamp: no copy
    Tensor out = Tensor::uninitialized(onnx::TensorProto::FLOAT, tensor.shape());
    const auto result = out.mutable_data<float>();
    if (rounding == Rounding::ClampLarge) {
      values_as(in, result, rounding);
      return out;
    }
    round_chunks(in, rounding, nudge, [&](std::size_t begin, std::span<const std::uint16_t> bits) {
      if (bfloat16_) {
        half::bfloat16s_to_floats(bits, result.subspan(begin, bits.size()));
      } else {
        half::halves_to_floats(bits, result.subspan(begin, bits.size()));
      }
    });
    return out;
  }

  // The same values, stored as the converted model stores them: for Round and ClampRound, a
  // tensor of the target type (half the memory of float32: the search holds a whole model's
  // values per implementation, and on a virtual machine first touches of fresh memory were
  // most of its time); as_float32() gives apply()'s tensor back, bit for bit.
  Tensor store(const Tensor& tensor, Rounding rounding, const Nudge* nudge = nullptr) const {
    if ((rounding != Rounding::Round && rounding != Rounding::ClampRound) || !tensor.defined() ||
        tensor.dtype() != onnx::TensorProto::FLOAT) {
      return apply(tensor, rounding, nudge);
    }
    Tensor out = Tensor::uninitialized(bfloat16_ ? onnx::TensorProto::BFLOAT16 : onnx::TensorProto::FLOAT16, tensor.shape());
    auto* const out_bits = reinterpret_cast<std::uint16_t*>(out.mutable_bytes().data());
    round_chunks(tensor.data<float>(), rounding, nudge, [&](std::size_t begin, std::span<const std::uint16_t> bits) {
      std::copy(bits.begin(), bits.end(), out_bits + begin);
    });
    return out;
  }

 private:
  // The conversion's clamp, above max_finite_val only (its lower bound is 0 < min_positive_val
  // < max_finite_val, so clamp_constant agrees on every value it leaves at or above it).
  float clamp_large(float x) const {
    return std::abs(x) > rule_.max_finite ? half::clamp_constant(x, rule_.min_positive, rule_.max_finite) : x;
  }

  // `in` as apply() gives it without a nudge, into `out`.
  void values_as(std::span<const float> in, std::span<float> out, Rounding rounding) const {
    if (rounding == Rounding::Round || rounding == Rounding::ClampRound) {
      runtime::round_for_reading(in, out, reading(rounding));
    } else if (rounding == Rounding::ClampLarge && !bfloat16_) {
      std::transform(in.begin(), in.end(), out.begin(), [&](float x) { return clamp_large(x); });
    } else {
      std::copy(in.begin(), in.end(), out.begin());
    }
  }

  // Rounds `in` (moved by `nudge` first) chunk by chunk into the target type's bits, handing
  // each chunk to sink(first index, bits): on the engine's threads, chunks apart (each element's
  // bits depend on it alone, so on no thread count), and the sink writes each chunk's own range.
  // Every float16 value of every candidate and variant passes through here, and a variant's
  // nudge hashes each element (mixed/nudge.h, in vectors where the CPU allows).
  template <typename Sink>
  void round_chunks(std::span<const float> in, Rounding rounding, const Nudge* nudge, Sink&& sink) const {
    constexpr std::size_t kChunk = 4096;
    const std::size_t chunks = (in.size() + kChunk - 1) / kChunk;
    runtime::parallel_for(threads_, chunks, 8, [&](std::size_t first, std::size_t last) {
      float moved[kChunk];
      std::uint16_t bits[kChunk];
      for (std::size_t c = first; c < last; ++c) {
        const std::size_t begin = c * kChunk;
        const std::size_t count = std::min(kChunk, in.size() - begin);
        std::span<const float> values = in.subspan(begin, count);
        if (nudge != nullptr) {
          nudge_values(values, std::span<float>(moved, count), nudge->seed, begin, nudge->spread);
          values = std::span<const float>(moved, count);
        }
        const std::span<std::uint16_t> chunk(bits, count);
        runtime::round_to_bits(values, chunk, reading(rounding));
        sink(begin, std::span<const std::uint16_t>(chunk));
      }
    });
  }

  bool bfloat16_;
  half::ClampRule rule_;
  int threads_;
};

bool same_bits(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined() || a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == onnx::TensorProto::STRING) return false;  // not worth comparing
  if (a.shares_storage_with(b)) return true;
  const auto x = a.bytes();
  const auto y = b.bytes();
  if (x.size() != y.size()) return false;
  return x.empty() || std::memcmp(x.data(), y.data(), x.size()) == 0;  // an empty span's data() may be null
}

constexpr std::size_t kNoStep = std::numeric_limits<std::size_t>::max();

// By slot: the step computing it, and its last reader in step order (kNoStep: a graph input or a
// constant; nobody reads it, or a graph output, read after the run).
struct SlotSteps {
  std::vector<std::size_t> producer;
  std::vector<std::size_t> last_read;
};

SlotSteps slot_steps(const runtime::GraphPlan& plan) {
  SlotSteps result{std::vector<std::size_t>(plan.slot_names.size(), kNoStep),
                   std::vector<std::size_t>(plan.slot_names.size(), kNoStep)};
  for (std::size_t k = 0; k < plan.nodes.size(); ++k) {
    for (const int slot : plan.nodes[k].outputs) {
      if (slot != runtime::kNoSlot) result.producer[slot] = k;
    }
    for (const int slot : plan.nodes[k].inputs) {
      if (slot != runtime::kNoSlot) result.last_read[slot] = k;
    }
  }
  for (const int slot : plan.output_slots) result.last_read[slot] = kNoStep;
  return result;
}

// The values a simulated implementation keeps between its runs (by slot), chosen from the sizes
// of a full state (`values`, by slot): the small ones (under `small_bytes`: shapes, scalars,
// masks), those live across a checkpoint, and the graph outputs. A variant's values are all its
// own (every float16 rounding is nudged differently), and keeping all of them cost a full state
// per variant: BERT-base, 4 variants, 0.96 of the search's 2.6 GB, each byte a fresh page to
// fault in. A change then re-runs from the checkpoint before it, at most a gap's steps more
// than from a full state.
//
// Checkpoints: positions in step order where at most kCheckpointWidth large computed values are
// live (produced at or before, read after; the graph's outputs count as read at the end), at
// least a gap of steps apart, so that about kCheckpoints are kept: between a transformer's
// layers (the hidden state), between a CNN's blocks.
std::vector<bool> checkpoint_slots(const runtime::GraphPlan& plan, const SlotSteps& steps_of, const std::vector<Tensor>& values,
                                   std::size_t small_bytes) {
  constexpr std::size_t kCheckpoints = 32;
  constexpr int kCheckpointWidth = 2;
  auto small = [&](std::size_t slot) { return slot >= values.size() || values[slot].byte_size() < small_bytes; };
  const std::size_t steps = plan.nodes.size();
  std::vector<bool> kept(plan.slot_names.size(), false);
  for (const int slot : plan.output_slots) kept[slot] = true;
  // Until when each computed value is live: its last reader, or the end for a graph output
  // (kNoStep: not computed, or nobody reads it).
  std::vector<std::size_t> live_until(plan.slot_names.size(), kNoStep);
  for (std::size_t slot = 0; slot < kept.size(); ++slot) {
    if (steps_of.producer[slot] == kNoStep) continue;
    live_until[slot] = kept[slot] ? steps : steps_of.last_read[slot];
  }
  for (std::size_t slot = 0; slot < kept.size(); ++slot) kept[slot] = kept[slot] || small(slot);
  if (steps == 0) return kept;
  // live[k]: large computed values produced at or before step k and read after it.
  std::vector<int> live(steps + 1, 0);
  for (std::size_t slot = 0; slot < live_until.size(); ++slot) {
    if (live_until[slot] == kNoStep || live_until[slot] <= steps_of.producer[slot] || small(slot)) continue;
    ++live[steps_of.producer[slot]];
    --live[live_until[slot]];
  }
  for (std::size_t k = 1; k <= steps; ++k) live[k] += live[k - 1];
  const std::size_t gap = std::max<std::size_t>(1, steps / kCheckpoints);
  std::vector<bool> checkpoint(steps, false);
  std::size_t last = 0;
  bool any = false;
  for (std::size_t k = 0; k + 1 < steps; ++k) {
    if (live[k] > kCheckpointWidth || (any && k - last < gap)) continue;
    checkpoint[k] = true;
    last = k;
    any = true;
  }
  // A value is kept when a checkpoint lies in [produced, last read).
  std::vector<std::size_t> next_checkpoint(steps + 1, steps);
  for (std::size_t k = steps; k-- > 0;) next_checkpoint[k] = checkpoint[k] ? k : next_checkpoint[k + 1];
  for (std::size_t slot = 0; slot < live_until.size(); ++slot) {
    if (live_until[slot] == kNoStep) continue;
    if (next_checkpoint[steps_of.producer[slot]] < live_until[slot]) kept[slot] = true;
  }
  return kept;
}

class IncrementalEngine final : public CandidateEngine {
 public:
  IncrementalEngine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples, int threads, VariantOptions variants,
                    InlinedBranches inlined, runtime::LoadedInitializers* shared_weights)
      : analysis_(analysis),
        inlined_(std::move(inlined)),
        threads_(runtime::effective_threads(threads)),
        rounder_(convert::elem_type(analysis.context().target),
                 {analysis.options().min_positive_val, analysis.options().max_finite_val}, threads_),
        variants_(variants) {
    if (variants_.count < 0) throw Error("the number of float16 variants must be >= 0");
    // Above half of float16's relative ulp at the top of a binade (2^-12), a nudge could move a
    // value float16 holds exactly: an implementation never changes those.
    if (!(variants_.spread >= 0 && variants_.spread <= 0x1.0p-13)) {
      throw Error("the float16 variants' spread must be between 0 and 2^-13 (1.22e-4)");
    }
    variant_values_.resize(static_cast<std::size_t>(variants_.count));
    const onnx::ModelProto& model = analysis.model();
    runtime::PlanOptions plan_options;
    plan_options.registry = &runtime::KernelRegistry::builtin();
    plan_options.payloads = analysis.payloads();  // a streamed model's weights go from their files into the plan
    plan_options.threads = threads_;
    plan_options.loaded = shared_weights;
    for (const auto& opset : model.opset_import()) {
      plan_options.opsets[graph::canonical_domain(opset.domain())] = static_cast<int>(opset.version());
    }
    const graph::GraphIndex& index = analysis.index();
    if (inlined_.empty()) {
      plan_ = runtime::compile_main_graph(model.graph(), plan_options);
    } else {
      const runtime::FlatNodes flat = flatten();
      plan_ = runtime::compile_main_graph(model.graph(), plan_options, &flat);
    }

    // A value's name, looked up where it is defined: the main graph, or an inlined branch.
    std::vector<graph::ScopeId> scopes{graph::GraphIndex::main_scope()};
    for (const auto& [node, branch] : inlined_) scopes.push_back(branch);
    slot_value_.resize(plan_->slot_names.size(), graph::kNone);
    for (std::size_t slot = 0; slot < slot_value_.size(); ++slot) {
      for (std::size_t i = 0; i < scopes.size() && slot_value_[slot] == graph::kNone; ++i) {
        slot_value_[slot] = index.find(plan_->slot_names[slot], scopes[i]);
      }
    }
    for (const auto& node : plan_->nodes) {
      const auto bridge = bridge_of_.find(node.proto);
      const graph::NodeId n = bridge != bridge_of_.end() ? bridge->second.first : analysis.node_id(*node.proto);
      step_of_[n] = step_node_.size();  // an inlined If: its last output's step
      steps_of_[n].push_back(step_node_.size());
      bridge_port_.push_back(bridge != bridge_of_.end() ? bridge->second.second : -1);
      step_node_.push_back(n);
    }
    stats_.executions_by_node.assign(index.nodes().size(), 0);
    stats_.nodes_per_run = plan_->nodes.size();  // a full run executes every step once
    for (const auto& [slot, tensor] : plan_->constants) constants_[slot] = tensor;
    slot_steps_ = slot_steps(*plan_);
    restoring_.assign(plan_->nodes.size(), false);
    for (const auto& node : plan_->nodes) is_contraction_step_.push_back(is_contraction(node.proto->op_type()));
    is_input_slot_.assign(plan_->slot_names.size(), false);
    for (const int slot : plan_->input_slots) is_input_slot_[slot] = true;
    is_output_slot_.assign(plan_->slot_names.size(), false);
    for (const int slot : plan_->output_slots) is_output_slot_[slot] = true;
    is_constant_slot_.assign(plan_->slot_names.size(), false);
    for (const auto& [slot, tensor] : constants_) is_constant_slot_[slot] = !is_input_slot_[slot];
    is_uncomputed_slot_.assign(plan_->slot_names.size(), false);
    for (const int slot : plan_->input_slots) is_uncomputed_slot_[slot] = true;
    for (const auto& [slot, tensor] : constants_) is_uncomputed_slot_[slot] = true;
    for (const auto& node : plan_->nodes) {  // in step order: producers first
      if (!node.fused_readers.empty()) continue;
      const bool computed = computes_values(*node.proto, [&](std::size_t i) {
        return i < node.inputs.size() && node.inputs[i] != runtime::kNoSlot && !is_uncomputed_slot_[node.inputs[i]];
      });
      for (const int slot : node.outputs) {
        if (slot != runtime::kNoSlot) is_uncomputed_slot_[slot] = !computed;
      }
    }

    for (const Feeds& sample : samples) {
      std::vector<Tensor> inputs(plan_->input_slots.size());
      for (int i = 0; i < model.graph().input_size(); ++i) {
        if (auto it = sample.find(model.graph().input(i).name()); it != sample.end()) inputs[i] = it->second;
      }
      inputs_.push_back(std::move(inputs));
    }
    for (VariantValues& variant : variant_values_) {
      variant.values.resize(inputs_.size());  // no values yet: the first run computes everything
      variant.config.resize(inputs_.size());
    }
  }

  std::size_t variant_count() const override { return 1 + variant_values_.size(); }

  bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) override {
    last_config_ = make_config(analysis_.decide(kept_nodes));
    return run_last_config(check);
  }

  std::optional<Float32Run> run_float32(const std::vector<std::string>& names) override {
    last_config_ = plain_config();  // nothing rounded anywhere: the float32 model itself
    Float32Run run;
    run_last_config([&](std::size_t, const VariantOutputs& outputs) {
      if (outputs.size() == variant_count()) run.outputs.push_back(outputs.front());
      return true;
    });
    run.values = named_values(evaluator_.last, names);
    accept_last();

    // The range screen's values: the float32 model with its constants clamped as the full
    // conversion clamps them (a -3.4e38 mask constant becomes -max_finite_val), nothing rounded.
    // Computed from the float32 state just accepted: only what a clamped constant changes runs
    // again (nothing, in a model whose constants all lie in range).
    if (!names.empty()) {
      const Config screen = clamped_constants_config(make_config(analysis_.full_conversion()));
      std::vector<std::vector<Tensor>> screen_slots;
      for (std::size_t s = 0; s < inputs_.size(); ++s) {
        screen_slots.push_back(run_sample(screen, s, 0, evaluator_.accepted[s], accepted_config_));
      }
      run.screen_values = named_values(screen_slots, names);
      run.screen_constant_ranges = unclamped_magnitudes(names);
    }
    return run;
  }

  std::optional<std::vector<double>> local_errors(const std::vector<bool>& nodes) override {
    if (!has_accepted_ || inputs_.empty()) return std::nullopt;
    const convert::Plan& full = analysis_.full_conversion();
    const Config config = make_config(full);
    const convert::Decisions& decisions = full.decisions;
    const std::vector<Tensor>& float32 = evaluator_.accepted.front();
    std::vector<double> errors(analysis_.index().nodes().size(), -1.0);
    for (std::size_t k = 0; k < plan_->nodes.size(); ++k) {
      const runtime::CompiledNode& node = plan_->nodes[k];
      const graph::NodeId n = step_node_[k];
      if (static_cast<std::size_t>(n) >= nodes.size() || !nodes[n]) continue;
      errors[n] = std::max(errors[n], 0.0);  // an inlined If: the largest over its outputs' steps
      if (!decisions[n].converted()) continue;
      std::vector<Tensor> held(node.inputs.size());
      std::vector<runtime::ReadRounding> reading(node.inputs.size());
      for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const int slot = node.inputs[i];
        if (slot == runtime::kNoSlot) continue;
        // What the node reads once converted: a float16 value from its producer, or its Cast.
        const Rounding stored = config.store[slot];
        const Rounding rounding = stored != Rounding::None ? stored : config.read[k][i];
        if (is_constant_slot_[slot]) {
          held[i] = constant_input(config, k, i, float32, reading[i]);  // as the search will read it
        } else {
          held[i] = rounder_.apply(as_float32(float32[slot], threads_), rounding);
        }
      }
      std::vector<Tensor> outputs;
      try {
        outputs = run_node(k, held, reading);
      } catch (const Error&) {
        errors[n] = std::numeric_limits<double>::infinity();  // it cannot even run converted; the search will see
        continue;
      }
      for (std::size_t j = 0; j < node.outputs.size(); ++j) {
        const int slot = node.outputs[j];
        if (slot == runtime::kNoSlot) continue;
        const Tensor rounded = rounder_.apply(outputs[j], config.store[slot]);
        errors[n] = std::max(errors[n], relative_l2_distance(rounded, float32[slot]));
      }
    }
    return errors;
  }

  std::vector<SampleOutputs> holdout_outputs(const std::vector<bool>& kept_nodes, int count, int round,
                                             int from = 0) override {
    if (!(variants_.spread > 0) || count <= 0 || from < 0 || from + count > kMaxHoldoutVariants || round < 0) return {};
    const Config config = make_config(analysis_.decide(kept_nodes));
    std::vector<SampleOutputs> outputs(static_cast<std::size_t>(count));
    for (int h = 0; h < count; ++h) {
      for (std::size_t s = 0; s < inputs_.size(); ++s) {
        const std::vector<Tensor> slots = run_sample(config, s, static_cast<std::size_t>(holdout_variant(round, from + h)), {}, config);
        ++stats_.runs;
        outputs[static_cast<std::size_t>(h)].push_back(graph_outputs(slots, config));
      }
    }
    return outputs;
  }

  bool add_variants(int count) override {
    if (!(variants_.spread > 0) || variant_values_.empty() || count <= 0) return false;
    variant_values_.resize(variant_values_.size() + static_cast<std::size_t>(count));
    for (VariantValues& variant : variant_values_) {
      variant.values.resize(inputs_.size());  // the new ones: no values yet, the next run computes them
      variant.config.resize(inputs_.size());
    }
    variants_.count = static_cast<int>(variant_values_.size());
    return true;
  }

  CandidateEngineKind kind() const override { return CandidateEngineKind::Incremental; }

  std::optional<double> distance_in_last_run(graph::NodeId node) const override {
    if (!has_accepted_ || evaluator_.last.empty() || evaluator_.last.front().empty()) return std::nullopt;
    return distance_at(node, evaluator_.last.front());
  }

  std::optional<std::vector<double>> distances_up_to(const std::vector<bool>& kept_nodes,
                                                     const std::vector<graph::NodeId>& nodes) override {
    if (!has_accepted_ || inputs_.empty() || nodes.empty()) return std::nullopt;
    std::size_t last = 0;
    for (graph::NodeId node : nodes) {
      const auto step = step_of_.find(node);
      if (step == step_of_.end()) return std::nullopt;
      last = std::max(last, step->second);
    }
    const Config config = make_config(analysis_.decide(kept_nodes));
    ++stats_.runs;
    const std::vector<Tensor> slots = run_sample(config, 0, 0, evaluator_.accepted.front(), accepted_config_, last);
    // One node per thread: each distance is summed alone in its own order (the same bits on any
    // thread count), and the sums were a tenth of BERT-base's order on one thread. Small values
    // stay on this thread: there a hand-over costs more than the sums.
    constexpr std::size_t kSpreadFromElements = std::size_t{1} << 16;
    std::size_t elements = 0;
    for (graph::NodeId node : nodes) {
      for (const std::size_t step : steps_of_.at(node)) {
        for (const int slot : plan_->nodes[step].outputs) {
          if (slot != runtime::kNoSlot && slots[slot].defined()) elements += slots[slot].size();
        }
      }
    }
    std::vector<double> distances(nodes.size());
    runtime::parallel_for(elements >= kSpreadFromElements ? threads_ : 1, nodes.size(), 1, [&](std::size_t first, std::size_t last) {
      for (std::size_t i = first; i < last; ++i) distances[i] = *distance_at(nodes[i], slots);
    });
    return distances;
  }

  void accept_last() override {
    if (!last_complete_) throw Error("internal: accepting a run that stopped before its last sample");
    accepted_config_ = last_config_;
    evaluator_.accepted = evaluator_.last;  // the variants' values already follow it
    has_accepted_ = true;
  }

 private:
  // The flat model's nodes (inlined_branches.h): the analysed model's own, an inlined If replaced
  // by its branch's nodes and an Identity per output (bridges_) from the branch's output to the
  // If's; the branches' initializers join the main graph's.
  runtime::FlatNodes flatten() {
    const graph::GraphIndex& index = analysis_.index();
    const std::vector<graph::NodeId> order = flat_nodes(index, inlined_);
    if (order.empty()) throw Error("internal: the If nodes to inline do not make a flat model");
    runtime::FlatNodes flat;
    for (const auto& [node, branch] : inlined_) flat.initializer_graphs.push_back(index.scope(branch).graph);
    for (const graph::NodeId n : order) {
      const onnx::NodeProto& proto = *index.node(n).proto;
      if (!is_inlined(inlined_, n)) {
        flat.nodes.push_back(&proto);
        continue;
      }
      const onnx::GraphProto& branch = *index.scope(inlined_.at(n)).graph;
      for (int port = 0; port < proto.output_size() && port < branch.output_size(); ++port) {
        if (proto.output(port).empty()) continue;
        onnx::NodeProto& bridge = bridges_.emplace_back();
        bridge.set_op_type("Identity");
        bridge.set_name(proto.name() + "/output " + std::to_string(port));
        bridge.add_input(branch.output(port).name());
        bridge.add_output(proto.output(port));
        bridge_of_[&bridge] = {n, port};
        flat.nodes.push_back(&bridge);
      }
    }
    return flat;
  }

  // The values of one implementation, by sample, by slot. An incremental run needs values and
  // the configuration they were computed under, nothing more.
  //
  // The evaluator's own float16 (variant 0): the accepted state (under accepted_config_), the base
  // of every run and of the distances the order measures, and the last run's values, which
  // accept_last() makes the accepted state.
  struct EvaluatorValues {
    std::vector<std::vector<Tensor>> accepted;
    std::vector<std::vector<Tensor>> last;
  };
  // A simulated implementation's: only the values of the last configuration it ran (`config`,
  // by sample), accepted or not, so its run replaces its values at once instead of keeping them
  // beside the accepted ones until the verdict (BERT-base, 4 variants: peak 3.4 -> 2.8 GB, same
  // result; PaddleOCR det 2.1 -> 1.7 GB). A variant that ran a refused candidate recomputes from
  // there: about 6% more full-run equivalents on PaddleOCR. And of those values only the ones
  // trim_to_checkpoints keeps (2.65 -> 1.84 GB on BERT-base).
  struct VariantValues {
    std::vector<std::vector<Tensor>> values;
    std::vector<Config> config;
  };

  // The largest relative L2 distance between `slots`' and the accepted state's values of the
  // node's outputs (first sample, the evaluator's own float16).
  std::optional<double> distance_at(graph::NodeId node, const std::vector<Tensor>& slots) const {
    const auto steps = steps_of_.find(node);
    if (steps == steps_of_.end()) return std::nullopt;
    const std::vector<Tensor>& base = evaluator_.accepted.front();
    double distance = 0;
    for (const std::size_t step : steps->second) {
      for (const int slot : plan_->nodes[step].outputs) {
        if (slot == runtime::kNoSlot) continue;
        const Tensor& value = slots[slot];  // float32, or stored in the target type
        if (!value.defined() || !(value.dtype() == onnx::TensorProto::FLOAT || is_16bit_float(value))) continue;
        distance = std::max(distance, relative_l2_distance(value, base[slot]));
      }
    }
    return distance;
  }

  // Sample s's graph outputs from its slots. A float16 graph output of the converted model (its
  // producer's value, or the Cast the conversion adds for a float32 producer): rounding is the cast.
  std::vector<Tensor> graph_outputs(const std::vector<Tensor>& slots) const { return graph_outputs(slots, last_config_); }
  std::vector<Tensor> graph_outputs(const std::vector<Tensor>& slots, const Config& config) const {
    std::vector<Tensor> outputs;
    const auto target = static_cast<DataType>(convert::elem_type(analysis_.context().target));
    for (std::size_t o = 0; o < plan_->output_slots.size(); ++o) {
      const Tensor& value = slots[plan_->output_slots[o]];
      outputs.push_back(config.float16_outputs[o] ? runtime::cast_tensor(value, target) : as_float32(value, threads_));
    }
    return outputs;
  }

  // Runs last_config_ sample by sample: the evaluator's variant, checked alone, then the others,
  // checked together. Stops at the first refusal (the state is then incomplete and cannot be
  // accepted). Without float16 values (the float32 run) the variants equal the evaluator's and
  // share its values.
  bool run_last_config(const SampleCheck& check) {
    last_complete_ = false;
    evaluator_.last.assign(inputs_.size(), {});
    bool any_rounding = false;
    for (const Rounding r : last_config_.store) any_rounding = any_rounding || r == Rounding::Round;
    // While the accepted state rounds nothing a node computes (the float32 model, until a
    // candidate passes), its values are every implementation's too: a variant whose own values
    // are of a refused candidate, or that has none yet, runs from there instead where that
    // runs fewer steps (the same values either way). BERT-base's first rounds, refused on the
    // fourth or fifth implementation, ran every variant over the whole model although the
    // candidate changed nothing before its first node.
    std::optional<std::size_t> shared_base_steps;
    if (has_accepted_ && rounds_nothing(accepted_config_)) shared_base_steps = steps_to_run(accepted_config_, last_config_);
    for (std::size_t s = 0; s < inputs_.size(); ++s) {
      VariantOutputs outputs;
      for (std::size_t v = 0; v < variant_count(); ++v) {
        if (v == 0) {
          // From a copy of the accepted state's handles: it stays the base until the verdict.
          evaluator_.last[s] = run_sample(last_config_, s, 0, has_accepted_ ? evaluator_.accepted[s] : std::vector<Tensor>{},
                                          accepted_config_);
          ++stats_.runs;
          outputs.push_back(graph_outputs(evaluator_.last[s]));
        } else {
          VariantValues& variant = variant_values_[v - 1];
          if (!any_rounding) {
            variant.values[s] = evaluator_.last[s];  // no float16 value: the evaluator's, shared
          } else {
            // Its values move through the run: each is released as soon as it is replaced. A
            // run cut short by an error leaves none (the next run computes everything).
            std::vector<Tensor> values = std::move(variant.values[s]);
            variant.values[s].clear();
            const Config* base = &variant.config[s];
            if (shared_base_steps &&
                *shared_base_steps <= (values.empty() ? plan_->nodes.size() : steps_to_run(*base, last_config_))) {
              values = evaluator_.accepted[s];  // handles: the run replaces what it changes
              base = &accepted_config_;
            }
            variant.values[s] = run_sample(last_config_, s, v, std::move(values), *base);
            ++stats_.runs;
          }
          variant.config[s] = last_config_;
          outputs.push_back(graph_outputs(variant.values[s]));
          trim_to_checkpoints(variant.values[s]);
        }
        // Judged after every variant: a refusal spares running the rest (the evaluator's own
        // verdict comes first; a spread too wide with two variants stays too wide with three).
        if (!check(s, outputs)) return false;
      }
    }
    last_complete_ = true;
    return true;
  }

  std::vector<std::map<std::string, Tensor>> named_values(const std::vector<std::vector<Tensor>>& slots_per_sample,
                                                          const std::vector<std::string>& names) const {
    std::map<std::string, int> slot_of;
    for (std::size_t slot = 0; slot < plan_->slot_names.size(); ++slot) slot_of[plan_->slot_names[slot]] = static_cast<int>(slot);
    std::vector<std::map<std::string, Tensor>> result;
    for (const auto& slots : slots_per_sample) {
      std::map<std::string, Tensor> values;
      for (const auto& name : names) {
        if (auto it = slot_of.find(name); it != slot_of.end() && slots[it->second].defined()) values[name] = slots[it->second];
      }
      result.push_back(std::move(values));
    }
    return result;
  }

  // By name, of `names`: the largest finite |x| of the constants the screen's run found nothing
  // to clamp in (their screen value is the constant as loaded).
  std::map<std::string, double> unclamped_magnitudes(const std::vector<std::string>& names) const {
    std::map<std::string, double> result;
    std::map<std::string, int> slot_of;
    for (const auto& [slot, largest] : unclamped_magnitude_) slot_of[plan_->slot_names[slot]] = slot;
    for (const auto& name : names) {
      if (auto it = slot_of.find(name); it != slot_of.end()) result[name] = unclamped_magnitude_.at(it->second);
    }
    return result;
  }

  Config plain_config() const {
    Config plain;
    plain.store.assign(slot_value_.size(), Rounding::None);
    plain.read.resize(plan_->nodes.size());
    for (std::size_t k = 0; k < plan_->nodes.size(); ++k) plain.read[k].assign(plan_->nodes[k].inputs.size(), Rounding::None);
    plain.float16_outputs.assign(plan_->output_slots.size(), false);
    return plain;
  }

  // `converted` with only the constants' clamping left.
  Config clamped_constants_config(const Config& converted) const {
    Config config = plain_config();
    // Every constant the conversion clamps: initializers, and Constant nodes' outputs (exports
    // such as paddle2onnx's hold their weights in Constant nodes).
    for (std::size_t slot = 0; slot < converted.store.size(); ++slot) {
      if (converted.store[slot] == Rounding::ClampRound) config.store[slot] = Rounding::ClampLarge;
    }
    for (std::size_t k = 0; k < plan_->nodes.size(); ++k) {
      for (std::size_t i = 0; i < plan_->nodes[k].inputs.size(); ++i) {
        if (converted.read[k][i] == Rounding::ClampRound) config.read[k][i] = Rounding::ClampLarge;
      }
    }
    return config;
  }

  // How the converted model of `plan` stores and reads each value, from the plan alone.
  Config make_config(const convert::Plan& plan) const {
    const convert::Context& ctx = analysis_.context();
    const graph::GraphIndex& index = analysis_.index();
    Config config;
    config.store.assign(slot_value_.size(), Rounding::None);
    for (std::size_t slot = 0; slot < slot_value_.size(); ++slot) {
      const graph::ValueId v = slot_value_[slot];
      if (v == graph::kNone || plan.values[v].produced != ctx.target) continue;
      // A graph input holds the sample's data, which the caller casts (adapt_feeds) without
      // clamping, even where an initializer gives it a default.
      const bool fed = index.value(v).kind == graph::ValueKind::GraphInput;
      config.store[slot] = plan.clamped(v, ctx.target) && !fed ? Rounding::ClampRound : Rounding::Round;
    }
    const auto& output_precision = plan.output_precision[graph::GraphIndex::main_scope()];
    for (std::size_t o = 0; o < plan_->output_slots.size(); ++o) {
      config.float16_outputs.push_back(o < output_precision.size() && output_precision[o] == ctx.target);
    }
    config.read.resize(plan_->nodes.size());
    for (std::size_t k = 0; k < plan_->nodes.size(); ++k) {
      const graph::NodeId n = step_node_[k];
      if (bridge_port_[k] >= 0) {
        // An inlined If's output: its branch's output, cast by the conversion at the branch's end
        // when the If's output is float16 and what the branch computed is not.
        const graph::ScopeId branch = inlined_.at(n);
        const auto port = static_cast<std::size_t>(bridge_port_[k]);
        const graph::ValueId v = index.scope(branch).outputs[port];
        const auto& wanted = plan.output_precision[static_cast<std::size_t>(branch)];
        config.read[k].assign(1, Rounding::None);
        if (port < wanted.size() && wanted[port] == ctx.target && plan.values[v].produced != ctx.target) {
          config.read[k][0] = plan.clamped(v, ctx.target) ? Rounding::ClampRound : Rounding::Round;
        }
        continue;
      }
      const auto& inputs = index.node(n).inputs;
      config.read[k].assign(inputs.size(), Rounding::None);
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const graph::ValueId v = inputs[i];
        if (v == graph::kNone) continue;
        if (convert::input_want(ctx, plan.decisions, n, static_cast<int>(i)) != convert::Want::Target) continue;
        if (plan.values[v].produced == ctx.target) continue;  // already stored as float16
        config.read[k][i] = plan.clamped(v, ctx.target) ? Rounding::ClampRound : Rounding::Round;
      }
    }
    return config;
  }

  // How step k reads its constant input i under `config`: the tensor handed to the kernel, and in
  // `reading` the rounding the kernel applies itself. A kernel that reads the input rounded
  // (CompiledNode::reads_rounded: MatMul's and Gemm's weights as they are packed, Gather's rows)
  // gets the constant as loaded, so no rounded copy of it is made or held: BERT-base's rounded
  // weights were 436 MB, faulted in on the search's first attempt. Other kernels get the rounded
  // copy (constant_as), or the range screen's clamped constant from its slot.
  Tensor constant_input(const Config& config, std::size_t k, std::size_t i, const std::vector<Tensor>& slots,
                        runtime::ReadRounding& reading) {
    const runtime::CompiledNode& node = plan_->nodes[k];
    const int slot = node.inputs[i];
    const Rounding stored = config.store[slot];
    const Rounding rounding = stored != Rounding::None ? stored : config.read[k][i];
    if ((rounding == Rounding::Round || rounding == Rounding::ClampRound) && i < node.reads_rounded.size() &&
        node.reads_rounded[i]) {
      reading = rounder_.reading(rounding);
      return constants_.at(slot);
    }
    if (stored == Rounding::ClampLarge) return slots[slot];
    return constant_as(slot, rounding);
  }

  // What a constant's slot holds under `store`: the constant as loaded, which its readers round
  // as they read it (constant_input), but the screen's clamped copy, made once per run, and the
  // stored value of a graph input's default or a graph output (read from the slot as it is).
  Tensor stored_constant(int slot, Rounding store) {
    if (store == Rounding::ClampLarge || is_input_slot_[slot] || is_output_slot_[slot]) return constant_as(slot, store);
    return constants_.at(slot);
  }

  // Whether a constant reads the same under two roundings (a clamp that changes nothing, a
  // weight float16 holds exactly): its readers then need not run again. Found once per pair.
  bool same_numbers(int slot, Rounding a, Rounding b) {
    if (a == b) return true;
    const Tensor& constant = constants_.at(slot);
    if (constant.dtype() != onnx::TensorProto::FLOAT) return true;  // only float32 values are rounded
    const auto [it, inserted] = same_numbers_.try_emplace({slot, std::min(a, b), std::max(a, b)}, false);
    if (!inserted) return it->second;
    if (std::min(a, b) == Rounding::None && std::max(a, b) == Rounding::ClampLarge) {
      // The clamp alone against no rounding (the range screen's run, over every weight): the
      // same exactly when nothing is clamped, found in one pass without the two copies (0.07 s
      // of BERT-base's 0.4 s float32 run on one thread). The pass's maximum is kept for the
      // screens (unclamped_magnitudes), which would otherwise scan every weight again.
      const float largest = rounder_.largest_finite_magnitude(constant.data<float>());
      it->second = !rounder_.clamps(largest);
      if (it->second) unclamped_magnitude_[slot] = largest;
    } else {
      it->second = rounder_.same_values(constant.data<float>(), a, b);
    }
    return it->second;
  }

  // A constant in a given rounding, computed once, for the readers that do not round it
  // themselves. ClampLarge (the screen's, used once) is not kept: where it changes something it
  // would hold a second copy for the whole search.
  Tensor constant_as(int slot, Rounding rounding) {
    if (rounding == Rounding::None) return constants_.at(slot);
    if (rounding == Rounding::ClampLarge) return rounder_.apply(constants_.at(slot), rounding);
    Tensor& cached = rounded_constants_[{slot, rounding}];
    if (!cached.defined()) cached = rounder_.apply(constants_.at(slot), rounding);
    return cached;
  }

  std::vector<Tensor> run_node(std::size_t k, std::vector<Tensor>& held, const std::vector<runtime::ReadRounding>& reading) {
    const runtime::CompiledNode& node = plan_->nodes[k];
    std::vector<const Tensor*> inputs(node.inputs.size(), nullptr);
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const int slot = node.inputs[i];
      if (slot == runtime::kNoSlot) continue;
      if (!held[i].defined()) throw Error(node.label + ": input '" + plan_->slot_names[slot] + "' has no value");
      inputs[i] = &held[i];
    }
    std::vector<Tensor> outputs =
        runtime::run_compiled_node(node, *plan_, std::move(inputs), {.threads = threads_, .read_rounding = reading});
    ++stats_.nodes_evaluated;
    ++stats_.executions_by_node[static_cast<std::size_t>(step_node_[k])];
    return outputs;
  }

  // Sample s under `config` and variant v. `slots` are the values of variant v computed under
  // `base_config`, updated in place: only what differs is recomputed, and a value replaced is
  // released at once, so a run that changes everything never holds two full states (the
  // caller moves in values it will not need again, or copies the handles). Empty `slots`:
  // everything is computed. `last_step`: the steps after it are not run (their slots keep
  // the base's values). A simulated implementation's run (v > 0) drops a value it will not keep
  // (trim_to_checkpoints) once its last reader has run: it holds a working set, not a state.
  std::vector<Tensor> run_sample(const Config& config, std::size_t s, std::size_t v, std::vector<Tensor> slots,
                                 const Config& base_config,
                                 std::size_t last_step = std::numeric_limits<std::size_t>::max()) {
    const bool incremental = !slots.empty();
    if (!incremental) slots.resize(plan_->slot_names.size());
    std::vector<bool> changed(slots.size(), !incremental);
    auto store_differs = [&](int slot) { return !incremental || config.store[slot] != base_config.store[slot]; };
    for (const auto& [slot, tensor] : constants_) {
      if (!store_differs(slot)) continue;
      if (incremental && same_numbers(slot, base_config.store[slot], config.store[slot])) continue;
      slots[slot] = stored_constant(slot, config.store[slot]);
      changed[slot] = true;
    }
    for (std::size_t i = 0; i < plan_->input_slots.size(); ++i) {
      const int slot = plan_->input_slots[i];
      if (inputs_[s][i].defined() && store_differs(slot)) {
        slots[slot] = rounder_.store(inputs_[s][i], config.store[slot]);
        changed[slot] = true;
      }
    }
    for (std::size_t k = 0; k < plan_->nodes.size() && k <= last_step; ++k) {
      const runtime::CompiledNode& node = plan_->nodes[k];
      if (incremental && !needs_run(config, base_config, k, changed)) continue;
      if (incremental) restore_inputs(config, k, v, slots);
      std::vector<Tensor> outputs = compute_step(config, k, v, slots);
      for (std::size_t j = 0; j < node.outputs.size(); ++j) {
        const int slot = node.outputs[j];
        if (slot == runtime::kNoSlot) continue;
        // Same numbers: the value stays and readers need not run again. (A value the base
        // dropped compares unequal: its readers run.)
        if (!incremental || !same_bits(outputs[j], slots[slot])) {
          slots[slot] = std::move(outputs[j]);
          changed[slot] = true;
        }
      }
      if (v > 0 && !kept_by_variants_.empty()) {
        for (const int slot : node.inputs) {
          if (slot != runtime::kNoSlot && slot_steps_.producer[slot] != kNoStep && slot_steps_.last_read[slot] == k &&
              !kept_by_variants_[slot]) slots[slot] = Tensor();
        }
      }
    }
    return slots;
  }

  // Step k under `config` for implementation v: its inputs read from `slots` as the converted
  // model reads them (constants in their conversion, float32 values through the Cast the
  // conversion inserts), its outputs as the converted model stores them.
  std::vector<Tensor> compute_step(const Config& config, std::size_t k, std::size_t v, const std::vector<Tensor>& slots) {
    const runtime::CompiledNode& node = plan_->nodes[k];
    std::vector<Tensor> held(node.inputs.size());
    std::vector<runtime::ReadRounding> reading(node.inputs.size());
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const int slot = node.inputs[i];
      if (slot == runtime::kNoSlot) continue;
      const Rounding rounding = config.read[k][i];
      if (is_constant_slot_[slot]) {
        held[i] = constant_input(config, k, i, slots, reading[i]);
      } else {
        // A float32 value a node computed, cast to float16 for this reader: another
        // implementation computes it a few float32 ulps away, which flips the cast's rounding
        // where it lies near a boundary, as for a float16 node's own output. The nudge is the
        // slot's (every reader shares the one Cast the conversion inserts). Sample data and
        // weights, as they are or moved (a Transpose of the input, a Gather from a table), are
        // the same everywhere: not nudged.
        const auto nudge = nudge_for(v, slot, rounding, kCastSeed);
        held[i] = rounder_.apply(as_float32(slots[slot], threads_), rounding, nudge ? &*nudge : nullptr);
      }
    }
    std::vector<Tensor> outputs = run_node(k, held, reading);
    for (std::size_t j = 0; j < node.outputs.size(); ++j) {
      const int slot = node.outputs[j];
      if (slot == runtime::kNoSlot) continue;
      // Variants nudge what a node computes in float16 (Round), never a constant's conversion
      // (nudge_for).
      const auto nudge = nudge_for(v, slot, config.store[slot], 0);
      outputs[j] = rounder_.store(outputs[j], config.store[slot], nudge ? &*nudge : nullptr);
    }
    return outputs;
  }

  // Before step k runs on a state a simulated implementation trimmed (trim_to_checkpoints): the
  // values it reads that were dropped are computed again, with every dropped value their
  // producers read in turn, in step order. Their producers did not run in this pass (a step
  // that runs replaces its outputs at once), so nothing they read changed: under `config` they
  // compute the base's values again, bit for bit (a variant's nudges depend on the slot and the
  // element only).
  void restore_inputs(const Config& config, std::size_t k, std::size_t v, std::vector<Tensor>& slots) {
    std::vector<std::size_t> steps;  // producers to run again
    std::vector<int> pending;
    auto want = [&](std::size_t step) {
      for (const int slot : plan_->nodes[step].inputs) {
        if (slot != runtime::kNoSlot && !slots[slot].defined() && slot_steps_.producer[slot] != kNoStep) pending.push_back(slot);
      }
    };
    want(k);
    while (!pending.empty()) {
      const std::size_t producer = slot_steps_.producer[pending.back()];
      pending.pop_back();
      if (restoring_[producer]) continue;
      restoring_[producer] = true;
      steps.push_back(producer);
      want(producer);
    }
    std::sort(steps.begin(), steps.end());
    for (const std::size_t step : steps) restoring_[step] = false;
    for (const std::size_t step : steps) {
      std::vector<Tensor> outputs = compute_step(config, step, v, slots);
      for (std::size_t j = 0; j < outputs.size(); ++j) {
        const int slot = plan_->nodes[step].outputs[j];
        if (slot == runtime::kNoSlot) continue;
        slots[slot] = std::move(outputs[j]);
        // A contraction's output computed again is kept from now on (by every variant: they
        // all trim the same slots). Computing it once more would cost far more per byte than
        // keeping it; the elementwise values around it stay cheap to recompute. Measured
        // 2026-12-07 (interleaved medians, the same results): PaddleOCR det (rtol 0.01, atol
        // 0.01) 2.76 -> 2.13 s, 94.8 -> 76.4 full runs by FLOPs, peak 491 -> 540 MB; rec (rtol
        // 0.01, atol 0.001) 4.45 -> 3.65 s, 160.0 -> 130.6, 647 -> 675 MB; BERT-base as it
        // was (22.9, 1.07 GB). Keeping every contraction's output from the start did as well on
        // the two CNNs but held 150 MB more on BERT-base, which restores few of them. Up to a
        // quarter of a full state's computed values, so that a model restoring everything keeps
        // its variants' memory within 1.25 states each (det and rec stayed far below).
        const std::size_t bytes = slots[slot].byte_size();
        if (is_contraction_step_[step] && !kept_by_variants_[slot] &&
            restored_kept_bytes_ + bytes <= computed_state_bytes_ / 4) {
          kept_by_variants_[slot] = true;
          restored_kept_bytes_ += bytes;
        }
      }
      ++stats_.nodes_recomputed;
    }
  }

  // What a simulated implementation keeps of a run's values (checkpoint_slots: the small ones,
  // those live across a checkpoint, the graph outputs); the rest is dropped (restore_inputs
  // computes what a later run needs again).
  void trim_to_checkpoints(std::vector<Tensor>& slots) {
    if (kept_by_variants_.empty()) {
      kept_by_variants_ = checkpoint_slots(*plan_, slot_steps_, slots, variants_.keep_below_bytes);  // the first full state's sizes
      for (std::size_t slot = 0; slot < slots.size(); ++slot) {
        if (slot_steps_.producer[slot] != kNoStep && slots[slot].defined()) computed_state_bytes_ += slots[slot].byte_size();
      }
    }
    for (std::size_t slot = 0; slot < slots.size(); ++slot) {
      if (slot_steps_.producer[slot] != kNoStep && !kept_by_variants_[slot]) slots[slot] = Tensor();
    }
  }

  // Variant v's nudge where it rounds `slot`'s values (`salt` tells a cast of the value from the
  // producer's own rounding): none for the evaluator, without a spread, for a rounding other
  // than Round (constants and clamps are the same in every implementation), or for a value no
  // node computed (is_uncomputed_slot_: a Constant node's, the sample data and weights moved).
  std::optional<Nudge> nudge_for(std::size_t v, int slot, Rounding rounding, std::uint64_t salt) const {
    if (v == 0 || rounding != Rounding::Round || !(variants_.spread > 0) || is_uncomputed_slot_[slot]) return std::nullopt;
    return Nudge{mix((static_cast<std::uint64_t>(v) << 32) ^ static_cast<std::uint64_t>(slot) ^ salt),
                 static_cast<float>(variants_.spread)};
  }

  // Whether nothing is rounded to the target under `config` (the screen's clamping of constants
  // may be there: every implementation clamps alike): then the variants have nothing to nudge
  // (nudge_for) and every implementation computes the evaluator's values.
  static bool rounds_nothing(const Config& config) {
    for (const Rounding r : config.store) {
      if (r == Rounding::Round || r == Rounding::ClampRound) return false;
    }
    for (const auto& reads : config.read) {
      for (const Rounding r : reads) {
        if (r == Rounding::Round || r == Rounding::ClampRound) return false;
      }
    }
    return true;
  }

  // How many steps a run of `config` from values computed under `base` runs at most: those
  // that read or store a value otherwise (needs_run), and those that read what they write, as
  // if every rerun changed its outputs (run_sample stops earlier where they come out the same).
  std::size_t steps_to_run(const Config& base, const Config& config) const {
    std::vector<bool> changed(slot_value_.size(), false);
    for (const auto& [slot, tensor] : constants_) changed[slot] = config.store[slot] != base.store[slot];
    for (const int slot : plan_->input_slots) changed[slot] = changed[slot] || config.store[slot] != base.store[slot];
    std::size_t steps = 0;
    for (std::size_t k = 0; k < plan_->nodes.size(); ++k) {
      if (!needs_run(config, base, k, changed)) continue;
      ++steps;
      for (const int slot : plan_->nodes[k].outputs) {
        if (slot != runtime::kNoSlot) changed[slot] = true;
      }
    }
    return steps;
  }

  // Whether step k must run again: an input changed or is read with another rounding, or an
  // output is stored with another one, than in the base's configuration.
  bool needs_run(const Config& config, const Config& base_config, std::size_t k,
                 const std::vector<bool>& changed) const {
    const runtime::CompiledNode& node = plan_->nodes[k];
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const int slot = node.inputs[i];
      if (slot == runtime::kNoSlot) continue;
      if (changed[slot] || config.read[k][i] != base_config.read[k][i]) return true;
    }
    for (const int slot : node.outputs) {
      if (slot != runtime::kNoSlot && config.store[slot] != base_config.store[slot]) return true;
    }
    return false;
  }

  const ConversionAnalysis& analysis_;
  InlinedBranches inlined_;                 // If nodes run as their taken branch (inlined_branches.h)
  // The Identity nodes that pass an inlined If's branch outputs on as the If's outputs (the flat
  // model's stand-in for the If; the plan points to them), and by each: the If's NodeId and output
  // port.
  std::deque<onnx::NodeProto> bridges_;
  std::unordered_map<const onnx::NodeProto*, std::pair<graph::NodeId, int>> bridge_of_;
  int threads_;
  Rounder rounder_;
  VariantOptions variants_;
  std::unique_ptr<runtime::GraphPlan> plan_;
  std::vector<int> bridge_port_;            // by step: the If output port it passes on, or -1
  std::map<graph::NodeId, std::vector<std::size_t>> steps_of_;  // by node: its steps (an inlined If: one per output)
  std::vector<graph::ValueId> slot_value_;  // by slot: the value in the analysis's index
  std::vector<bool> is_input_slot_;         // by slot: a graph input (the sample's data)
  std::vector<graph::NodeId> step_node_;    // by step: the node in the analysis's index
  std::map<graph::NodeId, std::size_t> step_of_;  // its inverse
  std::map<int, Tensor> constants_;         // by slot: initializers as loaded
  std::vector<bool> is_constant_slot_;      // by slot: one of constants_, not a graph input's default
  std::vector<bool> is_output_slot_;        // by slot: a graph output
  // By slot: values no node computed: the sample's data, weights, and what nodes that pass values
  // through (computes_values) make of them alone. The same in every implementation.
  std::vector<bool> is_uncomputed_slot_;
  std::map<std::pair<int, Rounding>, Tensor> rounded_constants_;  // for readers that do not round them
  std::map<std::tuple<int, Rounding, Rounding>, bool> same_numbers_;
  std::map<int, float> unclamped_magnitude_;  // by constant slot: the largest finite |x| of one the clamp leaves as it is
  std::vector<std::vector<Tensor>> inputs_;  // by sample, by graph input
  SlotSteps slot_steps_;                    // by slot: its producer and last reader
  std::vector<bool> kept_by_variants_;      // by slot: kept between a simulated implementation's runs
                                            // (empty until the first trim)
  std::vector<bool> restoring_;             // by step: restore_inputs' marks (all false between calls)
  std::vector<bool> is_contraction_step_;   // by step: a matrix product, convolution or recurrent cell
  std::size_t computed_state_bytes_ = 0;    // the computed values of the first full state (one sample)
  std::size_t restored_kept_bytes_ = 0;     // of those, the contraction outputs kept once restored

  bool has_accepted_ = false;
  bool last_complete_ = false;  // the last run reached its last sample
  Config accepted_config_;   // the accepted state's configuration
  Config last_config_;   // the last run's
  EvaluatorValues evaluator_;
  std::vector<VariantValues> variant_values_;  // variant v > 0 at v - 1
};

}  // namespace

bool incremental_engine_supports(const ConversionAnalysis& analysis) {
  for (const auto& node : analysis.model().graph().node()) {
    for (const auto& a : node.attribute()) {
      if (a.has_g() || a.graphs_size() > 0) return false;
    }
  }
  return true;
}

std::unique_ptr<CandidateEngine> make_incremental_engine(const ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                         int threads, VariantOptions variants, InlinedBranches inlined,
                                                         runtime::LoadedInitializers* shared_weights) {
  return std::make_unique<IncrementalEngine>(analysis, samples, threads, variants, std::move(inlined), shared_weights);
}

}  // namespace onnx_fp16::mixed
