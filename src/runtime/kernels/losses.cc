// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12), as the ONNX reference
// computes them. input [N, C, d1..dk], target [N, d1..dk] (int32/int64), optional weight [C];
// loss[n, d] = -weight[t] * input[n, t, d] with t = target[n, d], 0 where t == ignore_index.
// reduction "none" gives the per-element losses, "sum" their sum, "mean" their sum divided by
// the sum of the weights taken (the element count without weight and ignore_index).
// SoftmaxCrossEntropyLoss is the same loss of log_softmax(scores) over axis 1, whose values are
// its optional second output. Everything is computed in compute_t (float32 for float16) and
// rounded once per output value.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

struct LossLayout {
  std::int64_t n = 0, c = 0, d = 1;  // batch, classes, product of the trailing dimensions
};

LossLayout loss_layout(const KernelContext& ctx, const Tensor& input, const Tensor& target) {
  if (input.rank() < 2) ctx.fail("input must have rank >= 2 (N, C, ...)");
  LossLayout l{input.shape()[0], input.shape()[1], 1};
  Shape expected{input.shape()[0]};
  for (std::size_t i = 2; i < input.rank(); ++i) {
    l.d *= input.shape()[i];
    expected.push_back(input.shape()[i]);
  }
  if (target.shape() != expected) {
    ctx.fail("target shape " + shape_to_string(target.shape()) + " does not fit input " + shape_to_string(input.shape()));
  }
  return l;
}

// Writes the loss output from log-probabilities laid out [N, C, D].
template <typename S>
void write_loss(KernelContext& ctx, const LossLayout& l, std::span<const compute_t<S>> log_prob, const Tensor& target) {
  using C = compute_t<S>;
  const std::string reduction = ctx.attr_string("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") ctx.fail("unknown reduction '" + reduction + "'");
  std::optional<std::int64_t> ignore;
  if (ctx.has_attribute("ignore_index")) ignore = ctx.attr_int("ignore_index");
  const Tensor* weight_tensor = ctx.optional_input(2);
  std::optional<InputValues<S>> weight;
  if (weight_tensor) {
    if (weight_tensor->shape() != Shape{l.c}) ctx.fail("weight must have shape [C] = [" + std::to_string(l.c) + "]");
    weight.emplace(*weight_tensor);
  }
  const auto labels = to_int64_vector(target);
  const std::size_t count = static_cast<std::size_t>(l.n * l.d);
  std::vector<C> losses(count);
  C weight_sum{0};
  for (std::int64_t b = 0; b < l.n; ++b) {
    for (std::int64_t k = 0; k < l.d; ++k) {
      const std::size_t i = static_cast<std::size_t>(b * l.d + k);
      const std::int64_t t = labels[i];
      if (ignore && t == *ignore) {
        losses[i] = C{0};
        continue;
      }
      if (t < 0 || t >= l.c) ctx.fail("target value " + std::to_string(t) + " is outside [0, " + std::to_string(l.c) + ")");
      const C w = weight ? (*weight)[static_cast<std::size_t>(t)] : C{1};
      losses[i] = -w * log_prob[static_cast<std::size_t>((b * l.c + t) * l.d + k)];
      weight_sum += w;
    }
  }
  if (reduction == "none") {
    OutputValues<S> out(target.shape());
    for (std::size_t i = 0; i < count; ++i) out[i] = losses[i];
    ctx.set_output(0, std::move(out).finish());
    return;
  }
  C total{0};
  for (const C v : losses) total += v;
  if (reduction == "mean") total = (weight || ignore) ? total / weight_sum : total / static_cast<C>(count);
  OutputValues<S> out(Shape{});
  out[0] = total;
  ctx.set_output(0, std::move(out).finish());
}

void negative_log_likelihood_loss(KernelContext& ctx) {
  const Tensor& input = ctx.input(0);
  const Tensor& target = ctx.input(1);
  const LossLayout l = loss_layout(ctx, input, target);
  dispatch<FloatTypes>(input.dtype(), [&]<typename S>(std::type_identity<S>) {
    const InputValues<S> x(input);
    write_loss<S>(ctx, l, x.span(), target);
  });
}

void softmax_cross_entropy_loss(KernelContext& ctx) {
  const Tensor& scores = ctx.input(0);
  const Tensor& labels = ctx.input(1);
  const LossLayout l = loss_layout(ctx, scores, labels);
  dispatch<FloatTypes>(scores.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> x(scores);
    std::vector<C> log_prob(x.size());
    // No classes (C = 0): nothing to normalise; any target not ignored is then out of range,
    // which write_loss refuses (found by fuzz_evaluator: the maximum read a value past the end).
    for (std::int64_t b = 0; b < l.n && l.c > 0; ++b) {
      for (std::int64_t k = 0; k < l.d; ++k) {
        auto at = [&](std::int64_t c) { return static_cast<std::size_t>((b * l.c + c) * l.d + k); };
        C max = x[at(0)];
        for (std::int64_t c = 1; c < l.c; ++c) max = std::max(max, x[at(c)]);
        C sum{0};
        for (std::int64_t c = 0; c < l.c; ++c) sum += std::exp(x[at(c)] - max);
        const C log_sum = std::log(sum);
        for (std::int64_t c = 0; c < l.c; ++c) log_prob[at(c)] = x[at(c)] - max - log_sum;
      }
    }
    write_loss<S>(ctx, l, std::span<const C>(log_prob), labels);
    if (ctx.output_count() > 1 && ctx.output_wanted(1)) {
      OutputValues<S> out(scores.shape());
      for (std::size_t i = 0; i < log_prob.size(); ++i) out[i] = log_prob[i];
      ctx.set_output(1, std::move(out).finish());
    }
  });
}

}  // namespace

void register_losses_kernels(KernelRegistry& r) {
  r.add("NegativeLogLikelihoodLoss", 12, negative_log_likelihood_loss);
  r.add("SoftmaxCrossEntropyLoss", 12, softmax_cross_entropy_loss);
}

}  // namespace onnx_fp16::runtime
