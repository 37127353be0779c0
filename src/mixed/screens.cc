#include "mixed/screens.h"

#include <onnx_fp16/error.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <regex>
#include <set>

#include "half/half.h"
#include "mixed/message_text.h"
#include "runtime/parallel.h"

namespace onnx_fp16::mixed {

namespace {

constexpr double kFloat16Max = 65504.0;
// Nonzero magnitudes at or below half the smallest float16 subnormal (2^-25) round to zero.
constexpr double kFloat16FlushToZero = 2.9802322387695312e-08;

double max_finite_abs(const Tensor& tensor) {
  return static_cast<double>(half::largest_finite_magnitude(tensor.data<float>()));
}

bool is_float32(const ConversionAnalysis& analysis, graph::ValueId v) {
  return v != graph::kNone && analysis.context().is_float32(v);
}

// The node's float32 inputs and outputs, by name, each once.
std::vector<std::pair<std::string, bool>> float_ports(const ConversionAnalysis& analysis, graph::NodeId n) {
  const graph::GraphIndex& index = analysis.index();
  std::vector<std::pair<std::string, bool>> ports;  // (name, is_output)
  for (graph::ValueId v : index.node(n).inputs) {
    if (is_float32(analysis, v)) ports.emplace_back(index.value(v).name, false);
  }
  for (graph::ValueId v : index.node(n).outputs) {
    if (is_float32(analysis, v)) ports.emplace_back(index.value(v).name, true);
  }
  return ports;
}

std::optional<ScreenVerdict> screen_values(const ConversionAnalysis& analysis, graph::NodeId n, const ValueRanges& ranges,
                                           const MixedOptions& options, bool range_screen) {
  for (const auto& [name, is_output] : float_ports(analysis, n)) {
    auto it = ranges.max_abs.find(name);
    if (it == ranges.max_abs.end()) continue;
    const double largest = it->second;
    const std::string what =
        std::string(is_output ? "writes" : "reads") + " '" + name + "' with |x| up to " + message_number(largest);
    if (options.data_max && largest > *options.data_max) {
      return ScreenVerdict{MixedKeepReason::DataMax, what + " > --data-max " + message_number(*options.data_max)};
    }
    if (range_screen && largest > kFloat16Max) {
      return ScreenVerdict{MixedKeepReason::Float16Overflow, what + " > 65504 (float16's largest)"};
    }
    if (range_screen && is_output && largest > 0 && largest <= kFloat16FlushToZero) {
      return ScreenVerdict{MixedKeepReason::Float16Underflow, what + ": all of it rounds to 0 in float16"};
    }
  }
  return std::nullopt;
}

std::optional<ScreenVerdict> screen_initializers(const ConversionAnalysis& analysis, graph::NodeId n, double limit) {
  const graph::GraphIndex& index = analysis.index();
  for (graph::ValueId v : index.node(n).inputs) {
    if (v == graph::kNone || index.value(v).kind != graph::ValueKind::Initializer || !is_float32(analysis, v)) continue;
    const auto& graph = *index.scope(index.value(v).scope).graph;
    const Tensor weights = analysis.initializer_values(graph.initializer(index.value(v).initializer_index));
    const double largest = max_finite_abs(weights);
    if (largest > limit) {
      return ScreenVerdict{MixedKeepReason::InitMax, "reads initializer '" + index.value(v).name + "' with |x| up to " +
                                                         message_number(largest) + " > --init-max " + message_number(limit)};
    }
  }
  return std::nullopt;
}

}  // namespace

ValueRanges measure_ranges(const std::vector<std::map<std::string, Tensor>>& values_per_sample, int threads,
                           const std::map<std::string, double>& known) {
  std::vector<std::pair<const std::string*, const Tensor*>> scanned;
  for (const auto& values : values_per_sample) {
    for (const auto& [name, tensor] : values) {
      if (known.count(name) > 0) continue;
      if (tensor.defined() && tensor.dtype() == onnx::TensorProto::FLOAT) scanned.emplace_back(&name, &tensor);
    }
  }
  // Tensor by tensor over the threads (a maximum is the same in any order).
  std::vector<double> largest(scanned.size());
  runtime::parallel_for(threads, scanned.size(), 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) largest[i] = max_finite_abs(*scanned[i].second);
  });
  ValueRanges ranges;
  for (const auto& [name, largest] : known) ranges.max_abs[name] = largest;
  for (std::size_t i = 0; i < scanned.size(); ++i) {
    double& range = ranges.max_abs[*scanned[i].first];
    range = std::max(range, largest[i]);
  }
  return ranges;
}

std::vector<std::string> screened_value_names(const ConversionAnalysis& analysis, const SearchUnits& units) {
  const graph::GraphIndex& index = analysis.index();
  std::set<std::string> names;
  for (graph::NodeId n : units.nodes) {
    for (const auto& port : float_ports(analysis, n)) {
      const graph::ValueId v = index.find(port.first, index.node(n).scope);
      if (v != graph::kNone && index.value(v).scope == graph::GraphIndex::main_scope()) names.insert(port.first);
    }
  }
  return {names.begin(), names.end()};
}

std::vector<std::optional<ScreenVerdict>> screen_units(const ConversionAnalysis& analysis, const SearchUnits& units,
                                                       const ValueRanges& ranges, const std::vector<bool>& ran,
                                                       const MixedOptions& options, bool range_screen) {
  std::optional<std::regex> node_pattern;
  if (!options.keep_node_pattern.empty()) {
    try {
      node_pattern.emplace(options.keep_node_pattern);
    } catch (const std::regex_error& e) {
      throw Error("--keep-node '" + options.keep_node_pattern + "' is not a valid regular expression: " + e.what());
    }
  }
  const std::set<std::string> keep_ops(options.keep_ops.begin(), options.keep_ops.end());
  std::vector<std::optional<ScreenVerdict>> verdicts(units.size());
  for (std::size_t u = 0; u < units.size(); ++u) {
    const graph::NodeId n = units.nodes[u];
    const onnx::NodeProto& node = *analysis.index().node(n).proto;
    if (keep_ops.count(node.op_type())) {
      verdicts[u] = ScreenVerdict{MixedKeepReason::KeepOp, "op type " + node.op_type() + " is in --keep-op"};
    } else if (node_pattern && std::regex_match(node.name(), *node_pattern)) {
      verdicts[u] = ScreenVerdict{MixedKeepReason::KeepNode, "name matches --keep-node '" + options.keep_node_pattern + "'"};
    } else if (options.init_max) {
      verdicts[u] = screen_initializers(analysis, n, *options.init_max);
    }
    if (!verdicts[u] && !ran.empty() && !ran[n]) {
      verdicts[u] = ScreenVerdict{MixedKeepReason::NotRun,
                                  "no sample runs it (an If branch not taken, a loop body run zero times), so none can "
                                  "check it in float16; samples that reach it let the search decide"};
    }
    if (!verdicts[u]) verdicts[u] = screen_values(analysis, n, ranges, options, range_screen);
  }
  return verdicts;
}

}  // namespace onnx_fp16::mixed
