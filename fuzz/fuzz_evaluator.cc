// Fuzz target: the evaluator's graph compilation, feed checks and kernels, under tight resource
// limits. Input: the bytes of an .onnx file; every graph input is fed zeros of its declared type
// and shape (symbolic dimensions as 1; inputs beyond 4096 elements are not fed, which the feed
// check must refuse clearly).
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/model_io.h>

#include "fuzz_input.h"

namespace {

onnx_fp16::Feeds zero_feeds(const onnx::ModelProto& model) {
  onnx_fp16::Feeds feeds;
  for (const auto& input : model.graph().input()) {
    if (!input.type().has_tensor_type()) continue;
    const auto& tensor_type = input.type().tensor_type();
    onnx_fp16::Shape shape;
    std::int64_t elements = 1;
    for (const auto& dim : tensor_type.shape().dim()) {
      const std::int64_t extent = dim.has_dim_value() ? dim.dim_value() : 1;
      if (extent < 0 || extent > 4096) return feeds;
      elements *= extent;
      if (elements > 4096) return feeds;
      shape.push_back(extent);
    }
    try {
      feeds[input.name()] = onnx_fp16::Tensor(static_cast<onnx_fp16::DataType>(tensor_type.elem_type()), shape);
    } catch (const onnx_fp16::Error&) {
      // a type the Tensor cannot hold: left unfed
    }
  }
  return feeds;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onnx_fp16;
  try {
    const onnx::ModelProto model = load_model(fuzz::write_input("model.onnx", data, size));
    const Evaluator evaluator(model, {.threads = 1, .keep = {}, .memory_limit = 64u << 20, .max_loop_iterations = 1000});
    evaluator.run(zero_feeds(model));
  } catch (const Error&) {
    // a clear refusal: the expected answer to a bad model or feed
  }
  return 0;
}
