// Fuzz target: automatic mixed precision on any model, as `onnx-fp16 auto-mixed` runs it on
// what a user downloads. Input: the bytes of an .onnx file; one sample of pseudo-random float
// inputs (other types zeros; sample_feeds); keep_io_types on for inputs of even length. The
// search either refuses with an onnx_fp16::Error or returns a model that the evaluator loads and
// runs on the same sample (cast to its input types), whose outputs pass the tolerance the search
// was given, and whose report names only nodes of the model. A small
// search budget and few variants keep one input to a fraction of a second.
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/mixed.h>
#include <onnx_fp16/model_io.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>

#include "fuzz_input.h"
#include "runtime/tensor_cast.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "auto-mixed: %s\n", what.c_str());
  std::abort();
}

bool is_float(onnx_fp16::DataType type) {
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::FLOAT16 ||
         type == onnx::TensorProto::BFLOAT16 || type == onnx::TensorProto::DOUBLE;
}

// Whether every element of `got` is within atol + rtol |want| of `want` (numpy.allclose; NaN
// where `want` is NaN passes, as the search's own test lets it). Float outputs only: the search
// compares the others exactly.
bool within(const onnx_fp16::Tensor& want, const onnx_fp16::Tensor& got, double rtol, double atol) {
  if (!is_float(want.dtype()) || !is_float(got.dtype())) return true;
  if (want.size() != got.size()) return false;
  const auto a = onnx_fp16::runtime::cast_tensor(want, onnx::TensorProto::DOUBLE);
  const auto b = onnx_fp16::runtime::cast_tensor(got, onnx::TensorProto::DOUBLE);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a.data<double>()[i], y = b.data<double>()[i];
    if (std::isnan(x) || (std::isinf(x) && x == y)) continue;
    if (!(std::fabs(x - y) <= atol + rtol * std::fabs(x))) return false;
  }
  return true;
}

// The sample as the mixed model takes it: float inputs cast to the type it declares (float16
// where keep_io_types was off), as a user casts them.
onnx_fp16::Feeds feeds_for(const onnx::ModelProto& model, const onnx_fp16::Feeds& sample) {
  onnx_fp16::Feeds feeds = sample;
  for (const auto& input : model.graph().input()) {
    const auto it = feeds.find(input.name());
    if (it == feeds.end() || !input.type().has_tensor_type()) continue;
    const auto type = static_cast<onnx_fp16::DataType>(input.type().tensor_type().elem_type());
    if (is_float(type) && is_float(it->second.dtype()) && type != it->second.dtype()) {
      it->second = onnx_fp16::runtime::cast_tensor(it->second, type);
    }
  }
  return feeds;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onnx_fp16;
  std::filesystem::path path;
  const std::optional<onnx::ModelProto> model = fuzz::load_fuzzed_model(data, size, path);
  if (!model || model->graph().node_size() > 64) return 0;  // a search per input, not a benchmark
  const Feeds sample = fuzz::sample_feeds(*model, true);
  const EvaluatorOptions& limits = fuzz::kFuzzEvaluatorLimits;
  std::map<std::string, Tensor> reference;
  try {
    reference = Evaluator(*model, limits).run(sample);
  } catch (const Error&) {
    return 0;  // the float32 model does not run on this sample: the search must refuse (below)
  }

  MixedOptions options;
  options.rtol = 0.01;
  options.atol = 0.01;
  options.float16_variants = 2;
  options.holdout_variants = 1;
  options.sensitivity_budget = 4;
  options.search_budget = 40;
  options.keep_io_types = size % 2 == 0;  // both ways, by the input's length
  onnx::ModelProto mixed = *model;
  MixedReport report;
  try {
    report = auto_convert_mixed_precision(mixed, {sample}, options);
  } catch (const Error&) {
    return 0;  // a clear refusal
  }
  std::set<std::string> names;
  for (const auto& node : model->graph().node()) names.insert(node.name());
  for (const auto& kept : report.kept_nodes) {
    // A nameless node is reported as "<op_type>#<index>".
    const bool nameless = kept.name.rfind(kept.op_type + "#", 0) == 0;
    if (!names.contains(kept.name) && !nameless) finding("the report keeps node '" + kept.name + "', not in the model");
  }
  std::map<std::string, Tensor> outputs;
  try {
    outputs = Evaluator(mixed, limits).run(feeds_for(mixed, sample));
  } catch (const Error& e) {
    finding(std::string("the mixed model does not run: ") + e.what());
  }
  for (const auto& [name, want] : reference) {
    const auto got = outputs.find(name);
    if (got == outputs.end()) finding("the mixed model lost output '" + name + "'");
    if (got->second.shape() != want.shape()) finding("output '" + name + "' changed shape");
    if (!within(want, got->second, *options.rtol, *options.atol)) {
      finding("output '" + name + "' misses the tolerance the search accepted it at");
    }
  }
  return 0;
}
