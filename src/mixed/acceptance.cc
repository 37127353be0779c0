#include "mixed/acceptance.h"

#include <onnx_fp16/compare.h>
#include <onnx_fp16/error.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <span>
#include <type_traits>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernels/avx512.h"
#include "runtime/parallel.h"
#include "runtime/tensor_cast.h"

#include "mixed/l2_lanes.h"
#include "mixed/message_text.h"

namespace onnx_fp16::mixed {

namespace {

void check_tolerance(const char* name, double value) {
  if (!(value >= 0) || !std::isfinite(value)) {
    throw Error(std::string(name) + " must be a finite number >= 0 (got " + std::to_string(value) + ")");
  }
}

}  // namespace

std::string AcceptanceTest::output_label(std::size_t i) const {
  return i < output_names_.size() ? output_names_[i] : std::string("#").append(std::to_string(i));
}

AcceptanceTest::AcceptanceTest(const MixedOptions& options, std::vector<std::string> output_names)
    : spread_safety_(options.spread_safety),
      threads_(runtime::effective_threads(options.threads)),
      function_(options.validate),
      output_names_(std::move(output_names)) {
  if (!(options.spread_safety >= 1) || !std::isfinite(options.spread_safety)) {
    throw Error("spread_safety must be a finite number >= 1 (got " + std::to_string(options.spread_safety) + ")");
  }
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

Verdict AcceptanceTest::check(const std::vector<Tensor>& reference, const std::vector<Tensor>& candidate,
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
      const std::string name = output_label(i);
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

Verdict AcceptanceTest::check_variants(const std::vector<Tensor>& reference,
                                  const std::vector<std::vector<Tensor>>& by_variant, std::size_t sample,
                                  std::size_t first_unchecked) const {
  return judge_variants(reference, by_variant, sample, first_unchecked).verdict;
}

AcceptanceTest::Judgement AcceptanceTest::judge_variants(const std::vector<Tensor>& reference,
                                                         const std::vector<std::vector<Tensor>>& by_variant,
                                                         std::size_t sample, std::size_t first_unchecked) const {
  Judgement judged;
  for (std::size_t v = first_unchecked; v < by_variant.size() && judged.verdict.ok; ++v) {
    judged.verdict = check(reference, by_variant[v], sample);
    if (!judged.verdict.ok && v > 0) judged.verdict.detail = "float16 variant " + std::to_string(v) + ", " + judged.verdict.detail;
  }
  if (!use_tolerance_ || by_variant.empty()) return judged;
  // One implementation: its tolerance ratios (robust_ratios has no spread term then).
  const std::vector<double> ratios = robust_ratios(reference, by_variant);
  for (const double ratio : ratios) judged.worst_ratio = std::max(judged.worst_ratio, ratio);
  if (!judged.verdict.ok || by_variant.size() < 2) return judged;
  for (std::size_t o = 0; o < ratios.size(); ++o) {
    if (ratios[o] <= 1) continue;
    const std::string name = output_label(o);
    judged.verdict = {false, "sample " + std::to_string(sample) + ", output '" + name +
                                 "': with the float16 implementations' spread (" + message_number(spread_safety_) +
                                 "x their largest deviation from their mean) the worst element is at " +
                                 message_number(ratios[o]) + " of the tolerance"};
    break;
  }
  return judged;
}

std::vector<double> AcceptanceTest::robust_ratios(const std::vector<Tensor>& reference,
                                             const std::vector<std::vector<Tensor>>& by_variant) const {
  constexpr double kInfinite = std::numeric_limits<double>::infinity();
  std::vector<double> ratios(reference.size(), kInfinite);
  if (by_variant.empty()) return ratios;
  for (std::size_t o = 0; o < reference.size(); ++o) {
    if (reference[o].defined() && reference[o].dtype() == onnx::TensorProto::STRING) {
      ratios[o] = 0;  // strings have no tolerance: check() compares them for equality
      continue;
    }
    if (o >= by_variant[0].size() || !reference[o].defined()) continue;
    const Tensor ref = runtime::cast_tensor(reference[o], onnx::TensorProto::DOUBLE);
    std::vector<Tensor> variants;
    bool comparable = true;
    for (const auto& outputs : by_variant) {
      comparable = comparable && o < outputs.size() && outputs[o].defined() && outputs[o].shape() == reference[o].shape() &&
                   outputs[o].dtype() != onnx::TensorProto::STRING;
      if (comparable) variants.push_back(runtime::cast_tensor(outputs[o], onnx::TensorProto::DOUBLE));
    }
    if (!comparable) continue;
    const auto r = ref.data<double>();
    std::vector<std::span<const double>> values;
    for (const Tensor& variant : variants) values.push_back(variant.data<double>());
    const auto e = values[0];
    const double count = static_cast<double>(values.size());
    auto worst_in = [&](std::size_t begin, std::size_t end) {
      double worst = 0;
      for (std::size_t i = begin; i < end; ++i) {
        // Centred on the implementations' mean, not on the evaluator: where the evaluator's own
        // error is largest, its draw was often the unlucky one and other implementations land
        // nearer float32 (BERT-base); measuring the spread from the evaluator would count that
        // offset as spread and keep nodes in float32 for it.
        double centre = 0;
        for (const auto& x : values) centre += x[i];
        centre /= count;
        double deviation = 0;
        for (const auto& x : values) deviation = std::max(deviation, std::fabs(x[i] - centre));
        const double error = (r[i] == centre ? 0.0 : std::fabs(r[i] - centre)) + spread_safety_ * deviation;
        if (error == 0) continue;
        const double allowed = atol_ + rtol_ * std::fabs(e[i]);
        const double ratio = std::isfinite(error) && allowed > 0 ? error / allowed : kInfinite;
        worst = std::max(worst, std::isnan(ratio) ? kInfinite : ratio);
      }
      return worst;
    };
    // Over the threads, 16K elements at least a range (worst_in never gives NaN): the search
    // judges every run here, and the other thread waited meanwhile.
    ratios[o] = runtime::parallel_max(threads_, r.size(), std::size_t{1} << 14, 0.0, worst_in);
  }
  return ratios;
}

double AcceptanceTest::worst_ratio(const std::vector<Tensor>& reference,
                                   const std::vector<std::vector<Tensor>>& by_variant) const {
  const std::vector<double> ratios = by_variant.size() > 1 ? robust_ratios(reference, by_variant)
                                                           : tolerance_ratios(reference, by_variant.front());
  double worst = 0;
  for (double ratio : ratios) worst = std::max(worst, ratio);
  return worst;
}

Verdict AcceptanceTest::check_all(const std::vector<std::vector<Tensor>>& reference,
                             const std::vector<std::vector<Tensor>>& candidate) const {
  if (reference.size() != candidate.size()) return {false, "a run returned outputs for the wrong number of samples"};
  for (std::size_t s = 0; s < reference.size(); ++s) {
    Verdict verdict = check(reference[s], candidate[s], s);
    if (!verdict.ok) return verdict;
  }
  return {};
}

std::vector<double> AcceptanceTest::tolerance_ratios(const std::vector<Tensor>& reference,
                                                const std::vector<Tensor>& candidate) const {
  return robust_ratios(reference, {candidate});  // one variant: no spread term
}

namespace {

// The distance's sums over one run of elements, in double, in element order.
// The sums in kLanes interleaved partial sums (element i in lane i % kLanes, each lane in
// element order, the lanes added in a fixed order at the end): one running sum made every
// addition wait for the one before, and the search measures distances after most of its runs
// (BERT-base: 0.28 s on the main thread while the other one waited). The result depends on the
// elements alone, not on how a caller splits them into add() calls.
//
// kChecked: elements where a or b is not finite are left out, and `overflowed` records an a
// not finite where b is. Without it every element is added: where all are finite (the sums of
// squares of float32 values cannot overflow a double) that is the same sums, bit for bit, and a
// sum that is not finite says to add again with the checks.
template <bool kChecked>
struct L2Sums {
  static constexpr std::size_t kLanes = 8;
  double difference_lanes[kLanes] = {};
  double norm_lanes[kLanes] = {};
  std::size_t next_lane = 0;  // the lane of the next element
  bool overflowed = false;

  template <typename X, typename Y>
  void add(std::span<const X> xs, std::span<const Y> ys) {
    std::size_t i = 0;
    for (; i < xs.size() && next_lane != 0; ++i) add_one(xs[i], ys[i]);
    if constexpr (kChecked) {
      for (; i + kLanes <= xs.size(); i += kLanes) {
        for (std::size_t lane = 0; lane < kLanes; ++lane) add_one(xs[i + lane], ys[i + lane]);
      }
    } else {
#if defined(ONNX_FP16_HAVE_AVX512)
      if constexpr (std::is_same_v<X, float> && std::is_same_v<Y, float>) {
        if (runtime::nn::cpu_has_avx512f()) {
          const std::size_t whole = (xs.size() - i) / kLanes * kLanes;
          detail::add_l2_lanes_avx512(xs.data() + i, ys.data() + i, whole, difference_lanes, norm_lanes);
          i += whole;
        }
      }
#endif
      // Branch-free on local lanes, which the compiler vectorises (two doubles per instruction
      // with SSE2; on the members it added one element at a time). Each lane's sum in the same
      // order.
      double difference[kLanes], norm[kLanes];
      std::copy(std::begin(difference_lanes), std::end(difference_lanes), difference);
      std::copy(std::begin(norm_lanes), std::end(norm_lanes), norm);
      for (; i + kLanes <= xs.size(); i += kLanes) {
        for (std::size_t lane = 0; lane < kLanes; ++lane) {
          const auto x = static_cast<double>(xs[i + lane]);
          const auto y = static_cast<double>(ys[i + lane]);
          difference[lane] += (x - y) * (x - y);
          norm[lane] += y * y;
        }
      }
      std::copy(std::begin(difference), std::end(difference), difference_lanes);
      std::copy(std::begin(norm), std::end(norm), norm_lanes);
    }
    for (; i < xs.size(); ++i) add_one(xs[i], ys[i]);
  }

  double difference() const { return lane_total(difference_lanes); }
  double norm() const { return lane_total(norm_lanes); }

 private:
  template <typename X, typename Y>
  void add_one(X x_value, Y y_value) {
    const auto x = static_cast<double>(x_value);
    const auto y = static_cast<double>(y_value);
    if (kChecked && (!std::isfinite(x) || !std::isfinite(y))) {
      overflowed = overflowed || std::isfinite(y);
    } else {
      difference_lanes[next_lane] += (x - y) * (x - y);
      norm_lanes[next_lane] += y * y;
    }
    next_lane = (next_lane + 1) % kLanes;
  }

  static double lane_total(const double (&lanes)[kLanes]) {
    double total = 0;
    for (const double lane : lanes) total += lane;
    return total;
  }
};

// The types floats_of widens exactly (double is not one).
using WidenedTypes = runtime::TypeList<float, Float16, BFloat16>;

// Elements [begin, begin + out.size()) of a float, float16 or bfloat16 tensor as floats (exact).
std::span<const float> floats_of(const Tensor& t, std::size_t begin, std::span<float> out) {
  if (t.dtype() == onnx::TensorProto::FLOAT) return t.data<float>().subspan(begin, out.size());
  if (t.dtype() == onnx::TensorProto::FLOAT16) {
    runtime::widen_to_float(t.data<Float16>().subspan(begin, out.size()), out);
  } else {
    runtime::widen_to_float(t.data<BFloat16>().subspan(begin, out.size()), out);
  }
  return out;
}

template <bool kChecked>
L2Sums<kChecked> l2_sums(const Tensor& a, const Tensor& b) {
  L2Sums<kChecked> sums;
  if (runtime::type_in(a.dtype(), WidenedTypes{}) && runtime::type_in(b.dtype(), WidenedTypes{})) {
    // In chunks widened on the stack: the search measures distances at every cut point after a
    // node, and copying both tensors to double for each (8 bytes per element, fresh memory) was
    // 4% of PaddleOCR det's search in the copies alone. The sums are the same, in the same order.
    constexpr std::size_t kChunk = 2048;
    float x_chunk[kChunk], y_chunk[kChunk];
    for (std::size_t begin = 0; begin < a.size() && !sums.overflowed; begin += kChunk) {
      const std::size_t count = std::min(kChunk, a.size() - begin);
      sums.add(floats_of(a, begin, std::span<float>(x_chunk, count)), floats_of(b, begin, std::span<float>(y_chunk, count)));
    }
  } else {
    const Tensor x = runtime::cast_tensor(a, onnx::TensorProto::DOUBLE);
    const Tensor y = runtime::cast_tensor(b, onnx::TensorProto::DOUBLE);
    sums.add(x.data<double>(), y.data<double>());
  }
  return sums;
}

template <bool kChecked>
double distance_of(const L2Sums<kChecked>& sums) {
  if (sums.overflowed) return std::numeric_limits<double>::infinity();
  const double difference = sums.difference();
  const double norm = sums.norm();
  if (difference == 0) return 0;
  return norm > 0 ? std::sqrt(difference / norm) : std::numeric_limits<double>::infinity();
}

}  // namespace

double relative_l2_distance(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined() || a.size() != b.size() || a.dtype() == onnx::TensorProto::STRING ||
      b.dtype() == onnx::TensorProto::STRING) {
    return 0;
  }
  L2Sums<false> plain = l2_sums<false>(a, b);
  if (std::isfinite(plain.difference()) && std::isfinite(plain.norm())) return distance_of(plain);
  return distance_of(l2_sums<true>(a, b));  // a value that is not finite: the sums that leave it out
}

std::string AcceptanceTest::describe() const {
  std::string text;
  if (use_tolerance_) text = "rtol " + message_number(rtol_) + ", atol " + message_number(atol_);
  if (function_) text += std::string(text.empty() ? "" : " and ") + "the validation function";
  return text;
}

}  // namespace onnx_fp16::mixed
