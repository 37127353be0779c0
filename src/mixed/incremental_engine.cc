#include "mixed/incremental_engine.h"

#include <onnx_fp16/error.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <thread>

#include "convert/port_rules.h"
#include "half/half.h"
#include "runtime/graph_plan.h"
#include "runtime/kernel.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/tensor_cast.h"

namespace onnx_fp16::mixed {

namespace {

// What happens to a float32 value on its way into a slot or into a node's input.
enum class Rounding : std::uint8_t {
  None,
  Round,       // stored as float16: nearest even, overflow to inf
  ClampRound,  // a constant converted by the conversion: clamped first (min_positive_val, max_finite_val)
};

struct Config {
  std::vector<Rounding> store;              // by slot: how the value is stored
  std::vector<std::vector<Rounding>> read;  // by step, by input: the Cast (or constant copy) a reader sees
  std::vector<bool> float16_outputs;        // by graph output
};

Tensor apply_rounding(const Tensor& tensor, Rounding rounding, half::ClampRule rule) {
  if (rounding == Rounding::None || !tensor.defined() || tensor.dtype() != onnx::TensorProto::FLOAT) return tensor;
  const auto in = tensor.data<float>();
  Tensor out = Tensor::uninitialized(onnx::TensorProto::FLOAT, tensor.shape());
  const auto result = out.mutable_data<float>();
  constexpr std::size_t kChunk = 4096;
  std::uint16_t bits[kChunk];
  for (std::size_t begin = 0; begin < in.size(); begin += kChunk) {
    const std::size_t count = std::min(kChunk, in.size() - begin);
    const std::span<std::uint16_t> chunk(bits, count);
    if (rounding == Rounding::ClampRound) {
      half::floats_to_halves_clamped(in.subspan(begin, count), chunk, rule);
    } else {
      half::floats_to_halves(in.subspan(begin, count), chunk);
    }
    half::halves_to_floats(chunk, result.subspan(begin, count));
  }
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined() || a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == onnx::TensorProto::STRING) return false;  // not worth comparing
  if (a.shares_storage_with(b)) return true;
  const auto x = a.bytes();
  const auto y = b.bytes();
  if (x.size() != y.size()) return false;
  return x.empty() || std::memcmp(x.data(), y.data(), x.size()) == 0;  // an empty span's data() may be null
}

bool is_constant_producer(const onnx::NodeProto& node) {
  return convert::is_op(node, "Constant") || convert::is_op(node, "ConstantOfShape");
}

class IncrementalEngine final : public CandidateEngine {
 public:
  IncrementalEngine(ConversionAnalysis& analysis, const std::vector<Feeds>& samples, int threads)
      : analysis_(analysis),
        threads_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
        clamp_{analysis.options().min_positive_val, analysis.options().max_finite_val} {
    const onnx::ModelProto& model = analysis.model();
    runtime::PlanOptions plan_options;
    plan_options.registry = &runtime::KernelRegistry::builtin();
    for (const auto& opset : model.opset_import()) {
      plan_options.opsets[runtime::normalize_domain(opset.domain())] = static_cast<int>(opset.version());
    }
    plan_ = runtime::compile_main_graph(model.graph(), plan_options);

    const graph::GraphIndex& index = analysis.index();
    slot_value_.resize(plan_->slot_names.size(), graph::kNone);
    for (std::size_t slot = 0; slot < slot_value_.size(); ++slot) {
      slot_value_[slot] = index.find(plan_->slot_names[slot], graph::GraphIndex::main_scope());
    }
    for (const auto& node : plan_->nodes) step_node_.push_back(analysis.node_id(*node.proto));
    for (const auto& [slot, tensor] : plan_->constants) constants_[slot] = tensor;

    for (const Feeds& sample : samples) {
      std::vector<Tensor> inputs(plan_->input_slots.size());
      for (int i = 0; i < model.graph().input_size(); ++i) {
        if (auto it = sample.find(model.graph().input(i).name()); it != sample.end()) inputs[i] = it->second;
      }
      inputs_.push_back(std::move(inputs));
    }
  }

  std::vector<std::vector<Tensor>> run(const std::vector<bool>& kept_nodes) override {
    analysis_.decide(kept_nodes);
    return run_config(make_config());
  }

  bool run_checked(const std::vector<bool>& kept_nodes, const SampleCheck& check) override {
    analysis_.decide(kept_nodes);
    bool passed = true;
    run_config(make_config(), [&](std::size_t s, const std::vector<Tensor>& outputs) { return passed = check(s, outputs); });
    return passed;
  }

