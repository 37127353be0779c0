#include "runtime/feed_validation.h"

#include <algorithm>
#include <unordered_set>

#include "onnx_fp16/error.h"

namespace onnx_fp16::runtime {

std::vector<InputInfo> describe_inputs(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> initializers;
  for (const auto& initializer : graph.initializer()) initializers.insert(initializer.name());
  std::vector<InputInfo> inputs;
  for (const auto& value : graph.input()) {
    InputInfo info;
    info.name = value.name();
    info.has_default = initializers.contains(value.name());
    if (value.has_type()) {
      if (!value.type().has_tensor_type()) {
        throw Error("unsupported input type: input '" + value.name() +
                    "' is not a tensor (sequence, map and optional values are not supported)");
      }
      const auto& tensor_type = value.type().tensor_type();
      info.type = static_cast<DataType>(tensor_type.elem_type());
      if (tensor_type.has_shape()) {
        info.has_shape = true;
        for (const auto& dim : tensor_type.shape().dim()) {
          info.dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
          info.dim_names.push_back(dim.has_dim_param() ? dim.dim_param() : std::string());
        }
      }
    }
    inputs.push_back(std::move(info));
  }
  return inputs;
}

namespace {

std::string expected_shape(const InputInfo& input) {
  if (!input.has_shape) return "(any shape)";
  std::string text = "[";
  for (std::size_t d = 0; d < input.dims.size(); ++d) {
    if (d > 0) text += ",";
    if (input.dims[d] >= 0) {
      text += std::to_string(input.dims[d]);
    } else {
      text += input.dim_names[d].empty() ? "?" : input.dim_names[d];
    }
  }
  return text + "]";
}

// Empty when `feed` fits `input`, else what is wrong with it.
std::string problem_with(const InputInfo& input, const Tensor& feed) {
  const std::string expected = "expected " + describe_expected(input);
  if (!feed.defined()) return "input '" + input.name + "' has no value; " + expected;
  if (input.type != onnx::TensorProto::UNDEFINED && feed.dtype() != input.type) {
    return "input '" + input.name + "' is " + data_type_name(feed.dtype()) + " " + shape_to_string(feed.shape()) +
           ", " + expected;
  }
  if (!input.has_shape) return {};
  if (feed.rank() != input.dims.size()) {
    return "input '" + input.name + "' has shape " + shape_to_string(feed.shape()) + " (rank " +
           std::to_string(feed.rank()) + "), " + expected + " (rank " + std::to_string(input.dims.size()) + ")";
  }
  for (std::size_t d = 0; d < input.dims.size(); ++d) {
    if (input.dims[d] >= 0 && feed.shape()[d] != input.dims[d]) {
      return "input '" + input.name + "' has shape " + shape_to_string(feed.shape()) + ", " + expected +
             " (dimension " + std::to_string(d) + " must be " + std::to_string(input.dims[d]) + ")";
    }
  }
  return {};
}

std::string input_names(const std::vector<InputInfo>& inputs) {
  std::string text;
  for (const auto& input : inputs) text += (text.empty() ? "" : ", ") + input.name;
  return text.empty() ? "(none)" : text;
}

}  // namespace

std::string describe_expected(const InputInfo& input) {
  const std::string type = input.type == onnx::TensorProto::UNDEFINED ? "a tensor" : data_type_name(input.type);
  return type + " " + expected_shape(input);
}

void validate_feeds(const std::vector<InputInfo>& inputs, const std::map<std::string, Tensor>& feeds) {
  std::vector<std::string> problems;
  for (const auto& feed : feeds) {
    const std::string& name = feed.first;  // a plain reference: clang 14 cannot capture a structured binding
    const bool known = std::any_of(inputs.begin(), inputs.end(), [&](const InputInfo& i) { return i.name == name; });
    if (!known) problems.push_back("unknown input '" + name + "' (the model's inputs are " + input_names(inputs) + ")");
  }
  for (const auto& input : inputs) {
    const auto feed = feeds.find(input.name);
    if (feed == feeds.end()) {
      if (!input.has_default) problems.push_back("missing input '" + input.name + "' (" + describe_expected(input) + ")");
      continue;
    }
    if (auto problem = problem_with(input, feed->second); !problem.empty()) problems.push_back(std::move(problem));
  }
  if (problems.empty()) return;
  std::string message = problems.front();
  for (std::size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i];
  throw Error(message);
}

}  // namespace onnx_fp16::runtime
