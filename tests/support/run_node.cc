#include "support/run_node.h"

#include <onnx_fp16/evaluator.h>

#include "modelgen/builder.h"

namespace test_support {

std::map<std::string, onnx_fp16::Tensor> run_node(const std::string& op, const std::vector<NodeInput>& inputs,
                                                  const std::vector<std::string>& outputs,
                                                  const std::function<void(onnx::NodeProto&)>& attributes, int opset,
                                                  const std::string& domain, int threads) {
  auto model = modelgen::make_model(domain.empty() ? opset : 17);
  if (!domain.empty()) modelgen::add_opset(model, domain, opset);
  modelgen::GraphBuilder g(model.mutable_graph());
  std::vector<std::string> names;
  std::map<std::string, onnx_fp16::Tensor> feeds;
  for (const auto& input : inputs) {
    names.push_back(input.value.defined() ? input.name : "");
    if (!input.value.defined()) continue;
    std::vector<modelgen::Dim> dims(input.value.shape().begin(), input.value.shape().end());
    g.input(input.name, input.value.dtype(), dims);
    feeds[input.name] = input.value;
  }
  for (const auto& name : outputs) {
    if (!name.empty()) g.output_untyped(name);
  }
  auto& node = g.node(op, names, outputs, "n", domain);
  if (attributes) attributes(node);
  return onnx_fp16::Evaluator(model, {.threads = threads, .keep = {}}).run(feeds);
}

onnx_fp16::Tensor int8_or_uint8(bool int8, onnx_fp16::Shape shape, const std::vector<int>& values) {
  if (int8) return onnx_fp16::Tensor::from_vector<std::int8_t>(std::move(shape), std::vector<std::int8_t>(values.begin(), values.end()));
  return onnx_fp16::Tensor::from_vector<std::uint8_t>(std::move(shape), std::vector<std::uint8_t>(values.begin(), values.end()));
}

}  // namespace test_support
