// Making and running the model of one attempt: the analysed model converted with some nodes
// kept in float32, run on the built-in evaluator.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/mixed.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mixed/conversion_analysis.h"
#include "runtime/executor.h"

namespace onnx_fp16::mixed {

// A copy of the analysed model converted with the nodes where kept_nodes[NodeId] is true left
// in float32 (shape inference is not run again: the analysis did it).
onnx::ModelProto convert_with_kept(const ConversionAnalysis& analysis, const std::vector<bool>& kept_nodes,
                                   ConversionReport* report = nullptr);

// The feeds a model takes: float32 tensors given for inputs it declares float16 (or bfloat16) are rounded
// (what a caller of a model without keep_io_types does).
Feeds adapt_feeds(const onnx::ModelProto& model, const Feeds& feeds);

// The evaluator of `model` (the analysed model, or a conversion of it): its deferred weights,
// if any, are read from the analysis' payloads as the plan is built.
std::unique_ptr<runtime::Executor> make_evaluator(const ConversionAnalysis& analysis, onnx::ModelProto model,
                                                  const EvaluatorOptions& options);

// The graph outputs among a run's named results, in graph output order.
std::vector<Tensor> ordered_outputs(const runtime::Executor& evaluator, const std::map<std::string, Tensor>& named);

// One sample through an evaluator of `model` (feeds adapted as above); outputs in graph output order.
std::vector<Tensor> run_sample(const runtime::Executor& evaluator, const onnx::ModelProto& model, const Feeds& sample);

// Runs `model` (made from the analysed one) on the evaluator for every sample; outputs in graph
// output order.
std::vector<std::vector<Tensor>> run_on_evaluator(const ConversionAnalysis& analysis, const onnx::ModelProto& model,
                                                  const std::vector<Feeds>& samples, int threads);

}  // namespace onnx_fp16::mixed
