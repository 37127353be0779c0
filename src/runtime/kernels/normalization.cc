// Normalisations: LayerNormalization (opset 17; registered from 1 because ONNX Runtime accepts
// it at any opset), SimplifiedLayerNormalization (ONNX Runtime's RMS norm, in the default and
// com.microsoft domains), BatchNormalization (inference, and training_mode from opset 14),
// InstanceNormalization, LpNormalization and MeanVarianceNormalization.
//
// Statistics and results are computed in the compute type (float32 for float16 inputs, double
// for float64) and rounded once.
#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_normalize.h"
#include "runtime/kernels/math_reduction.h"
#include "runtime/parallel.h"

namespace onnx_fp16::runtime {

namespace {

// The element type of LayerNormalization's Mean / InvStdDev outputs: stash_type (float32 by
// default), the precision the statistics are computed in.
DataType stash_data_type(const KernelContext& ctx) {
  const auto stash = static_cast<DataType>(ctx.attr_int("stash_type", onnx::TensorProto::FLOAT));
  if (!is_float_type(stash)) ctx.fail("stash_type must be a float type, got " + data_type_name(stash));
  return stash;
}

template <typename C>
Tensor statistics_tensor(DataType type, Shape shape, const std::vector<C>& values) {
  return make_float_tensor(type, std::move(shape), std::span<const C>(values));
}

// LayerNormalization (centred) and SimplifiedLayerNormalization (RMS): rows are the
// dimensions from `axis` on. Outputs: Y, then Mean and InvStdDev (LayerNormalization) or
// InvStdDev alone (SimplifiedLayerNormalization), shaped as X with those dimensions set to 1.
template <bool kCentred>
void layer_norm_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor* scale = ctx.optional_input(1);
  const Tensor* bias = kCentred ? ctx.optional_input(2) : nullptr;
  const std::size_t axis = normalize_axis(ctx.attr_int("axis", -1), x.rank());
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  const math::AxisSplit rows = math::split_before_axis(x.shape(), axis);
  Shape stats_shape = x.shape();
  for (std::size_t d = axis; d < stats_shape.size(); ++d) stats_shape[d] = 1;
  const DataType stash = stash_data_type(ctx);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    OutputValues<S> out(x.shape());
    std::copy(in.span().begin(), in.span().end(), out.span().begin());
    std::vector<C> means(kCentred ? rows.outer : 0);
    std::vector<C> inv_std_devs(rows.outer);
    math::normalize_rows<C>(ctx.threads(), out.span(), rows.dim, epsilon, kCentred, means, inv_std_devs);
    math::scale_and_shift<S>(out.span(), x.shape(), scale, bias);
    ctx.set_output(0, std::move(out).finish());
    const std::size_t inv_output = kCentred ? 2 : 1;
    if (kCentred && ctx.output_wanted(1)) ctx.set_output(1, statistics_tensor(stash, stats_shape, means));
    if (ctx.output_wanted(inv_output)) ctx.set_output(inv_output, statistics_tensor(stash, stats_shape, inv_std_devs));
  });
}

// ---- BatchNormalization ----

// A per-channel (or, opset < 9 with spatial=0, per-element) parameter as compute-type values.
template <typename C>
std::vector<C> parameter_values(const KernelContext& ctx, const Tensor& t, std::size_t channels, std::size_t inner,
                                const char* name) {
  if (t.size() != channels && t.size() != channels * inner) {
    ctx.fail(std::string(name) + " has " + std::to_string(t.size()) + " values for " + std::to_string(channels) +
             " channels");
  }
  const auto values = to_double_vector(t);
  return std::vector<C>(values.begin(), values.end());
}