  std::optional<Float32Run> run_float32(const std::vector<std::string>& names) override {
    Config plain;  // nothing rounded anywhere: the float32 model itself
    plain.store.assign(slot_value_.size(), Rounding::None);
    plain.read.resize(plan_->nodes.size());
    for (std::size_t k = 0; k < plan_->nodes.size(); ++k) plain.read[k].assign(plan_->nodes[k].inputs.size(), Rounding::None);
    plain.float16_outputs.assign(plan_->output_slots.size(), false);
    Float32Run run;
    run.outputs = run_config(std::move(plain));
    std::map<std::string, int> slot_of;
    for (std::size_t slot = 0; slot < plan_->slot_names.size(); ++slot) slot_of[plan_->slot_names[slot]] = static_cast<int>(slot);
    for (const auto& slots : last_slots_) {
      std::map<std::string, Tensor> values;
      for (const auto& name : names) {
        if (auto it = slot_of.find(name); it != slot_of.end() && slots[it->second].defined()) values[name] = slots[it->second];
      }
      run.values.push_back(std::move(values));
    }
    accept_last();
    return run;
  }

  const char* name() const override { return "incremental"; }

  void accept_last() override {
    if (!last_complete_) throw Error("internal: accepting a run that stopped before its last sample");
    base_config_ = last_config_;
    base_slots_ = last_slots_;
    has_base_ = true;
  }

 private:
  // Runs every sample (or, with `check`, until it refuses one: the state is then incomplete
  // and must not be accepted, which the search never does for a failed attempt).
  std::vector<std::vector<Tensor>> run_config(Config config, const SampleCheck& check = nullptr) {
    runtime::math::use_blas_threads(threads_);
    std::vector<std::vector<Tensor>> outputs;
    last_slots_.assign(inputs_.size(), {});
    last_complete_ = false;
    for (std::size_t s = 0; s < inputs_.size(); ++s) {
      last_slots_[s] = run_sample(config, s);
      std::vector<Tensor> sample_outputs;
      for (std::size_t o = 0; o < plan_->output_slots.size(); ++o) {
        // A float16 graph output of the converted model (its producer's value, or the Cast the
        // conversion adds for a float32 producer): rounding is the cast.
        const Tensor& value = last_slots_[s][plan_->output_slots[o]];
        sample_outputs.push_back(config.float16_outputs[o] ? runtime::cast_tensor(value, onnx::TensorProto::FLOAT16) : value);
      }
      outputs.push_back(std::move(sample_outputs));
      ++stats_.runs;
      if (check && !check(s, outputs.back())) {
        last_config_ = std::move(config);
        return outputs;
      }
    }
    last_complete_ = true;
    last_config_ = std::move(config);
    return outputs;
  }

  Config make_config() const {
    const convert::Context& ctx = analysis_.context();
    const convert::Plan& plan = analysis_.plan();
    const graph::GraphIndex& index = analysis_.index();
    Config config;
    config.store.assign(slot_value_.size(), Rounding::None);
    for (std::size_t slot = 0; slot < slot_value_.size(); ++slot) {
      const graph::ValueId v = slot_value_[slot];
      if (v == graph::kNone || plan.values[v].produced != ctx.target) continue;
      const graph::Value& value = index.value(v);
      const bool constant = value.kind == graph::ValueKind::Initializer ||
                            (value.kind == graph::ValueKind::NodeOutput && is_constant_producer(ctx.proto(value.producer)));
      config.store[slot] = constant ? Rounding::ClampRound : Rounding::Round;
    }
    const auto& output_precision = plan.output_precision[graph::GraphIndex::main_scope()];
    for (std::size_t o = 0; o < plan_->output_slots.size(); ++o) {
      config.float16_outputs.push_back(o < output_precision.size() && output_precision[o] == ctx.target);
    }
    config.read.resize(plan_->nodes.size());
    for (std::size_t k = 0; k < plan_->nodes.size(); ++k) {
      const graph::NodeId n = step_node_[k];
      const auto& inputs = index.node(n).inputs;
      config.read[k].assign(inputs.size(), Rounding::None);
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const graph::ValueId v = inputs[i];
        if (v == graph::kNone) continue;
        if (convert::input_want(ctx, n, static_cast<int>(i)) != convert::Want::Target) continue;
        if (plan.values[v].produced == ctx.target) continue;  // already stored as float16
        config.read[k][i] = plan.values[v].alt_is_constant_copy ? Rounding::ClampRound : Rounding::Round;
      }
    }
    return config;
  }

  bool store_changed(const Config& config, int slot) const {
    return !has_base_ || config.store[slot] != base_config_.store[slot];
  }

  // A constant in a given rounding, computed once.
  const Tensor& constant_as(int slot, Rounding rounding) {
    Tensor& cached = rounded_constants_[{slot, rounding}];
    if (!cached.defined()) cached = apply_rounding(constants_.at(slot), rounding, clamp_);
    return cached;
  }

