// The kernel interface: what an op implementation sees of the node it runs.
//
// A kernel is a function `void(KernelContext&)`: it reads its inputs and attributes from the
// context and hands each output to set_output(). It never sees the graph, other nodes, or
// value names; the executor resolves all of that. See docs/evaluator.md, "Adding an op family".
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "runtime/read_rounding.h"
#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

class KernelContext;
using Kernel = std::function<void(KernelContext&)>;

// How a kernel runs one of its node's graph attributes (If/Loop/Scan bodies): the executor
// provides it, with the node's outer scope visible to the subgraph.
class SubgraphRunner {
 public:
  virtual std::vector<Tensor> run(std::string_view attribute, std::vector<Tensor> inputs) const = 0;

 protected:
  ~SubgraphRunner() = default;
};

// What a kernel derived from its node's constant inputs alone (weights packed for its inner
// loop): computed by the first run, or when the model is loaded (KernelRegistry::add_preparer),
// and kept with the compiled node for every later run (KernelContext::from_constants). One per
// compiled node; thread-safe (runs of one Evaluator share it).
struct DerivedFromConstants {
  std::mutex mutex;
  std::vector<Tensor> sources;  // the inputs it was computed from, held: their buffers identify them
  const std::type_info* type = nullptr;
  std::shared_ptr<const void> value;
};

class KernelContext {
 public:
  struct Parts {
    const onnx::NodeProto* node = nullptr;
    int opset = 0;                                  // of the node's domain, as the model imports it
    std::vector<const Tensor*> inputs;              // one per listed input; nullptr where absent
    std::vector<Tensor>* outputs = nullptr;         // one per listed output
    const std::map<std::string, Tensor>* attribute_tensors = nullptr;  // TENSOR attributes, converted once
    const SubgraphRunner* subgraphs = nullptr;
    int threads = 1;
    std::int64_t max_loop_iterations = 0;  // EvaluatorOptions::max_loop_iterations; 0: none
    // The compiled node's cache of from_constants(), its input slots, and by slot whether it
    // holds one of the plan's constants (initializers); nullptr: nothing is cached.
    DerivedFromConstants* derived = nullptr;
    const std::vector<int>* input_slots = nullptr;
    const std::vector<bool>* constant_slots = nullptr;
    // By listed input: how the kernel reads it (read_rounding.h), only for inputs the kernel
    // registered as reading rounded itself; empty: every input as given.
    std::vector<ReadRounding> read_rounding{};
  };
  explicit KernelContext(Parts parts) : parts_(std::move(parts)) {}

  // ---- the node ----
  const onnx::NodeProto& node() const { return *parts_.node; }
  const std::string& op_type() const { return parts_.node->op_type(); }
  // The opset version the model imports for the node's domain: kernels registered for a range
  // of versions branch on it where the versions differ (Clip: attributes before 11, inputs after).
  int opset() const { return parts_.opset; }

  // ---- attributes ----
  // The one-argument getters require the attribute (onnx_fp16::Error when missing); the others
  // return `fallback` when it is missing. An attribute of another type is an error either way.
  bool has_attribute(std::string_view name) const;
  std::int64_t attr_int(std::string_view name) const;
  std::int64_t attr_int(std::string_view name, std::int64_t fallback) const;
  std::vector<std::int64_t> attr_ints(std::string_view name) const;
  std::vector<std::int64_t> attr_ints(std::string_view name, std::vector<std::int64_t> fallback) const;
  float attr_float(std::string_view name) const;
  float attr_float(std::string_view name, float fallback) const;
  std::vector<float> attr_floats(std::string_view name) const;
  std::vector<float> attr_floats(std::string_view name, std::vector<float> fallback) const;
  std::string attr_string(std::string_view name) const;
  std::string attr_string(std::string_view name, std::string fallback) const;
  std::vector<std::string> attr_strings(std::string_view name) const;
  std::vector<std::string> attr_strings(std::string_view name, std::vector<std::string> fallback) const;
  Tensor attr_tensor(std::string_view name) const;  // converted at load time; copying it is cheap
  const onnx::GraphProto& attr_graph(std::string_view name) const;
  // The raw attribute, or nullptr: for the rare kernel that needs more (sparse tensors, ...).
  const onnx::AttributeProto* find_attribute(std::string_view name) const;

