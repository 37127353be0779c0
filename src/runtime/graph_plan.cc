#include "runtime/graph_plan.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "graph/domain.h"
#include "graph/node_label.h"
#include "graph/topological_order.h"
#include "io/streamed_model.h"
#include "onnx_fp16/error.h"
#include "runtime/parallel.h"
#include "tensor/raw_data.h"

namespace onnx_fp16::runtime {

namespace {

// The names one graph defines, and lexical lookup through the enclosing graphs: a name that
// an enclosing graph defines becomes a capture of this one on first read.
class Scope {
 public:
  Scope(GraphPlan& plan, Scope* parent) : plan_(plan), parent_(parent) {}

  int define(const std::string& name, bool produced_by_node) {
    if (slots_.contains(name)) throw Error(plan_.label + " defines '" + name + "' twice");
    const int slot = static_cast<int>(plan_.slot_names.size());
    plan_.slot_names.push_back(name);
    plan_.produced_by_node.push_back(produced_by_node);
    slots_.emplace(name, slot);
    return slot;
  }
  int find_local(const std::string& name) const {
    const auto it = slots_.find(name);
    return it == slots_.end() ? kNoSlot : it->second;
  }
  // The slot `name` refers to when read here, or kNoSlot when no enclosing graph defines it.
  int resolve(const std::string& name) {
    if (const int local = find_local(name); local != kNoSlot) return local;
    if (parent_ == nullptr) return kNoSlot;
    const int outer = parent_->resolve(name);
    if (outer == kNoSlot) return kNoSlot;
    const int slot = define(name, false);
    plan_.captures.emplace_back(slot, outer);
    return slot;
  }

 private:
  GraphPlan& plan_;
  Scope* parent_;
  std::unordered_map<std::string, int> slots_;
};

class Compiler {
 public:
  explicit Compiler(const PlanOptions& options) : options_(options) {}

