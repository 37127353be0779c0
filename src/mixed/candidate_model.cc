#include "mixed/candidate_model.h"

#include "convert/pipeline.h"
#include "runtime/tensor_cast.h"

namespace onnx_fp16::mixed {

onnx::ModelProto convert_with_kept(const ConversionAnalysis& analysis, const std::vector<bool>& kept_nodes,
                                   ConversionReport* report) {
  // The copy has the analysed model's structure, so indexing it numbers its nodes the same way.
  onnx::ModelProto model = analysis.model();
  Float16Options options = analysis.options();
  options.disable_shape_infer = true;  // the analysed model had it run already
  ConversionReport result = convert::run_pipeline(model, options, kept_nodes);
  if (report) *report = std::move(result);
  return model;
}

Feeds adapt_feeds(const onnx::ModelProto& model, const Feeds& feeds) {
  Feeds adapted = feeds;
  for (const auto& input : model.graph().input()) {
    if (!input.type().has_tensor_type()) continue;
    const int declared = input.type().tensor_type().elem_type();
    auto it = adapted.find(input.name());
    if (it == adapted.end() || (declared != onnx::TensorProto::FLOAT16 && declared != onnx::TensorProto::BFLOAT16)) continue;
    if (it->second.dtype() == onnx::TensorProto::FLOAT) it->second = runtime::cast_tensor(it->second, static_cast<DataType>(declared));
  }
  return adapted;
}

std::unique_ptr<runtime::Executor> make_evaluator(const ConversionAnalysis& analysis, onnx::ModelProto model,
                                                  const EvaluatorOptions& options) {
  return std::make_unique<runtime::Executor>(std::move(model), options, analysis.payloads());
}

std::vector<Tensor> ordered_outputs(const runtime::Executor& evaluator, const std::map<std::string, Tensor>& named) {
  std::vector<Tensor> outputs;
  for (const auto& name : evaluator.output_names()) outputs.push_back(named.at(name));
  return outputs;
}

std::vector<Tensor> run_sample(const runtime::Executor& evaluator, const onnx::ModelProto& model, const Feeds& sample) {
  return ordered_outputs(evaluator, evaluator.run(adapt_feeds(model, sample)));
}

std::vector<std::vector<Tensor>> run_on_evaluator(const ConversionAnalysis& analysis, const onnx::ModelProto& model,
                                                  const std::vector<Feeds>& samples, int threads) {
  const auto evaluator = make_evaluator(analysis, model, {.threads = threads, .keep = {}});
  std::vector<std::vector<Tensor>> outputs;
  outputs.reserve(samples.size());
  for (const Feeds& sample : samples) outputs.push_back(run_sample(*evaluator, model, sample));
  return outputs;
}

}  // namespace onnx_fp16::mixed