void batch_norm_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.fail("X must have rank 2 or more, got " + shape_to_string(x.shape()));
  const math::AxisSplit split = math::split_at_axis(x.shape(), 1);  // [N, C, spatial]
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  const double momentum = ctx.attr_float("momentum", 0.9f);
  const bool training = ctx.opset() >= 14 && ctx.attr_int("training_mode", 0) != 0;
  if (ctx.opset() < 14 && (ctx.output_wanted(3) || ctx.output_wanted(4))) {
    ctx.fail("the training outputs saved_mean / saved_var are not supported");
  }
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    const auto scale = parameter_values<C>(ctx, ctx.input(1), split.dim, split.inner, "scale");
    const auto bias = parameter_values<C>(ctx, ctx.input(2), split.dim, split.inner, "B");
    auto mean = parameter_values<C>(ctx, ctx.input(3), split.dim, split.inner, "input_mean");
    auto var = parameter_values<C>(ctx, ctx.input(4), split.dim, split.inner, "input_var");
    std::vector<C> running_mean = mean;
    std::vector<C> running_var = var;
    if (training) {
      // Batch statistics per channel (population variance), and the running ones updated.
      const auto count = static_cast<C>(split.outer * split.inner);
      for (std::size_t c = 0; c < split.dim; ++c) {
        C sum{0};
        for (std::size_t n = 0; n < split.outer; ++n) {
          for (std::size_t i = 0; i < split.inner; ++i) sum += in[(n * split.dim + c) * split.inner + i];
        }
        const C batch_mean = sum / count;
        C square_sum{0};
        for (std::size_t n = 0; n < split.outer; ++n) {
          for (std::size_t i = 0; i < split.inner; ++i) {
            const C d = in[(n * split.dim + c) * split.inner + i] - batch_mean;
            square_sum += d * d;
          }
        }
        const C batch_var = square_sum / count;
        const auto keep = static_cast<C>(momentum);
        running_mean[c] = mean[c] * keep + batch_mean * (C{1} - keep);
        running_var[c] = var[c] * keep + batch_var * (C{1} - keep);
        mean[c] = batch_mean;
        var[c] = batch_var;
      }
      mean.resize(split.dim);
      var.resize(split.dim);
    }
    // Per channel, or per element of [C, spatial] when the parameters are that big.
    const auto at = [&](const std::vector<C>& p, std::size_t c, std::size_t i) {
      return p.size() == split.dim ? p[c] : p[c * split.inner + i];
    };
    const bool per_channel = mean.size() == split.dim && var.size() == split.dim && scale.size() == split.dim &&
                             bias.size() == split.dim;
    OutputValues<S> out(x.shape());
    parallel_for(ctx.threads(), split.outer * split.dim, math::rows_per_task(split.inner),
                 [&](std::size_t begin, std::size_t end) {
                   for (std::size_t row = begin; row < end; ++row) {  // one (n, c) pair
                     const std::size_t c = row % split.dim;
                     if (per_channel) {
                       // The same expression, its per-channel parts computed once per row.
                       const C m = mean[c], s = scale[c], b = bias[c];
                       const C inv = C{1} / std::sqrt(var[c] + static_cast<C>(epsilon));
                       for (std::size_t i = 0; i < split.inner; ++i) {
                         const std::size_t k = row * split.inner + i;
                         out[k] = (in[k] - m) * inv * s + b;
                       }
                       continue;
                     }
                     for (std::size_t i = 0; i < split.inner; ++i) {
                       const std::size_t k = row * split.inner + i;
                       const C inv = C{1} / std::sqrt(at(var, c, i) + static_cast<C>(epsilon));
                       out[k] = (in[k] - at(mean, c, i)) * inv * at(scale, c, i) + at(bias, c, i);
                     }
                   }
                 });
    ctx.set_output(0, std::move(out).finish());
    // Running statistics: updated in training mode, passed through otherwise.
    const Shape stats_shape = ctx.input(3).shape();
    if (ctx.output_wanted(1)) ctx.set_output(1, statistics_tensor(ctx.input(3).dtype(), stats_shape, running_mean));
    if (ctx.output_wanted(2)) ctx.set_output(2, statistics_tensor(ctx.input(4).dtype(), stats_shape, running_var));
  });
}

// ---- InstanceNormalization: each (n, c) normalised over its spatial values ----

void instance_norm_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.fail("input must have rank 2 or more, got " + shape_to_string(x.shape()));
  const math::AxisSplit split = math::split_at_axis(x.shape(), 1);
  const double epsilon = ctx.attr_float("epsilon", 1e-5f);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    const InputValues<S> scale(ctx.input(1));
    const InputValues<S> bias(ctx.input(2));
    if (scale.size() != split.dim || bias.size() != split.dim) {
      ctx.fail("scale and B must have one value per channel (" + std::to_string(split.dim) + ")");
    }
    OutputValues<S> out(x.shape());
    std::copy(in.span().begin(), in.span().end(), out.span().begin());
    math::normalize_rows<C>(ctx.threads(), out.span(), split.inner, epsilon, true, {}, {});
    for (std::size_t row = 0; row < split.outer * split.dim; ++row) {
      const std::size_t c = row % split.dim;
      for (std::size_t i = 0; i < split.inner; ++i) {
        C& v = out[row * split.inner + i];
        v = v * scale[c] + bias[c];
      }
    }
    ctx.set_output(0, std::move(out).finish());
  });
}

