#include "options.h"

#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

namespace onnx_fp16::python {
namespace py = pybind11;

namespace {

template <typename T>
T get(const py::dict& options, const char* key) {
  return options[key].cast<T>();
}

template <typename T>
std::optional<T> get_optional(const py::dict& options, const char* key) {
  const py::object value = options[key];
  if (value.is_none()) return std::nullopt;
  return value.cast<T>();
}

}  // namespace

Float16Options float16_options(const py::dict& options) {
  Float16Options result;
  result.target = get<std::string>(options, "target") == "bfloat16" ? TargetType::BFloat16 : TargetType::Float16;
  result.min_positive_val = get<float>(options, "min_positive_val");
  result.max_finite_val = get<float>(options, "max_finite_val");
  result.keep_io_types = get<bool>(options, "keep_io_types");
  result.keep_io_names = get<std::vector<std::string>>(options, "keep_io_names");
  result.disable_shape_infer = get<bool>(options, "disable_shape_infer");
  result.op_block_list = get_optional<std::vector<std::string>>(options, "op_block_list");
  result.node_block_list = get<std::vector<std::string>>(options, "node_block_list");
  result.force = get<bool>(options, "force");
  return result;
}

MixedOptions mixed_options(const py::dict& options) {
  MixedOptions result;
  result.conversion = float16_options(options["conversion"].cast<py::dict>());
  result.keep_io_types = result.conversion.keep_io_types;
  result.rtol = get_optional<double>(options, "rtol");
  result.atol = get_optional<double>(options, "atol");
  result.strategy = get<std::string>(options, "strategy") == "baseline" ? SearchStrategy::Baseline : SearchStrategy::Improved;
  result.search = get<bool>(options, "search");
  result.data_max = get_optional<double>(options, "data_max");
  result.init_max = get_optional<double>(options, "init_max");
  result.keep_ops = get<std::vector<std::string>>(options, "keep_ops");
  result.keep_node_pattern = get<std::string>(options, "keep_node_pattern");
  result.float16_variants = get<int>(options, "float16_variants");
  result.variant_spread = get<double>(options, "variant_spread");
  result.spread_safety = get<double>(options, "spread_safety");
  result.holdout_variants = get_optional<int>(options, "holdout_variants");
  result.sensitivity_budget = get<double>(options, "sensitivity_budget");
  result.search_budget = get<double>(options, "search_budget");
  result.skip_predicted_failures = get<bool>(options, "skip_predicted_failures");
  result.threads = get<int>(options, "threads");
  return result;
}

}  // namespace onnx_fp16::python
