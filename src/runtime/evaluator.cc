// The public Evaluator: a thin face over runtime::Executor.
#include <onnx_fp16/evaluator.h>

#include "io/streamed_model.h"
#include "tensor/buffer_pool.h"
#include "runtime/executor.h"

namespace onnx_fp16 {

Evaluator::Evaluator(const onnx::ModelProto& model, EvaluatorOptions options)
    : executor_(std::make_unique<runtime::Executor>(model, options)) {}
Evaluator::Evaluator(const std::filesystem::path& path, EvaluatorOptions options) {
  io::StreamedModel loaded = io::load_model_streamed(path);
  executor_ = std::make_unique<runtime::Executor>(std::move(loaded.model), options, &loaded.sources);
}
Evaluator::Evaluator(std::span<const std::byte> serialized, EvaluatorOptions options) {
  io::StreamedModel loaded = io::load_model_streamed(serialized, "<serialized model>");
  executor_ = std::make_unique<runtime::Executor>(std::move(loaded.model), options, &loaded.sources);
}
Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;

std::map<std::string, Tensor> Evaluator::run(const std::map<std::string, Tensor>& feeds, RunStats* stats) const {
  return executor_->run(feeds, stats);
}

const std::vector<InputInfo>& Evaluator::inputs() const { return executor_->inputs(); }
const std::vector<std::string>& Evaluator::output_names() const { return executor_->output_names(); }

std::size_t Evaluator::release_cached_memory() { return buffers::clear_cache(); }

}  // namespace onnx_fp16