// ---- LpNormalization: x / ||x||_p along one axis, p 1 or 2 ----

void lp_norm_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::size_t axis = normalize_axis(ctx.attr_int("axis", -1), x.rank());
  const std::int64_t p = ctx.attr_int("p", 2);
  if (p != 1 && p != 2) ctx.fail("p must be 1 or 2, got " + std::to_string(p));
  const math::AxisSplit split = math::split_at_axis(x.shape(), axis);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    OutputValues<S> out(x.shape());
    parallel_for(ctx.threads(), split.outer * split.inner, math::rows_per_task(split.dim),
                 [&](std::size_t begin, std::size_t end) {
                   for (std::size_t r = begin; r < end; ++r) {
                     const std::size_t base = (r / split.inner) * split.dim * split.inner + r % split.inner;
                     C norm{0};
                     for (std::size_t j = 0; j < split.dim; ++j) {
                       const C v = in[base + j * split.inner];
                       norm += p == 1 ? std::fabs(v) : v * v;
                     }
                     if (p == 2) norm = std::sqrt(norm);
                     // A zero vector stays zero (as ONNX Runtime gives) instead of 0/0 = NaN.
                     for (std::size_t j = 0; j < split.dim; ++j) {
                       const std::size_t k = base + j * split.inner;
                       out[k] = norm == C{0} ? C{0} : in[k] / norm;
                     }
                   }
                 });
    ctx.set_output(0, std::move(out).finish());
  });
}

// ---- MeanVarianceNormalization: (x - mean) / (sqrt(variance) + 1e-9) over `axes` ----

void mvn_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const auto axes = ctx.attr_ints("axes", {0, 2, 3});
  const math::ReductionWalk walk(x.shape(), math::axes_mask(axes, x.rank()), true);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    const auto count = static_cast<C>(walk.group_size());
    std::vector<C> mean(walk.output_size(), C{0});
    walk.for_each_run([&](std::size_t from, std::size_t to, std::size_t n, std::size_t step) {
      for (std::size_t i = 0; i < n; ++i) mean[to + i * step] += in[from + i];
    });
    for (auto& m : mean) m /= count;
    std::vector<C> variance(walk.output_size(), C{0});
    walk.for_each_run([&](std::size_t from, std::size_t to, std::size_t n, std::size_t step) {
      for (std::size_t i = 0; i < n; ++i) {
        const C d = in[from + i] - mean[to + i * step];
        variance[to + i * step] += d * d;
      }
    });
    // The spec's epsilon (1e-9) is added to the standard deviation, not to the variance.
    std::vector<C> denominator(variance.size());
    for (std::size_t o = 0; o < variance.size(); ++o) denominator[o] = std::sqrt(variance[o] / count) + C(1e-9);
    OutputValues<S> out(x.shape());
    walk.for_each_run([&](std::size_t from, std::size_t to, std::size_t n, std::size_t step) {
      for (std::size_t i = 0; i < n; ++i) {
        out[from + i] = (in[from + i] - mean[to + i * step]) / denominator[to + i * step];
      }
    });
    ctx.set_output(0, std::move(out).finish());
  });
}

}  // namespace

void register_normalization_kernels(KernelRegistry& r) {
  r.add("LayerNormalization", 1, layer_norm_kernel<true>);
  r.add("SimplifiedLayerNormalization", 1, layer_norm_kernel<false>);
  r.add("com.microsoft", "SimplifiedLayerNormalization", 1, layer_norm_kernel<false>);
  r.add("BatchNormalization", 1, batch_norm_kernel);
  r.add("InstanceNormalization", 1, instance_norm_kernel);
  r.add("LpNormalization", 1, lp_norm_kernel);
  r.add("MeanVarianceNormalization", 9, mvn_kernel);
}

}  // namespace onnx_fp16::runtime
