// Acceptance: whether a candidate's outputs are close enough to the float32 model's, by the
// spec's rtol/atol rule (numpy.allclose) and/or the caller's function (MixedOptions::validate,
// the spec's validate_fn), over every sample. (Named apart from the other two meanings of
// "validate": the ONNX checker, onnx_fp16/checker.h, and the caller's runtime that runs
// candidates, MixedOptions::runner / --validate-cmd.)
#pragma once

#include <onnx_fp16/mixed.h>

#include <string>
#include <vector>

namespace onnx_fp16::mixed {

struct Verdict {
  bool ok = true;
  std::string detail;  // for a failure: which sample and output, and by how much
};

class AcceptanceTest {
 public:
  // Throws onnx_fp16::Error when neither a tolerance nor a function is given, or a tolerance is
  // negative or not a number.
  AcceptanceTest(const MixedOptions& options, std::vector<std::string> output_names);

  // One sample's outputs (graph output order) against the float32 reference.
  Verdict check(const std::vector<Tensor>& reference, const std::vector<Tensor>& candidate, std::size_t sample) const;
  // One sample's outputs by implementation variant ([0] the evaluator's): each variant must pass
  // check(), and with a tolerance and variants, the spread test (robust_ratios() <= 1).
  // Variants below `first_unchecked` passed check() in an earlier call (the engine's calls add
  // one variant at a time): only the spread test sees them again, and a validation function is
  // called once per variant.
  Verdict check_variants(const std::vector<Tensor>& reference, const std::vector<std::vector<Tensor>>& by_variant,
                         std::size_t sample, std::size_t first_unchecked = 0) const;
  // check_variants' verdict and, with a tolerance, worst_ratio over the same outputs, from one
  // computation of the ratios (the search asks both of every run; each was a pass over every
  // output element of every implementation). Without a tolerance `worst_ratio` is 0.
  struct Judgement {
    Verdict verdict;
    double worst_ratio = 0;
  };
  Judgement judge_variants(const std::vector<Tensor>& reference, const std::vector<std::vector<Tensor>>& by_variant,
                           std::size_t sample, std::size_t first_unchecked = 0) const;
  // Every sample; stops at the first failure.
  Verdict check_all(const std::vector<std::vector<Tensor>>& reference,
                    const std::vector<std::vector<Tensor>>& candidate) const;
  // "rtol 0.01, atol 0.001" / "validation function" / both: for messages.
  std::string describe() const;
  bool has_tolerance() const { return use_tolerance_; }
  // Per output: the worst element's |reference - candidate| / (atol + rtol * |candidate|), the
  // numpy.allclose test as a ratio (<= 1 passes; infinite for a NaN/inf mismatch or a shape
  // difference; 0 for strings, which check() compares for equality). Needs a tolerance.
  std::vector<double> tolerance_ratios(const std::vector<Tensor>& reference, const std::vector<Tensor>& candidate) const;
  // Per output, with variants: the worst element's (|reference - c| + spread_safety *
  // max over implementations |x - c|) / (atol + rtol * |evaluator|), where the implementations
  // are the evaluator (by_variant[0]) and the variants, and c is their mean. With
  // spread_safety >= 1 it bounds every implementation's own ratio. The engine adds one variant
  // at a time and check_variants refuses on the first ratio over 1, so an accepted candidate
  // passed on every prefix of the implementations, each with its own mean: stricter than on all
  // of them alone, and measured safer (docs/mixed.md "Robust acceptance"). Needs a tolerance.
  std::vector<double> robust_ratios(const std::vector<Tensor>& reference,
                                    const std::vector<std::vector<Tensor>>& by_variant) const;
  // The largest ratio over the outputs: robust_ratios with variants, else tolerance_ratios. Needs
  // a tolerance.
  double worst_ratio(const std::vector<Tensor>& reference, const std::vector<std::vector<Tensor>>& by_variant) const;

 private:
  // The name a message gives output i: its graph name, or "#i" where none was given.
  std::string output_label(std::size_t i) const;

  bool use_tolerance_ = false;
  double rtol_ = 0;
  double atol_ = 0;
  double spread_safety_ = 1;
  int threads_ = 1;  // MixedOptions::threads, resolved: robust_ratios spreads its elements over them
  ValidateFunction function_;
  std::vector<std::string> output_names_;
};

// ||a - b|| / ||b|| over the elements, as doubles; infinite where a is not finite and b is (an
// overflow) or b is all zeros and a is not; 0 for strings and tensors of different sizes.
double relative_l2_distance(const Tensor& a, const Tensor& b);

}  // namespace onnx_fp16::mixed