  std::unique_ptr<GraphPlan> compile(const onnx::GraphProto& graph, std::string label, Scope* parent,
                                     const std::vector<std::string>& keep, const FlatNodes* flat = nullptr) {
    auto plan = std::make_unique<GraphPlan>();
    plan->label = std::move(label);
    Scope scope(*plan, parent);
    if (graph.sparse_initializer_size() > 0) throw Error(plan->label + ": sparse initializers are not supported");
    for (const auto& input : graph.input()) plan->input_slots.push_back(scope.define(input.name(), false));
    std::vector<std::pair<int, Tensor>> constants;
    std::vector<const onnx::TensorProto*> initializers;
    for (const auto& initializer : graph.initializer()) initializers.push_back(&initializer);
    if (flat != nullptr) {
      for (const onnx::GraphProto* more : flat->initializer_graphs) {
        for (const auto& initializer : more->initializer()) initializers.push_back(&initializer);
      }
    }
    for (const onnx::TensorProto* initializer_proto : initializers) {
      const onnx::TensorProto& initializer = *initializer_proto;
      int slot = scope.find_local(initializer.name());
      const bool is_input_default = slot != kNoSlot &&
                                    std::find(plan->input_slots.begin(), plan->input_slots.end(), slot) !=
                                        plan->input_slots.end();
      if (!is_input_default) slot = scope.define(initializer.name(), false);
      const std::string context = plan->label + ": initializer '" + initializer.name() + "'";
      if (parent == nullptr) main_initializers_.emplace_back(&initializer, slot);
      if (options_.loaded != nullptr) {
        if (const auto it = options_.loaded->find(&initializer); it != options_.loaded->end()) {
          constants.emplace_back(slot, it->second);
          continue;
        }
      }
      try {
        constants.emplace_back(slot, initializer_tensor(initializer, context));
      } catch (const Error& e) {
        throw Error(context + ": " + e.what());
      }
    }
    std::vector<onnx::NodeProto*> nodes;  // read only
    if (flat != nullptr) {
      for (const onnx::NodeProto* node : flat->nodes) nodes.push_back(const_cast<onnx::NodeProto*>(node));
    } else {
      for (const auto& node : graph.node()) nodes.push_back(const_cast<onnx::NodeProto*>(&node));
    }
    for (const auto* node : nodes) {
      for (const auto& output : node->output()) {
        if (!output.empty()) scope.define(output, true);
      }
    }

    // Nodes in order; each input must be defined before it is read.
    std::vector<bool> available(plan->slot_names.size(), false);
    for (const int slot : plan->input_slots) available[slot] = true;
    for (const auto& [slot, tensor] : constants) available[slot] = true;
    auto mark_available = [&](int slot) {
      if (static_cast<std::size_t>(slot) >= available.size()) available.resize(slot + 1, false);
      available[slot] = true;
    };
    auto require_available = [&](int slot, const std::string& reader) {
      if (static_cast<std::size_t>(slot) < available.size() && available[slot]) return;
      if (static_cast<std::size_t>(slot) < plan->produced_by_node.size() && !plan->produced_by_node[slot]) return;  // capture
      throw Error(reader + " reads '" + plan->slot_names[slot] + "' before it is computed (the graph has a cycle)");
    };

    for (const std::size_t position : graph::stable_topological_order(nodes)) {
      const onnx::NodeProto& proto = *nodes[position];
      CompiledNode node;
      node.proto = &proto;
      node.label = graph::describe_node(proto, static_cast<int>(position));
      resolve_kernel(proto, node);
      for (const auto& attribute : proto.attribute()) {
        if (attribute.has_t() || attribute.type() == onnx::AttributeProto::TENSOR) {
          const std::string context = node.label + ": attribute '" + attribute.name() + "'";
          try {
            node.attribute_tensors.emplace(attribute.name(), initializer_tensor(attribute.t(), context));
          } catch (const Error& e) {
            throw Error(context + ": " + e.what());
          }
        }
        if (attribute.has_g()) {
          auto subgraph = compile(attribute.g(), node.label + " " + attribute.name(), &scope, {});
          for (const auto& [inner, outer] : subgraph->captures) require_available(outer, node.label);
          node.subgraphs.emplace(attribute.name(), std::move(subgraph));
        }
      }
      for (const auto& input : proto.input()) {
        if (input.empty()) {
          node.inputs.push_back(kNoSlot);
          continue;
        }
        const int slot = scope.resolve(input);
        if (slot == kNoSlot) throw Error(node.label + " reads '" + input + "', which nothing defines");
        require_available(slot, node.label);
        node.inputs.push_back(slot);
      }
      for (const auto& output : proto.output()) {
        const int slot = output.empty() ? kNoSlot : scope.find_local(output);
        if (slot != kNoSlot) mark_available(slot);
        node.outputs.push_back(slot);
      }
      plan->nodes.push_back(std::move(node));
    }

    for (const auto& output : graph.output()) {
      const int slot = scope.resolve(output.name());
      if (slot == kNoSlot) throw Error(plan->label + " outputs '" + output.name() + "', which nothing defines");
      plan->output_slots.push_back(slot);
    }
    std::vector<int> pinned = plan->output_slots;
    for (const auto& name : keep) {
      const int slot = scope.find_local(name);
      if (slot == kNoSlot) throw Error("cannot keep '" + name + "': the main graph has no value of that name");
      pinned.push_back(slot);
    }
    // Initializers no node reads are dropped; so are their bytes still to be read (they would
    // land in freed memory), before those buffers can go to other tensors.
    const std::vector<Tensor> unread = plan_releases(*plan, std::move(constants), pinned);
    std::erase_if(pending_, [&](const PendingRead& read) {
      return std::any_of(unread.begin(), unread.end(), [&](const Tensor& tensor) {
        return tensor.size() > 0 && tensor.bytes().data() == read.destination.data();
      });
    });
    return plan;
  }