  std::vector<Tensor> run_sample(const Config& config, std::size_t s) {
    const std::vector<Tensor>* base = has_base_ ? &base_slots_[s] : nullptr;
    std::vector<Tensor> slots = base ? *base : std::vector<Tensor>(plan_->slot_names.size());
    std::vector<bool> changed(slots.size(), !has_base_);
    for (const auto& [slot, tensor] : constants_) {
      if (store_changed(config, slot)) {
        slots[slot] = constant_as(slot, config.store[slot]);
        changed[slot] = true;
      }
    }
    for (std::size_t i = 0; i < plan_->input_slots.size(); ++i) {
      const int slot = plan_->input_slots[i];
      if (inputs_[s][i].defined() && store_changed(config, slot)) {
        slots[slot] = apply_rounding(inputs_[s][i], config.store[slot], clamp_);
        changed[slot] = true;
      }
    }
    for (std::size_t k = 0; k < plan_->nodes.size(); ++k) {
      const runtime::CompiledNode& node = plan_->nodes[k];
      if (has_base_ && !needs_run(config, k, changed)) continue;
      std::vector<Tensor> held(node.inputs.size());
      std::vector<const Tensor*> inputs(node.inputs.size(), nullptr);
      for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const int slot = node.inputs[i];
        if (slot == runtime::kNoSlot) continue;
        const Rounding rounding = config.read[k][i];
        if (rounding != Rounding::None && constants_.count(slot) && config.store[slot] == Rounding::None) {
          held[i] = constant_as(slot, rounding);
        } else {
          held[i] = apply_rounding(slots[slot], rounding, clamp_);
        }
        if (!held[i].defined()) throw Error(node.label + ": input '" + plan_->slot_names[slot] + "' has no value");
        inputs[i] = &held[i];
      }
      std::vector<Tensor> outputs(node.outputs.size());
      runtime::KernelContext context({.node = node.proto,
                                      .opset = node.opset,
                                      .inputs = std::move(inputs),
                                      .outputs = &outputs,
                                      .attribute_tensors = &node.attribute_tensors,
                                      .subgraphs = nullptr,
                                      .threads = threads_});
      try {
        (*node.kernel)(context);
      } catch (const std::exception& e) {
        throw Error(node.label + ": " + e.what());
      }
      ++stats_.nodes_evaluated;
      for (std::size_t j = 0; j < node.outputs.size(); ++j) {
        const int slot = node.outputs[j];
        if (slot == runtime::kNoSlot) continue;
        if (!outputs[j].defined()) throw Error(node.label + ": the kernel did not produce output " + std::to_string(j));
        Tensor value = apply_rounding(outputs[j], config.store[slot], clamp_);
        if (base && same_bits(value, (*base)[slot])) {
          slots[slot] = (*base)[slot];  // same numbers: readers need not run again
        } else {
          slots[slot] = std::move(value);
          changed[slot] = true;
        }
      }
    }
    return slots;
  }

  bool needs_run(const Config& config, std::size_t k, const std::vector<bool>& changed) const {
    const runtime::CompiledNode& node = plan_->nodes[k];
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const int slot = node.inputs[i];
      if (slot == runtime::kNoSlot) continue;
      if (changed[slot] || config.read[k][i] != base_config_.read[k][i]) return true;
    }
    for (const int slot : node.outputs) {
      if (slot != runtime::kNoSlot && store_changed(config, slot)) return true;
    }
    return false;
  }

  ConversionAnalysis& analysis_;
  int threads_;
  half::ClampRule clamp_;
  std::unique_ptr<runtime::GraphPlan> plan_;
  std::vector<graph::ValueId> slot_value_;  // by slot: the value in the analysis's index
  std::vector<graph::NodeId> step_node_;    // by step: the node in the analysis's index
  std::map<int, Tensor> constants_;         // by slot: initializers as loaded
  std::map<std::pair<int, Rounding>, Tensor> rounded_constants_;
  std::vector<std::vector<Tensor>> inputs_;  // by sample, by graph input

  bool has_base_ = false;
  Config base_config_;
  std::vector<std::vector<Tensor>> base_slots_;  // by sample: every value of the accepted state
  Config last_config_;
  std::vector<std::vector<Tensor>> last_slots_;
  bool last_complete_ = false;
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

std::unique_ptr<CandidateEngine> make_incremental_engine(ConversionAnalysis& analysis, const std::vector<Feeds>& samples,
                                                         int threads) {
  return std::make_unique<IncrementalEngine>(analysis, samples, threads);
}

}  // namespace onnx_fp16::mixed
