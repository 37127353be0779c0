#include "types/inference_guards.h"

#include <onnx/defs/shape_inference.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "graph/domain.h"
#include "graph/node_label.h"

namespace onnx_fp16::types {

namespace {

// What an op's inference function relies on without checking it, as ONNX 1.12 has it (each
// found crashing by fuzz_convert or by probing every schema with out-of-range values):
// - `same_rank` >= 0: that input has the rank of input `data` (Conv's family reads kernel sizes
//   from the weights' dims past the second and matches them with per-axis attributes sized by
//   the data's rank; MaxUnpool reads its indices' dims by the data's rank);
// - `axis` named: that attribute (default `axis_default`) lies in [-rank, rank) of input `data`
//   (LayerNormalization sizes its Mean and InvStdDev outputs by it);
// - `data_rank` > 0: input `data` has exactly that rank (STFT reads the signal's dims 1 and 2);
// - `positive_strides`: every value of the `strides` attribute is at least 1 (the shared
//   convolution and pooling inference divides by them: a stride of 0 raised SIGFPE).
struct Guard {
  std::string_view op_type;
  int data = 0;
  int same_rank = -1;
  std::string_view axis;
  std::int64_t axis_default = 0;
  int data_rank = 0;
  bool positive_strides = false;
};
constexpr Guard kGuards[] = {
    {"Conv", 0, 1, {}, 0, 0, true},        {"ConvInteger", 0, 1, {}, 0, 0, true}, {"QLinearConv", 0, 3, {}, 0, 0, true},
    {"ConvTranspose", 0, 1, {}, 0, 0, false}, {"MaxUnpool", 0, 1, {}, 0, 0, false},
    {"MaxPool", 0, -1, {}, 0, 0, true},    {"AveragePool", 0, -1, {}, 0, 0, true}, {"LpPool", 0, -1, {}, 0, 0, true},
    {"LayerNormalization", 0, -1, "axis", -1, 0, false},                          {"STFT", 0, -1, {}, 0, 3, false},
};

// Asked for every node ONNX infers: the op type first, the domain only for a guarded one.
const Guard* find_guard(std::string_view domain, std::string_view op_type) {
  for (const Guard& guard : kGuards) {
    if (guard.op_type != op_type) continue;
    return graph::canonical_domain(std::string(domain)) == graph::canonical_domain("") ? &guard : nullptr;
  }
  return nullptr;
}

// The breach of `guard`'s contract, worded for a message ("reads 'W' of rank 4 with 'X' of
// rank 3: ..."), or "" when it holds or the ranks are unknown. `rank(i)` is input i's
// rank or -1, `name(i)` its name; `axis` and `strides` the attributes' values when the node sets
// them.
template <typename Rank, typename Name>
std::string breach(const Guard& guard, Rank&& rank, Name&& name, std::optional<std::int64_t> axis,
                   const google::protobuf::RepeatedField<std::int64_t>* strides) {
  if (guard.positive_strides && strides != nullptr) {
    for (const std::int64_t stride : *strides) {
      if (stride < 1) {
        return "has a stride of " + std::to_string(stride) + ": " + std::string(guard.op_type) +
               " needs strides of at least 1 (the model is invalid)";
      }
    }
  }
  const int data = rank(guard.data);
  if (data < 0) return "";
  if (guard.data_rank > 0 && data != guard.data_rank) {
    return "reads '" + name(guard.data) + "' of rank " + std::to_string(data) + ": " + std::string(guard.op_type) +
           " needs rank " + std::to_string(guard.data_rank) + " there (the model is invalid)";
  }
  if (guard.same_rank >= 0) {
    const int other = rank(guard.same_rank);
    if (other >= 0 && other != data) {
      return "reads '" + name(guard.same_rank) + "' of rank " + std::to_string(other) + " with '" + name(guard.data) +
             "' of rank " + std::to_string(data) + ": " + std::string(guard.op_type) +
             " needs them of the same rank (the model is invalid)";
    }
  }
  if (!guard.axis.empty()) {
    const std::int64_t value = axis.value_or(guard.axis_default);
    if (value < -data || value >= data) {
      return "has " + std::string(guard.axis) + " " + std::to_string(value) + " for '" + name(guard.data) +
             "' of rank " + std::to_string(data) + ": " + std::string(guard.op_type) + " needs one in [" +
             std::to_string(-data) + ", " + std::to_string(data) + ") (the model is invalid)";
    }
  }
  return "";
}

// The rank of input `i` as inference knows it, or -1.
int input_rank(onnx::InferenceContext& ctx, int i) {
  if (i >= static_cast<int>(ctx.getNumInputs())) return -1;
  const onnx::TypeProto* type = ctx.getInputType(static_cast<std::size_t>(i));
  if (type == nullptr || !type->has_tensor_type() || !type->tensor_type().has_shape()) return -1;
  return type->tensor_type().shape().dim_size();
}

class GuardedRegistry final : public onnx::ISchemaRegistry {
 public:
  const onnx::OpSchema* GetSchema(const std::string& key, const int max_inclusive_version,
                                  const std::string& domain) const override {
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(key, max_inclusive_version, domain);
    const Guard* guard = schema != nullptr ? find_guard(domain, key) : nullptr;
    if (guard == nullptr) return schema;
    const std::lock_guard lock(mutex_);
    std::unique_ptr<onnx::OpSchema>& guarded = guarded_[schema];
    if (!guarded) {
      guarded = std::make_unique<onnx::OpSchema>(*schema);
      const onnx::InferenceFunction inner = schema->GetTypeAndShapeInferenceFunction();
      guarded->TypeAndShapeInferenceFunction([inner, guard](onnx::InferenceContext& ctx) {
        const onnx::AttributeProto* axis = guard->axis.empty() ? nullptr : ctx.getAttribute(std::string(guard->axis));
        const onnx::AttributeProto* strides = ctx.getAttribute("strides");
        const std::string problem = breach(
            *guard, [&](int i) { return input_rank(ctx, i); }, [](int i) { return "input " + std::to_string(i); },
            axis != nullptr ? std::optional<std::int64_t>(axis->i()) : std::nullopt,
            strides != nullptr ? &strides->ints() : nullptr);
        if (!problem.empty()) fail_shape_inference(problem);  // recorded and passed over, not a crash
        if (inner) inner(ctx);
      });
    }
    return guarded.get();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::map<const onnx::OpSchema*, std::unique_ptr<onnx::OpSchema>> guarded_;
};

using Ranks = std::map<std::string, int>;

// The ranks the graphs declare or ONNX inferred for `names` (inputs, value_info, outputs,
// initializers), the innermost graph's last so that its definitions win.
Ranks ranks_of(const std::vector<const onnx::GraphProto*>& scopes, const std::set<std::string>& names) {
  Ranks ranks;
  for (const onnx::GraphProto* graph : scopes) {
    auto add = [&](const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values) {
      for (const auto& value : values) {
        if (names.count(value.name()) && value.type().has_tensor_type() && value.type().tensor_type().has_shape()) {
          ranks[value.name()] = value.type().tensor_type().shape().dim_size();
        }
      }
    };
    add(graph->input());
    add(graph->value_info());
    add(graph->output());
    for (const auto& initializer : graph->initializer()) {
      if (names.count(initializer.name())) ranks[initializer.name()] = initializer.dims_size();
    }
  }
  return ranks;
}

// `scopes`: the enclosing graphs, outermost first, then `graph` itself.
std::string graph_problem(const onnx::GraphProto& graph, std::vector<const onnx::GraphProto*> scopes) {
  scopes.push_back(&graph);
  // Only the guarded nodes' inputs are looked up: most graphs have none, and collecting every
  // value's rank was 5% of converting 16,000 small nodes.
  std::set<std::string> wanted;
  for (const auto& node : graph.node()) {
    if (const Guard* guard = find_guard(node.domain(), node.op_type())) {
      for (const int i : {guard->data, guard->same_rank}) {
        if (i >= 0 && i < node.input_size()) wanted.insert(node.input(i));
      }
    }
  }
  const Ranks ranks = wanted.empty() ? Ranks{} : ranks_of(scopes, wanted);
  for (int position = 0; position < graph.node_size(); ++position) {
    const onnx::NodeProto& node = graph.node(position);
    if (const Guard* guard = find_guard(node.domain(), node.op_type())) {
      auto rank_of = [&](int i) {
        if (i >= node.input_size()) return -1;
        const auto found = ranks.find(node.input(i));
        return found == ranks.end() ? -1 : found->second;
      };
      std::optional<std::int64_t> axis;
      const google::protobuf::RepeatedField<std::int64_t>* strides = nullptr;
      for (const auto& attribute : node.attribute()) {
        if (!guard->axis.empty() && attribute.name() == guard->axis) axis = attribute.i();
        if (attribute.name() == "strides") strides = &attribute.ints();
      }
      const std::string problem = breach(*guard, rank_of, [&](int i) { return node.input(i); }, axis, strides);
      if (!problem.empty()) return graph::describe_node(node, position) + " " + problem;
    }
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_g()) {
        if (std::string problem = graph_problem(attribute.g(), scopes); !problem.empty()) return problem;
      }
      for (const auto& body : attribute.graphs()) {
        if (std::string problem = graph_problem(body, scopes); !problem.empty()) return problem;
      }
    }
  }
  return "";
}

}  // namespace

const onnx::ISchemaRegistry& guarded_schema_registry() {
  static const GuardedRegistry registry;
  return registry;
}

std::string shape_contract_problem(const onnx::ModelProto& model) { return graph_problem(model.graph(), {}); }

}  // namespace onnx_fp16::types