 private:
  void resolve_kernel(const onnx::NodeProto& proto, CompiledNode& node) const {
    const std::string domain = graph::canonical_domain(proto.domain());
    const auto opset = options_.opsets.find(domain);
    if (opset == options_.opsets.end()) {
      throw Error(node.label + " uses domain '" + graph::domain_label(domain) + "', which the model does not import");
    }
    node.opset = opset->second;
    node.kernel = options_.registry->find(domain, proto.op_type(), node.opset);
    if (node.kernel == nullptr) {
      const std::string name = proto.name().empty() ? node.label : proto.name();
      throw Error("unsupported operator " + graph::domain_label(domain) + "::" + proto.op_type() + " (opset " +
                  std::to_string(node.opset) + ") at node '" + name + "'");
    }
    node.reads_rounded.resize(static_cast<std::size_t>(proto.input_size()));
    for (int i = 0; i < proto.input_size(); ++i) {
      node.reads_rounded[static_cast<std::size_t>(i)] = options_.registry->reads_rounded(domain, proto.op_type(), i);
    }
  }

  // Frees every value after its last reader: a node that reads it, directly or from inside one
  // of its subgraphs (their captures). Graph outputs and kept values are never freed; a value
  // nobody reads is freed right after the node that produces it.
  // Returns the constants no node reads (dropped from the plan).
  static std::vector<Tensor> plan_releases(GraphPlan& plan, std::vector<std::pair<int, Tensor>> constants,
                                           const std::vector<int>& pinned) {
    const std::size_t slots = plan.slot_names.size();
    std::vector<int> last_reader(slots, kNoSlot);
    std::vector<int> producer(slots, kNoSlot);
    for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
      const auto& node = plan.nodes[i];
      for (const int slot : node.inputs) {
        if (slot != kNoSlot) last_reader[slot] = static_cast<int>(i);
      }
      for (const auto& [name, subgraph] : node.subgraphs) {
        for (const auto& [inner, outer] : subgraph->captures) last_reader[outer] = static_cast<int>(i);
      }
      for (const int slot : node.outputs) {
        if (slot != kNoSlot) producer[slot] = static_cast<int>(i);
      }
    }
    std::vector<bool> is_pinned(slots, false);
    for (const int slot : pinned) is_pinned[slot] = true;
    // Captures are read by the enclosing node for as long as this graph runs: never freed here
    // before the end, but they hold no memory of their own (the outer tensor's buffer).
    for (std::size_t slot = 0; slot < slots; ++slot) {
      if (is_pinned[slot]) continue;
      if (last_reader[slot] != kNoSlot) {
        plan.nodes[last_reader[slot]].release_after.push_back(static_cast<int>(slot));
      } else if (producer[slot] != kNoSlot) {
        plan.nodes[producer[slot]].release_after.push_back(static_cast<int>(slot));
      } else if (std::find(plan.input_slots.begin(), plan.input_slots.end(), static_cast<int>(slot)) !=
                 plan.input_slots.end()) {
        plan.release_at_start.push_back(static_cast<int>(slot));
      }
    }
    plan.constant_slots.assign(slots, false);
    std::vector<Tensor> unread;
    for (auto& [slot, tensor] : constants) {
      if (is_pinned[slot] || last_reader[slot] != kNoSlot) {
        plan.constants.emplace_back(slot, std::move(tensor));
        plan.constant_slots[slot] = true;
      } else {
        unread.push_back(std::move(tensor));
      }
    }
    return unread;
  }

