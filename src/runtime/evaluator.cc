// The public Evaluator: a thin face over runtime::Executor.
#include <onnx_fp16/evaluator.h>

#include "runtime/executor.h"

namespace onnx_fp16 {

Evaluator::Evaluator(const onnx::ModelProto& model, EvaluatorOptions options)
    : executor_(std::make_unique<runtime::Executor>(model, options)) {}
Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;

std::map<std::string, Tensor> Evaluator::run(const std::map<std::string, Tensor>& feeds, RunStats* stats) const {
  return executor_->run(feeds, stats);
}

const std::vector<InputInfo>& Evaluator::inputs() const { return executor_->inputs(); }
const std::vector<std::string>& Evaluator::output_names() const { return executor_->output_names(); }

}  // namespace onnx_fp16