  // ---- inputs ----
  // Slots the node lists, including trailing ones it leaves empty ("").
  std::size_t input_count() const { return parts_.inputs.size(); }
  // Whether input i is given: listed and not empty.
  bool has_input(std::size_t i) const { return i < parts_.inputs.size() && parts_.inputs[i] != nullptr; }
  // Input i; onnx_fp16::Error naming the node when it is absent.
  const Tensor& input(std::size_t i) const;
  // Input i, or nullptr when absent (optional inputs).
  const Tensor* optional_input(std::size_t i) const { return has_input(i) ? parts_.inputs[i] : nullptr; }
  // How a kernel registered as reading input i rounded (KernelRegistry::add_rounding_reader) must
  // read it; nullptr: as given. Only such kernels are ever handed a rounding, and must apply it.
  const ReadRounding* input_rounding(std::size_t i) const {
    return i < parts_.read_rounding.size() && parts_.read_rounding[i].rounds() ? &parts_.read_rounding[i] : nullptr;
  }

  // ---- outputs ----
  std::size_t output_count() const { return parts_.outputs->size(); }
  // Whether anyone reads output i (the node names it). A kernel may skip unwanted outputs.
  bool output_wanted(std::size_t i) const;
  // Every wanted output must be set before the kernel returns.
  void set_output(std::size_t i, Tensor value);

  // ---- running ----
  // Runs graph attribute `attribute` with `inputs` bound to its graph inputs in order; returns
  // its graph outputs in order. Names of the enclosing scopes are visible inside.
  std::vector<Tensor> run_subgraph(std::string_view attribute, std::vector<Tensor> inputs) const;
  // Threads the kernel may use (EvaluatorOptions::threads, at least 1).
  int threads() const { return parts_.threads; }
  // The most iterations a Loop may run (EvaluatorOptions::max_loop_iterations); 0: no limit.
  std::int64_t max_loop_iterations() const { return parts_.max_loop_iterations; }

  // Throws onnx_fp16::Error with `message`; the executor prefixes the node's label.
  [[noreturn]] void fail(const std::string& message) const;

  // ---- derived from constants ----
  // make()'s value, which must depend on the listed inputs alone (absent ones included): when
  // each is one of the plan's constants or absent, computed once per compiled node and shared
  // by every later run (and by concurrent runs) while the same tensors come in; otherwise
  // computed afresh. For what a kernel would redo on every run: packing weights.
  // Whether each listed input is one of the plan's constants or absent (what from_constants
  // keeps); a preparer that finds not has nothing to compute.
  bool inputs_are_constant(std::span<const std::size_t> inputs) const;
  template <typename T, typename Make>
  std::shared_ptr<const T> from_constants(std::span<const std::size_t> inputs, Make&& make) const {
    if (parts_.derived == nullptr || parts_.input_slots == nullptr || parts_.constant_slots == nullptr ||
        !inputs_are_constant(inputs)) {
      return std::make_shared<const T>(make());
    }
    DerivedFromConstants& derived = *parts_.derived;
    std::lock_guard lock(derived.mutex);
    if (derived.value != nullptr && derived.type == &typeid(T) && same_sources(inputs, derived.sources)) {
      return std::static_pointer_cast<const T>(derived.value);
    }
    auto value = std::make_shared<const T>(make());
    derived.sources.clear();
    for (const std::size_t i : inputs) derived.sources.push_back(has_input(i) ? *parts_.inputs[i] : Tensor());
    derived.type = &typeid(T);
    derived.value = value;
    return value;
  }

 private:
  const onnx::AttributeProto* attribute_of_type(std::string_view name, onnx::AttributeProto::AttributeType type,
                                                bool required) const;
  bool same_sources(std::span<const std::size_t> inputs, const std::vector<Tensor>& sources) const;

  Parts parts_;
};

}  // namespace onnx_fp16::runtime
