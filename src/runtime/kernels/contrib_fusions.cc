// More of ONNX Runtime's transformer and diffusion fusions (domain com.microsoft, version 1):
//   EmbedLayerNormalization  s = word_embedding[input_ids] + position_embedding[position]
//                                (+ segment_embedding[segment_ids]); output = LayerNorm(s) * gamma
//                                (+ beta); mask_index[b] = number of 1s in mask row b (0 without a
//                                mask); optional embedding_sum = s
//   GemmFastGelu             Y = FastGelu(X @ W (+ bias)), numpy.matmul batching, bias over the last axis
//   BiasSplitGelu            v = X + bias; Y = v[..., :D/2] * Gelu(v[..., D/2:]) (erf Gelu)
// Sums, products and activations are float32 for float16 inputs; each output is rounded once
// (embedding_sum on its own; the normalisation uses the unrounded float32 sum).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/kernels/math_normalize.h"

namespace onnx_fp16::runtime {

namespace {

using Index = std::size_t;

Index dim(const Tensor& t, std::size_t axis) { return static_cast<Index>(t.shape()[axis]); }

template <typename C>
C erf_gelu(C x) {
  return x * C(0.5) * (C{1} + std::erf(x * C(0.70710678118654752440)));
}

template <typename C>
C tanh_gelu(C x) {
  const C sqrt_2_over_pi = C(0.79788456080286535588);
  return C(0.5) * x * (C{1} + std::tanh(sqrt_2_over_pi * (x + C(0.044715) * x * x * x)));
}

// ---- EmbedLayerNormalization -------------------------------------------------------------------

// Inputs: input_ids (B, S), segment_ids, word_embedding (V, H), position_embedding (P, H),
// segment_embedding, gamma (H), beta, mask (B, S), position_ids ((B, S) or (1, S)). Outputs:
// output (B, S, H), mask_index (B) int32, embedding_sum (B, S, H).
void embed_layer_norm_kernel(KernelContext& ctx) {
  const Tensor& ids = ctx.input(0);
  const Tensor* segment_ids = ctx.optional_input(1);
  const Tensor& word = ctx.input(2);
  const Tensor& position = ctx.input(3);
  const Tensor* segment = ctx.optional_input(4);
  const Tensor& gamma = ctx.input(5);
  const Tensor* beta = ctx.optional_input(6);
  const Tensor* mask = ctx.optional_input(7);
  const Tensor* position_ids = ctx.optional_input(8);
  const double epsilon = ctx.attr_float("epsilon", 1e-12f);
  if (ids.rank() != 2) ctx.fail("input_ids must be (batch, sequence_length), got " + shape_to_string(ids.shape()));
  if (word.rank() != 2 || position.rank() != 2) ctx.fail("word_embedding and position_embedding must be 2-D");
  if ((segment_ids == nullptr) != (segment == nullptr)) {
    ctx.fail("segment_ids and segment_embedding must be given together");
  }
  for (const Tensor* t : {&position, segment, &gamma, beta}) {
    if (t != nullptr) require_same_type(ctx, word, *t);
  }
  const Index batch = dim(ids, 0), seq = dim(ids, 1), hidden = dim(word, 1);
  if (dim(position, 1) != hidden || (segment != nullptr && (segment->rank() != 2 || dim(*segment, 1) != hidden)) ||
      gamma.size() != hidden || (beta != nullptr && beta->size() != hidden)) {
    ctx.fail("embeddings, gamma and beta must all have hidden size " + std::to_string(hidden));
  }
  for (const Tensor* t : {segment_ids, mask}) {
    if (t != nullptr && t->shape() != ids.shape()) {
      ctx.fail("segment_ids and mask must have input_ids' shape " + shape_to_string(ids.shape()));
    }
  }
  const auto word_ids = to_int64_vector(ids);
  const auto segments = segment_ids ? to_int64_vector(*segment_ids) : std::vector<std::int64_t>{};
  std::vector<std::int64_t> positions;
  bool broadcast_positions = false;
  if (position_ids != nullptr) {
    positions = to_int64_vector(*position_ids);
    broadcast_positions = position_ids->rank() == 2 && dim(*position_ids, 0) == 1 && batch != 1;
    if (position_ids->rank() != 2 || dim(*position_ids, 1) != seq ||
        (dim(*position_ids, 0) != batch && !broadcast_positions)) {
      ctx.fail("position_ids must be (batch, sequence_length) or (1, sequence_length), got " +
               shape_to_string(position_ids->shape()));
    }
  }
  const auto row_of = [&](std::int64_t id, const Tensor& table, const char* what) {
    if (id < 0 || id >= table.shape()[0]) {
      ctx.fail(std::string(what) + " " + std::to_string(id) + " is out of range [0, " +
               std::to_string(table.shape()[0]) + ")");
    }
    return static_cast<Index>(id);
  };
  const Shape out_shape{ids.shape()[0], ids.shape()[1], static_cast<std::int64_t>(hidden)};
  dispatch<FloatTypes>(word.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> w(word), p(position);
    std::vector<C> seg;
    if (segment != nullptr) {
      const InputValues<S> sv(*segment);
      seg.assign(sv.span().begin(), sv.span().end());
    }
    OutputValues<S> out(out_shape);
    for (Index b = 0; b < batch; ++b) {
      for (Index s = 0; s < seq; ++s) {
        const Index i = b * seq + s;
        const Index wr = row_of(word_ids[i], word, "input id");
        const std::int64_t pos =
            position_ids == nullptr ? static_cast<std::int64_t>(s) : positions[broadcast_positions ? s : i];
        const Index pr = row_of(pos, position, "position id");
        C* o = out.span().data() + i * hidden;
        for (Index h = 0; h < hidden; ++h) o[h] = w[wr * hidden + h] + p[pr * hidden + h];
        if (segment != nullptr) {
          const Index sr = row_of(segments[i], *segment, "segment id");
          for (Index h = 0; h < hidden; ++h) o[h] += seg[sr * hidden + h];
        }
      }
    }
    if (ctx.output_count() > 2 && ctx.output_wanted(2)) {
      OutputValues<S> sum(out_shape);
      std::copy(out.span().begin(), out.span().end(), sum.span().begin());
      ctx.set_output(2, std::move(sum).finish());
    }
    math::normalize_rows<C>(ctx.threads(), out.span(), hidden, epsilon, true, {}, {});
    math::scale_and_shift<S>(out.span(), out_shape, &gamma, beta);
    ctx.set_output(0, std::move(out).finish());
  });
  if (ctx.output_count() > 1 && ctx.output_wanted(1)) {
    std::vector<std::int32_t> counts(batch, 0);
    if (mask != nullptr) {
      const auto m = to_int64_vector(*mask);
      for (Index b = 0; b < batch; ++b) {
        counts[b] = static_cast<std::int32_t>(std::count(m.begin() + b * seq, m.begin() + (b + 1) * seq, 1));
      }
    }
    ctx.set_output(1, Tensor::from_vector<std::int32_t>(Shape{ids.shape()[0]}, counts));
  }
}

// ---- GemmFastGelu ------------------------------------------------------------------------------

void gemm_fast_gelu_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* bias = ctx.optional_input(2);
  require_same_type(ctx, x, w);
  if (bias != nullptr) require_same_type(ctx, x, *bias);
  const math::MatMulPlan plan = math::plan_matmul(x.shape(), w.shape());
  const Index n = plan.output.empty() ? 1 : static_cast<Index>(plan.output.back());
  if (bias != nullptr && bias->size() != n)
    ctx.fail("bias must have " + std::to_string(n) + " values (the output's last dimension)");
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> a(x), b(w);
    OutputValues<S> out(plan.output);
    math::run_matmul<C>(ctx.threads(), plan, a.span().data(), b.span().data(), out.span().data());
    auto values = out.span();
    if (bias != nullptr) {
      const InputValues<S> bv(*bias);
      for (Index i = 0; i < values.size(); ++i) values[i] += bv[i % n];
    }
    for (auto& v : values) v = tanh_gelu(v);
    ctx.set_output(0, std::move(out).finish());
  });
}