  // An initializer's or a tensor attribute's values. A streamed model's wait in their file, and
  // large raw_data in the model is copied later too: the tensor comes back allocated, its bytes
  // read or copied by read_deferred() once the whole graph is compiled (`context` names it in a
  // read error). The graph being compiled outlives that.
  Tensor initializer_tensor(const onnx::TensorProto& initializer, const std::string& context) {
    constexpr std::size_t kCopyLaterBytes = std::size_t{64} << 10;
    if (!io::is_deferred(initializer)) {
      std::optional<Tensor> tensor;
      if (initializer.raw_data().size() >= kCopyLaterBytes) tensor = tensor_detail::allocate_for_raw_data(initializer);
      if (!tensor) return Tensor::from_proto(initializer);
      pending_.push_back({{}, initializer.raw_data().data(), tensor->mutable_bytes(), context});
      return *tensor;
    }
    if (!options_.payloads) throw Error("its data was left in a file that is not open (internal)");
    const io::DeferredPayload payload = io::deferred_payload(initializer);
    Tensor tensor = io::allocate_deferred_tensor(initializer, payload);
    // Taken while the tensor is its buffer's only owner: the plan's copies share the buffer
    // and nothing reads it before read_deferred() has filled it.
    pending_.push_back({payload, nullptr, tensor.mutable_bytes(), context});
    return tensor;
  }

 public:
  // Adds the main graph's initializers the plan kept (read, not dropped as unread) to `loaded`.
  void share_loaded(const GraphPlan& plan, LoadedInitializers& loaded) const {
    std::unordered_map<int, const Tensor*> by_slot;
    for (const auto& [slot, tensor] : plan.constants) by_slot.emplace(slot, &tensor);
    for (const auto& [initializer, slot] : main_initializers_) {
      if (const auto it = by_slot.find(slot); it != by_slot.end()) loaded.try_emplace(initializer, *it->second);
    }
  }

  // Reads every deferred tensor's bytes and copies every large raw_data, in parts of kPartBytes
  // spread over options_.threads (each range of parts with a streamer of its own: converted
  // weights pass through its staging block). A read error names the first tensor, in graph
  // order, that failed.
  void read_deferred() {
    constexpr std::uint64_t kPartBytes = std::uint64_t{4} << 20;  // even: never splits a saved value
    struct Part {
      std::size_t pending;
      std::uint64_t first;
      std::size_t bytes;
    };
    std::vector<Part> parts;
    for (std::size_t t = 0; t < pending_.size(); ++t) {
      const std::uint64_t size = pending_[t].destination.size();
      for (std::uint64_t first = 0; first < size; first += kPartBytes) {
        parts.push_back({t, first, static_cast<std::size_t>(std::min(kPartBytes, size - first))});
      }
    }
    std::vector<std::optional<std::string>> errors(parts.size());
    parallel_for(std::max(1, options_.threads), parts.size(), 1, [&](std::size_t begin, std::size_t end) {
      // Deferred reads were queued only with payloads to read them from (initializer_tensor).
      std::optional<io::PayloadStreamer> streamer;
      if (options_.payloads != nullptr) streamer.emplace(*options_.payloads);
      for (std::size_t p = begin; p < end; ++p) {
        const Part& part = parts[p];
        const PendingRead& read = pending_[part.pending];
        try {
          if (read.raw_data != nullptr) {
            std::memcpy(read.destination.data() + part.first, read.raw_data + part.first, part.bytes);
          } else {
            streamer->read_part(read.payload, part.first, read.destination.subspan(part.first, part.bytes));
          }
        } catch (const Error& e) {
          errors[p] = read.context + ": " + e.what();
        }
      }
    });
    pending_.clear();
    for (const auto& error : errors) {
      if (error) throw Error(*error);
    }
  }

 private:
  struct PendingRead {
    io::DeferredPayload payload;  // where a deferred tensor's bytes are
    const char* raw_data;         // or the raw_data to copy
    std::span<std::byte> destination;
    std::string context;
  };

  const PlanOptions& options_;
  std::vector<PendingRead> pending_;
  std::vector<std::pair<const onnx::TensorProto*, int>> main_initializers_;  // with their slots
};

}  // namespace

