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

}  // namespace test_support