// ---- BiasSplitGelu -----------------------------------------------------------------------------

void bias_split_gelu_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& bias = ctx.input(1);
  require_same_type(ctx, x, bias);
  if (x.rank() < 1) ctx.fail("X must have rank 1 or more");
  const Index width = static_cast<Index>(x.shape().back());
  if (width % 2 != 0) ctx.fail("X's last dimension " + std::to_string(width) + " is not even");
  if (bias.size() != width || bias.rank() != 1) ctx.fail("bias must be 1-D with " + std::to_string(width) + " values");
  const Index half = width / 2;
  const Index rows = width == 0 ? 0 : x.size() / width;
  Shape out_shape = x.shape();
  out_shape.back() = static_cast<std::int64_t>(half);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    const InputValues<S> in(x), b(bias);
    OutputValues<S> out(out_shape);
    for (Index r = 0; r < rows; ++r) {
      for (Index j = 0; j < half; ++j) {
        const auto left = in[r * width + j] + b[j];
        const auto right = in[r * width + half + j] + b[half + j];
        out[r * half + j] = left * erf_gelu(right);
      }
    }
    ctx.set_output(0, std::move(out).finish());
  });
}

}  // namespace

void register_contrib_fusions_kernels(KernelRegistry& r) {
  constexpr const char* kMs = "com.microsoft";
  r.add(kMs, "EmbedLayerNormalization", 1, embed_layer_norm_kernel);
  r.add(kMs, "GemmFastGelu", 1, gemm_fast_gelu_kernel);
  r.add(kMs, "BiasSplitGelu", 1, bias_split_gelu_kernel);
}

}  // namespace onnx_fp16::runtime