std::unique_ptr<GraphPlan> compile_main_graph(const onnx::GraphProto& graph, const PlanOptions& options,
                                              const FlatNodes* flat) {
  Compiler compiler(options);
  std::unique_ptr<GraphPlan> plan = compiler.compile(graph, "main graph", nullptr, options.keep, flat);
  compiler.read_deferred();
  if (options.loaded != nullptr) compiler.share_loaded(*plan, *options.loaded);
  return plan;
}

namespace {

// What a kernel of `node` sees: its inputs, its outputs' places, its node's constants.
KernelContext::Parts context_parts(const CompiledNode& node, const GraphPlan& plan, std::vector<const Tensor*> inputs,
                                   std::vector<Tensor>& outputs, const NodeRunOptions& options) {
  return {.node = node.proto,
          .opset = node.opset,
          .inputs = std::move(inputs),
          .outputs = &outputs,
          .attribute_tensors = &node.attribute_tensors,
          .subgraphs = options.subgraphs,
          .threads = options.threads,
          .max_loop_iterations = options.max_loop_iterations,
          .derived = node.derived.get(),
          .input_slots = &node.inputs,
          .constant_slots = &plan.constant_slots};
}

}  // namespace

std::vector<Tensor> run_compiled_node(const CompiledNode& node, const GraphPlan& plan, std::vector<const Tensor*> inputs,
                                      const NodeRunOptions& options) {
  std::vector<Tensor> outputs(node.outputs.size());
  // Inputs to read rounded: the kernel's own reading where it does it, a rounded copy otherwise.
  std::vector<ReadRounding> kernel_rounding;
  std::vector<Tensor> rounded_copies;
  for (std::size_t i = 0; i < options.read_rounding.size() && i < inputs.size(); ++i) {
    if (!options.read_rounding[i].rounds() || inputs[i] == nullptr || inputs[i]->dtype() != onnx::TensorProto::FLOAT) continue;
    if (i < node.reads_rounded.size() && node.reads_rounded[i]) {
      kernel_rounding.resize(inputs.size());
      kernel_rounding[i] = options.read_rounding[i];
    } else {
      rounded_copies.reserve(inputs.size());  // no reallocation: the pointers below stay valid
      rounded_copies.push_back(rounded_for_reading(*inputs[i], options.read_rounding[i], options.threads));
      inputs[i] = &rounded_copies.back();
    }
  }
  KernelContext::Parts parts = context_parts(node, plan, std::move(inputs), outputs, options);
  parts.read_rounding = std::move(kernel_rounding);
  KernelContext context(std::move(parts));
  try {
    (*node.kernel)(context);
  } catch (const std::exception& e) {
    throw Error(node.label + ": " + e.what());
  }
  for (std::size_t i = 0; i < node.outputs.size(); ++i) {
    const int slot = node.outputs[i];
    if (slot != kNoSlot && !outputs[i].defined()) {
      throw Error(node.label + ": the kernel did not produce output " + std::to_string(i) + " ('" +
                  plan.slot_names[slot] + "')");
    }
  }
  return outputs;
}

void prepare_constants(const GraphPlan& plan, const KernelRegistry& registry, int threads) {
  std::vector<const Tensor*> constant_of(plan.slot_names.size(), nullptr);
  for (const auto& [slot, tensor] : plan.constants) constant_of[slot] = &tensor;
  for (const CompiledNode& node : plan.nodes) {
    const Kernel* preparer = registry.find_preparer(node.proto->domain(), node.proto->op_type());
    if (preparer == nullptr) continue;
    std::vector<const Tensor*> inputs(node.inputs.size(), nullptr);
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] != kNoSlot) inputs[i] = constant_of[node.inputs[i]];
    }
    std::vector<Tensor> outputs(node.outputs.size());
    KernelContext context(context_parts(node, plan, std::move(inputs), outputs, {.threads = threads}));
    try {
      (*preparer)(context);
    } catch (const std::exception&) {
      // The run computes it again and reports what is wrong with the node.
    }
  }
}

}  // namespace onnx_fp16::runtime
