#include "mixed/validation.h"

#include <onnx_fp16/compare.h>
#include <onnx_fp16/error.h>

#include <cmath>

#include "mixed/message_text.h"

namespace onnx_fp16::mixed {

namespace {

void check_tolerance(const char* name, double value) {
  if (!(value >= 0) || !std::isfinite(value)) {
    throw Error(std::string(name) + " must be a finite number >= 0 (got " + std::to_string(value) + ")");
  }
}

}  // namespace

Validator::Validator(const MixedOptions& options, std::vector<std::string> output_names)
    : function_(options.validate), output_names_(std::move(output_names)) {
  if (!options.rtol && !options.atol && !options.validate) {
    throw Error("auto mixed precision needs a tolerance (rtol and/or atol) or a validation function");
  }
  if (options.rtol || options.atol) {
    use_tolerance_ = true;
    // The original's defaults for the one not given: numpy's rtol, and an atol small enough
    // to matter only near zero.
    rtol_ = options.rtol.value_or(1e-5);
    atol_ = options.atol.value_or(1e-8);
    check_tolerance("rtol", rtol_);
    check_tolerance("atol", atol_);
  }
}

Verdict Validator::check(const std::vector<Tensor>& reference, const std::vector<Tensor>& candidate,
                         std::size_t sample) const {
  const std::string where = "sample " + std::to_string(sample);
  if (reference.size() != candidate.size()) {
    return {false, where + ": " + std::to_string(candidate.size()) + " outputs, the float32 model has " +
                       std::to_string(reference.size())};
  }
  if (use_tolerance_) {
    for (std::size_t i = 0; i < reference.size(); ++i) {
      // As the original calls numpy.allclose(float32_output, candidate_output): the tolerance
      // scales with the candidate's magnitude.
      const TensorDifference d = compare_tensors(reference[i], candidate[i], {rtol_, atol_});
      if (d.close) continue;
      const std::string name = i < output_names_.size() ? output_names_[i] : "#" + std::to_string(i);
      if (!d.problem.empty()) return {false, where + ", output '" + name + "': " + d.problem};
      std::string detail = where + ", output '" + name + "': " + std::to_string(d.not_close) + "/" +
                           std::to_string(d.count) + " not close, max abs error " + message_number(d.max_abs_error);
      if (d.nonfinite_mismatches > 0) detail += ", " + std::to_string(d.nonfinite_mismatches) + " inf/NaN";
      return {false, detail};
    }
  }
  if (function_ && !function_(reference, candidate)) return {false, where + ": the validation function said no"};
  return {};
}

Verdict Validator::check_all(const std::vector<std::vector<Tensor>>& reference,
                             const std::vector<std::vector<Tensor>>& candidate) const {
  if (reference.size() != candidate.size()) return {false, "a run returned outputs for the wrong number of samples"};
  for (std::size_t s = 0; s < reference.size(); ++s) {
    Verdict verdict = check(reference[s], candidate[s], s);
    if (!verdict.ok) return verdict;
  }
  return {};
}

std::string Validator::describe() const {
  std::string text;
  if (use_tolerance_) text = "rtol " + message_number(rtol_) + ", atol " + message_number(atol_);
  if (function_) text += std::string(text.empty() ? "" : " and ") + "the validation function";
  return text;
}

}  // namespace onnx_fp16::mixed
