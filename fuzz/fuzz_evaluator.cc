// Fuzz target: the evaluator's graph compilation, feed checks and kernels, under tight resource
// limits. Input: the bytes of an .onnx file; every graph input is fed zeros of its declared type
// and shape (symbolic dimensions as 1; inputs beyond 4096 elements are not fed, which the feed
// check must refuse clearly).
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/model_io.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "fuzz_input.h"

namespace {

// Outputs by name and their bytes, or nothing when the evaluator refused the model or feeds.
template <typename Make>
std::optional<std::map<std::string, std::string>> outputs_of(Make&& make, const onnx_fp16::Feeds& feeds) {
  try {
    const onnx_fp16::Evaluator evaluator = make();
    std::map<std::string, std::string> outputs;
    for (const auto& [name, tensor] : evaluator.run(feeds)) {
      const auto bytes = tensor.bytes();
      outputs[name] = std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    return outputs;
  } catch (const onnx_fp16::Error&) {
    return std::nullopt;  // a clear refusal: the expected answer to a bad model or feed
  }
}

}  // namespace

// The evaluator made from the loaded model and from the file (as `onnx-fp16 run` makes it: the
// streamed loader, weights read from the file into the plan) must agree: both refuse, or both
// compute the same bytes. A disagreement is a finding.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onnx_fp16;
  std::filesystem::path path;
  const std::optional<onnx::ModelProto> model = fuzz::load_fuzzed_model(data, size, path);
  if (!model) return 0;
  const EvaluatorOptions& options = fuzz::kFuzzEvaluatorLimits;
  const Feeds feeds = fuzz::sample_feeds(*model, false);
  const auto loaded = outputs_of([&] { return Evaluator(*model, options); }, feeds);
  const auto from_file = outputs_of([&] { return Evaluator(path, options); }, feeds);
  if (loaded.has_value() != from_file.has_value() || (loaded && *loaded != *from_file)) {
    std::fprintf(stderr, "the evaluator from the file %s where the one from the loaded model %s\n",
                 from_file ? "ran" : "refused", loaded ? (from_file ? "computed other bytes" : "ran") : "refused");
    std::abort();
  }
  return 0;
}
