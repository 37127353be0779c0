// ONNX Runtime's attention fusions (domain com.microsoft, version 1), with the semantics of its
// ContribOperators.md and its CPU kernels:
//   Attention            packed Q/K/V projection of one input, then multi-head attention; optional
//                        mask_index, past -> present, attention_bias, unidirectional (causal)
//   MultiHeadAttention   separate 3-D query/key/value (plus optional packed bias), key_padding_mask,
//                        attention_bias, past_key/past_value -> present_key/present_value
//   GroupQueryAttention  kv_num_heads K/V heads shared by groups of query heads, causal, a KV cache
//                        addressed by seqlens_k / total_sequence_length, optional rotary embedding
//   RotaryEmbedding      rotates head vectors by cos/sin caches indexed by position_ids
// For every head: scores = scale * Q K^T (+ mask + attention_bias), softmax over keys, times V.
// Masks are additive as in ORT's CPU kernels: a masked key gets mask_filter_value (default -10000)
// added to its score, so a fully masked row is still a softmax over its raw scores. Projections,
// scores, probabilities and products are all float32 for float16 inputs; each output (and each
// present cache) is rounded once.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/elementwise.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_gemm.h"

namespace onnx_fp16::runtime {

namespace {

using Index = std::size_t;

Index dim(const Tensor& t, std::size_t axis) { return static_cast<Index>(t.shape()[axis]); }

std::string shape_text(const Shape& shape) { return shape_to_string(shape); }

// Refuses an integer attribute whose value is not the one the kernel implements.
void require_attribute(const KernelContext& ctx, std::string_view name, std::int64_t supported) {
  if (!ctx.has_attribute(name)) return;
  const std::int64_t value = ctx.attr_int(name);
  if (value != supported) {
    ctx.fail("attribute '" + std::string(name) + "' = " + std::to_string(value) + " is not supported (only " +
             std::to_string(supported) + ")");
  }
}

void refuse_input(const KernelContext& ctx, Index i, std::string_view name) {
  if (ctx.has_input(i)) ctx.fail("input " + std::to_string(i) + " (" + std::string(name) + ") is not supported");
}

void refuse_output(const KernelContext& ctx, Index i, std::string_view name) {
  if (i < ctx.output_count() && ctx.output_wanted(i)) {
    ctx.fail("output " + std::to_string(i) + " (" + std::string(name) + ") is not supported");
  }
}

void require_rank(const KernelContext& ctx, const Tensor& t, std::size_t rank, std::string_view name) {
  if (t.rank() != rank) {
    ctx.fail(std::string(name) + " must have rank " + std::to_string(rank) + ", got shape " + shape_text(t.shape()));
  }
}

// ---- the attention core ------------------------------------------------------------------------

// Query element (b, s, h, d) is q[(b * q_len + s) * q_row + h * head_size + d]; keys and values are
// [batch, kv_heads, kv_len, head_size | v_head_size]; query head h reads kv head h / (heads / kv_heads).
// The output (b, s, h, d) goes to out[(b * q_len + s) * heads * v_head_size + h * v_head_size + d].
template <typename C>
struct AttentionCore {
  Index batch = 0, heads = 0, kv_heads = 0, q_len = 0, kv_len = 0, head_size = 0, v_head_size = 0;
  const C* q = nullptr;
  Index q_row = 0;
  const C* k = nullptr;
  const C* v = nullptr;
  C scale{1};
  C softcap{0};  // > 0: scores = softcap * tanh(scores / softcap), before masks
  int threads = 1;  // for the matrix products
};

// Runs the core. adjust(b, h, scores) edits one head's [q_len x kv_len] scores (masks, biases; -inf
// excludes a key) before the softmax. A row with every key excluded gives zeros.
template <typename C, typename Adjust>
void run_attention(const AttentionCore<C>& a, C* out, Adjust adjust) {
  const Index group = a.heads / a.kv_heads;
  const Index out_row = a.heads * a.v_head_size;
  std::vector<C> scores(a.q_len * a.kv_len);
  for (Index b = 0; b < a.batch; ++b) {
    for (Index h = 0; h < a.heads; ++h) {
      const Index kvh = h / group;
      const C* q = a.q + b * a.q_len * a.q_row + h * a.head_size;
      const C* k = a.k + (b * a.kv_heads + kvh) * a.kv_len * a.head_size;
      const C* v = a.v + (b * a.kv_heads + kvh) * a.kv_len * a.v_head_size;
      math::blas_gemm<C>(a.threads, false, true, a.q_len, a.kv_len, a.head_size, a.scale, q, a.q_row, k, a.head_size, C{0}, scores.data(),
                  a.kv_len);
      if (a.softcap > C{0}) {
        for (auto& s : scores) s = a.softcap * std::tanh(s / a.softcap);
      }
      adjust(b, h, std::span<C>(scores));
      for (Index s = 0; s < a.q_len; ++s) {
        C* row = scores.data() + s * a.kv_len;
        C max = -std::numeric_limits<C>::infinity();
        for (Index t = 0; t < a.kv_len; ++t) max = std::max(max, row[t]);
        if (std::isinf(max) && max < 0) {
          std::fill(row, row + a.kv_len, C{0});
          continue;
        }
        C sum{0};
        for (Index t = 0; t < a.kv_len; ++t) {
          row[t] = std::exp(row[t] - max);
          sum += row[t];
        }
        for (Index t = 0; t < a.kv_len; ++t) row[t] /= sum;
      }
      math::blas_gemm<C>(a.threads, false, false, a.q_len, a.v_head_size, a.kv_len, C{1}, scores.data(), a.kv_len, v, a.v_head_size, C{0},
                  out + b * a.q_len * out_row + h * a.v_head_size, out_row);
    }
  }
}

// The additive key mask of Attention / MultiHeadAttention, [batch x q_len x total] (empty when
// nothing is masked): 0 for an attended key, filter for a masked one. mask_index forms: (batch) key
// lengths (keys at or after the length are masked), (2 * batch) lengths then start positions (keys
// before the start masked too), (batch, total) and (batch, q_len, total) 0/1 masks. causal masks
// key t for query s when t > past + s.
template <typename C>
std::vector<C> key_mask(const KernelContext& ctx, const Tensor* mask, std::string_view mask_name, bool causal,
                        Index batch, Index q_len, Index past, Index total, C filter) {
  std::vector<C> m;
  if (mask == nullptr && !causal) return m;
  m.assign(batch * q_len * total, C{0});
  if (mask != nullptr) {
    const auto values = to_int64_vector(*mask);
    const Shape& shape = mask->shape();
    const auto bad = [&] {
      ctx.fail(std::string(mask_name) + " of shape " + shape_text(shape) +
               " is not supported (supported: (batch), (2 * batch), (batch, total_sequence_length), (batch, "
               "sequence_length, total_sequence_length))");
    };
    if (shape.size() == 1 && (dim(*mask, 0) == batch || dim(*mask, 0) == 2 * batch)) {
      const bool has_start = batch > 0 && dim(*mask, 0) == 2 * batch;
      for (Index b = 0; b < batch; ++b) {
        const auto end = std::clamp<std::int64_t>(values[b], 0, static_cast<std::int64_t>(total));
        const auto start =
            has_start ? std::clamp<std::int64_t>(values[batch + b], 0, static_cast<std::int64_t>(total)) : 0;
        for (Index s = 0; s < q_len; ++s) {
          C* row = m.data() + (b * q_len + s) * total;
          for (Index t = 0; t < total; ++t) {
            const auto ti = static_cast<std::int64_t>(t);
            if (ti >= end || ti < start) row[t] = filter;
          }
        }
      }
    } else if (shape.size() == 2 && dim(*mask, 0) == batch && dim(*mask, 1) == total) {
      for (Index b = 0; b < batch; ++b) {
        for (Index s = 0; s < q_len; ++s) {
          for (Index t = 0; t < total; ++t) {
            if (values[b * total + t] <= 0) m[(b * q_len + s) * total + t] = filter;
          }
        }
      }
    } else if (shape.size() == 3 && dim(*mask, 0) == batch && dim(*mask, 1) == q_len && dim(*mask, 2) == total) {
      for (Index i = 0; i < m.size(); ++i) {
        if (values[i] <= 0) m[i] = filter;
      }
    } else {
      bad();
    }
  }
  if (causal) {
    for (Index b = 0; b < batch; ++b) {
      for (Index s = 0; s < q_len; ++s) {
        for (Index t = past + s + 1; t < total; ++t) m[(b * q_len + s) * total + t] = filter;
      }
    }
  }
  return m;
}

// attention_bias: (batch or 1, heads or 1, q_len, total), added to the scores.
void check_attention_bias(const KernelContext& ctx, const Tensor& bias, Index batch, Index heads, Index q_len,
                          Index total) {
  const Shape& s = bias.shape();
  if (s.size() != 4 || (dim(bias, 0) != batch && dim(bias, 0) != 1) || (dim(bias, 1) != heads && dim(bias, 1) != 1) ||
      dim(bias, 2) != q_len || dim(bias, 3) != total) {
    ctx.fail("attention_bias of shape " + shape_text(s) + " does not match (batch or 1, num_heads or 1, " +
             std::to_string(q_len) + ", " + std::to_string(total) + ")");
  }
}

template <typename C>
void add_mask_and_bias(std::span<C> scores, const std::vector<C>& mask, const C* bias, const Shape& bias_shape, Index b,
                       Index h, Index q_len, Index total) {
  if (!mask.empty()) {
    const C* m = mask.data() + b * q_len * total;
    for (Index i = 0; i < q_len * total; ++i) scores[i] += m[i];
  }
  if (bias != nullptr) {
    const Index bb = bias_shape[0] == 1 ? 0 : b;
    const Index bh = bias_shape[1] == 1 ? 0 : h;
    const C* p = bias + (bb * static_cast<Index>(bias_shape[1]) + bh) * q_len * total;
    for (Index i = 0; i < q_len * total; ++i) scores[i] += p[i];
  }
}

// cache [batch, heads, past + new_len, size] from past [batch, heads, past, size] (or none) and the
// new rows: element (b, s, h, d) of the new values at fresh[(b * new_len + s) * row + h * size + d].
template <typename C>
std::vector<C> concat_cache(const C* past, Index past_len, const C* fresh, Index row, Index batch, Index heads,
                            Index new_len, Index size) {
  const Index total = past_len + new_len;
  std::vector<C> cache(batch * heads * total * size);
  for (Index b = 0; b < batch; ++b) {
    for (Index h = 0; h < heads; ++h) {
      C* dst = cache.data() + (b * heads + h) * total * size;
      if (past_len > 0) std::copy_n(past + (b * heads + h) * past_len * size, past_len * size, dst);
      for (Index s = 0; s < new_len; ++s) {
        std::copy_n(fresh + (b * new_len + s) * row + h * size, size, dst + (past_len + s) * size);
      }
    }
  }
  return cache;
}

template <typename S>
Tensor float_output(Shape shape, std::span<const compute_t<S>> values) {
  OutputValues<S> out(std::move(shape));
  std::copy(values.begin(), values.end(), out.span().begin());
  return std::move(out).finish();
}

// ---- rotary embedding --------------------------------------------------------------------------

// y = x with its first rotary_dim values rotated by the angles of one cache row (cos/sin of
// rotary_dim / 2 angles): pairs (i, i + rotary_dim / 2), or (2i, 2i + 1) when interleaved. x and y
// may be the same.
template <typename C>
void rotate(const C* x, C* y, Index head_size, Index rotary_dim, const C* cos_row, const C* sin_row, bool interleaved) {
  const Index half = rotary_dim / 2;
  for (Index i = 0; i < half; ++i) {
    const Index i1 = interleaved ? 2 * i : i;
    const Index i2 = interleaved ? 2 * i + 1 : i + half;
    const C a = x[i1], b = x[i2], c = cos_row[i], s = sin_row[i];
    y[i1] = a * c - b * s;
    y[i2] = b * c + a * s;
  }
  if (x != y) std::copy(x + rotary_dim, x + head_size, y + rotary_dim);
}

// cos_cache / sin_cache: (max_positions, rotary_dim / 2), the input's type.
void check_rotary_caches(const KernelContext& ctx, const Tensor& x, const Tensor& cos_cache, const Tensor& sin_cache) {
  require_same_type(ctx, x, cos_cache);
  require_same_type(ctx, x, sin_cache);
  if (cos_cache.rank() != 2 || cos_cache.shape() != sin_cache.shape()) {
    ctx.fail("cos_cache and sin_cache must both be (max_sequence_length, rotary_dim / 2), got " +
             shape_text(cos_cache.shape()) + " and " + shape_text(sin_cache.shape()));
  }
}

void rotary_embedding_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& positions = ctx.input(1);
  const Tensor& cos_cache = ctx.input(2);
  const Tensor& sin_cache = ctx.input(3);
  require_attribute(ctx, "is_packed_batching", 0);
  if (ctx.has_attribute("scale") && ctx.attr_float("scale") != 1.0f) {
    ctx.fail("attribute 'scale' = " + std::to_string(ctx.attr_float("scale")) + " is not supported (only 1.0)");
  }
  const bool interleaved = ctx.attr_int("interleaved", 0) != 0;
  const auto num_heads_attr = ctx.attr_int("num_heads", 0);
  const auto rotary_attr = ctx.attr_int("rotary_embedding_dim", 0);
  check_rotary_caches(ctx, x, cos_cache, sin_cache);
  if (x.rank() != 3 && x.rank() != 4) {
    ctx.fail("input must be 3-D (batch, sequence, hidden) or 4-D (batch, heads, sequence, head_size), got " +
             shape_text(x.shape()));
  }
  const Index batch = dim(x, 0);
  Index heads = 0, seq = 0, head_size = 0;
  if (x.rank() == 4) {
    heads = dim(x, 1);
    seq = dim(x, 2);
    head_size = dim(x, 3);
  } else {
    seq = dim(x, 1);
    const Index hidden = dim(x, 2);
    if (rotary_attr > 0 && num_heads_attr <= 0) ctx.fail("attribute 'rotary_embedding_dim' requires 'num_heads'");
    head_size = num_heads_attr > 0 ? hidden / static_cast<Index>(num_heads_attr) : 2 * dim(cos_cache, 1);
    if (head_size == 0 || hidden % head_size != 0) {
      ctx.fail("hidden size " + std::to_string(hidden) + " is not a multiple of head_size " +
               std::to_string(head_size));
    }
    heads = hidden / head_size;
  }
  const Index rotary_dim = rotary_attr > 0 ? static_cast<Index>(rotary_attr) : head_size;
  if (rotary_dim > head_size || rotary_dim % 2 != 0 || dim(cos_cache, 1) != rotary_dim / 2) {
    ctx.fail("cos_cache of shape " + shape_text(cos_cache.shape()) + " does not fit rotary_dim " +
             std::to_string(rotary_dim) + " and head_size " + std::to_string(head_size));
  }
  const Index max_positions = dim(cos_cache, 0);
  const auto ids = to_int64_vector(positions);
  const bool offset_form = positions.size() == 1;
  if (!offset_form && (positions.rank() != 2 || dim(positions, 0) != batch || dim(positions, 1) != seq)) {
    ctx.fail("position_ids must be (1) or (batch, sequence_length), got " + shape_text(positions.shape()));
  }
  const auto position = [&](Index b, Index s) {
    const std::int64_t p = offset_form ? ids[0] + static_cast<std::int64_t>(s) : ids[b * seq + s];
    if (p < 0 || p >= static_cast<std::int64_t>(max_positions)) {
      ctx.fail("position " + std::to_string(p) + " is outside the cos/sin caches (" + std::to_string(max_positions) +
               " positions)");
    }
    return static_cast<Index>(p);
  };
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    const InputValues<S> in(x), cos_v(cos_cache), sin_v(sin_cache);
    OutputValues<S> out(x.shape());
    const Index half = rotary_dim / 2;
    for (Index b = 0; b < batch; ++b) {
      for (Index s = 0; s < seq; ++s) {
        const Index p = position(b, s);
        for (Index h = 0; h < heads; ++h) {
          const Index offset =
              x.rank() == 4 ? ((b * heads + h) * seq + s) * head_size : ((b * seq + s) * heads + h) * head_size;
          rotate(in.span().data() + offset, out.span().data() + offset, head_size, rotary_dim,
                 cos_v.span().data() + p * half, sin_v.span().data() + p * half, interleaved);
        }
      }
    }
    ctx.set_output(0, std::move(out).finish());
  });
}

// ---- Attention ---------------------------------------------------------------------------------

void attention_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& weights = ctx.input(1);
  const Tensor* bias = ctx.optional_input(2);
  const Tensor* mask = ctx.optional_input(3);
  const Tensor* past = ctx.optional_input(4);
  const Tensor* attention_bias = ctx.optional_input(5);
  refuse_input(ctx, 6, "past_sequence_length");
  require_attribute(ctx, "do_rotary", 0);
  require_attribute(ctx, "past_present_share_buffer", 0);
  const auto num_heads = ctx.attr_int("num_heads");
  const bool unidirectional = ctx.attr_int("unidirectional", 0) != 0;
  const float mask_filter = ctx.attr_float("mask_filter_value", -10000.0f);
  require_rank(ctx, x, 3, "input");
  require_rank(ctx, weights, 2, "weights");
  require_same_type(ctx, x, weights);
  if (num_heads <= 0) ctx.fail("attribute 'num_heads' must be positive");
  const Index heads = static_cast<Index>(num_heads);
  const Index batch = dim(x, 0), seq = dim(x, 1), in_hidden = dim(x, 2);
  if (dim(weights, 0) != in_hidden) {
    ctx.fail("weights of shape " + shape_text(weights.shape()) + " do not match input hidden size " +
             std::to_string(in_hidden));
  }
  const Index width = dim(weights, 1);
  std::vector<std::int64_t> sizes = ctx.attr_ints("qkv_hidden_sizes", {});
  if (sizes.empty()) {
    if (width % 3 != 0) ctx.fail("weights width " + std::to_string(width) + " is not 3 * hidden_size");
    sizes.assign(3, static_cast<std::int64_t>(width / 3));
  }
  if (sizes.size() != 3 || sizes[0] != sizes[1] || sizes[0] <= 0 || sizes[2] <= 0 ||
      static_cast<Index>(sizes[0] + sizes[1] + sizes[2]) != width || sizes[0] % num_heads != 0 ||
      sizes[2] % num_heads != 0) {
    ctx.fail(
        "attribute 'qkv_hidden_sizes' must be 3 sizes (Q = K), multiples of num_heads, summing to the weights "
        "width " +
        std::to_string(width));
  }
  const Index hidden = static_cast<Index>(sizes[0]), v_hidden = static_cast<Index>(sizes[2]);
  const Index head_size = hidden / heads, v_head_size = v_hidden / heads;
  if (bias != nullptr) {
    require_same_type(ctx, x, *bias);
    if (bias->size() != width) ctx.fail("bias must have " + std::to_string(width) + " values");
  }
  Index past_len = 0;
  if (past != nullptr) {
    require_same_type(ctx, x, *past);
    if (head_size != v_head_size) ctx.fail("past requires equal Q/K/V hidden sizes ('qkv_hidden_sizes')");
    if (past->rank() != 5 || dim(*past, 0) != 2 || dim(*past, 1) != batch || dim(*past, 2) != heads ||
        dim(*past, 4) != head_size) {
      ctx.fail("past must be (2, batch, num_heads, past_sequence_length, head_size), got " + shape_text(past->shape()));
    }
    past_len = dim(*past, 3);
  }
  if (ctx.output_wanted(1) && head_size != v_head_size) {
    ctx.fail("present requires equal Q/K/V hidden sizes ('qkv_hidden_sizes')");
  }
  const Index total = past_len + seq;
  if (attention_bias != nullptr) {
    require_same_type(ctx, x, *attention_bias);
    check_attention_bias(ctx, *attention_bias, batch, heads, seq, total);
  }
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x), w(weights);
    std::vector<C> qkv(batch * seq * width);
    math::blas_gemm<C>(ctx.threads(), false, false, batch * seq, width, in_hidden, C{1}, in.span().data(), in_hidden, w.span().data(), width,
                C{0}, qkv.data(), width);
    if (bias != nullptr) {
      const InputValues<S> bv(*bias);
      for (Index r = 0; r < batch * seq; ++r) {
        for (Index j = 0; j < width; ++j) qkv[r * width + j] += bv[j];
      }
    }
    std::vector<C> past_values;
    if (past != nullptr) {
      const InputValues<S> pv(*past);
      past_values.assign(pv.span().begin(), pv.span().end());
    }
    const Index past_half = batch * heads * past_len * head_size;
    const auto keys =
        concat_cache<C>(past_values.data(), past_len, qkv.data() + hidden, width, batch, heads, seq, head_size);
    const auto values = concat_cache<C>(past_values.data() + past_half, past_len, qkv.data() + 2 * hidden, width, batch,
                                        heads, seq, v_head_size);
    const auto m = key_mask<C>(ctx, mask, "mask_index", unidirectional, batch, seq, past_len, total, C(mask_filter));
    std::vector<C> bias_values;
    if (attention_bias != nullptr) {
      const InputValues<S> ab(*attention_bias);
      bias_values.assign(ab.span().begin(), ab.span().end());
    }
    const float scale_attr = ctx.attr_float("scale", 0.0f);
    AttentionCore<C> core;
    core.threads = ctx.threads();
    core.batch = batch;
    core.heads = core.kv_heads = heads;
    core.q_len = seq;
    core.kv_len = total;
    core.head_size = head_size;
    core.v_head_size = v_head_size;
    core.q = qkv.data();
    core.q_row = width;
    core.k = keys.data();
    core.v = values.data();
    core.scale = scale_attr == 0.0f ? C{1} / std::sqrt(static_cast<C>(head_size)) : static_cast<C>(scale_attr);
    OutputValues<S> out(Shape{x.shape()[0], x.shape()[1], static_cast<std::int64_t>(v_hidden)});
    run_attention(core, out.span().data(), [&](Index b, Index h, std::span<C> scores) {
      add_mask_and_bias(scores, m, attention_bias ? bias_values.data() : nullptr,
                        attention_bias ? attention_bias->shape() : Shape{}, b, h, seq, total);
    });
    ctx.set_output(0, std::move(out).finish());
    if (ctx.output_wanted(1)) {
      std::vector<C> present(keys);
      present.insert(present.end(), values.begin(), values.end());
      ctx.set_output(1, float_output<S>(Shape{2, static_cast<std::int64_t>(batch), num_heads,
                                              static_cast<std::int64_t>(total), static_cast<std::int64_t>(head_size)},
                                        present));
    }
  });
}

// ---- MultiHeadAttention ------------------------------------------------------------------------

void multi_head_attention_kernel(KernelContext& ctx) {
  const Tensor& query = ctx.input(0);
  const Tensor* key = ctx.optional_input(1);
  const Tensor* value = ctx.optional_input(2);
  const Tensor* bias = ctx.optional_input(3);
  const Tensor* mask = ctx.optional_input(4);
  const Tensor* attention_bias = ctx.optional_input(5);
  const Tensor* past_key = ctx.optional_input(6);
  const Tensor* past_value = ctx.optional_input(7);
  refuse_input(ctx, 8, "past_sequence_length");
  refuse_input(ctx, 9, "cache_indirection");
  refuse_output(ctx, 3, "qk");
  const auto num_heads = ctx.attr_int("num_heads");
  const bool unidirectional = ctx.attr_int("unidirectional", 0) != 0;
  const float mask_filter = ctx.attr_float("mask_filter_value", -10000.0f);
  if (num_heads <= 0) ctx.fail("attribute 'num_heads' must be positive");
  if (query.rank() != 3) {
    ctx.fail("only a 3-D query (batch, sequence, hidden) is supported (packed QKV is not), got " +
             shape_text(query.shape()));
  }
  if (key == nullptr || value == nullptr) ctx.fail("key and value are required (packed QKV/KV is not supported)");
  if (key->rank() != 3 || value->rank() != 3) {
    ctx.fail(
        "only 3-D key and value (batch, kv_sequence, hidden) are supported (packed KV and BNSH key/value are "
        "not), got " +
        shape_text(key->shape()) + " and " + shape_text(value->shape()));
  }
  for (const Tensor* t : {key, value, bias, attention_bias, past_key, past_value}) {
    if (t != nullptr) require_same_type(ctx, query, *t);
  }
  const Index heads = static_cast<Index>(num_heads);
  const Index batch = dim(query, 0), seq = dim(query, 1), hidden = dim(query, 2);
  const Index kv_seq = dim(*key, 1), v_hidden = dim(*value, 2);
  if (dim(*key, 0) != batch || dim(*value, 0) != batch || dim(*key, 2) != hidden || dim(*value, 1) != kv_seq) {
    ctx.fail("query " + shape_text(query.shape()) + ", key " + shape_text(key->shape()) + " and value " +
             shape_text(value->shape()) + " do not match");
  }
  if (hidden % heads != 0 || v_hidden % heads != 0) ctx.fail("hidden sizes must be multiples of num_heads");
  const Index head_size = hidden / heads, v_head_size = v_hidden / heads;
  if (bias != nullptr && bias->size() != 2 * hidden + v_hidden) {
    ctx.fail("bias must have " + std::to_string(2 * hidden + v_hidden) + " values");
  }
  if ((past_key == nullptr) != (past_value == nullptr)) ctx.fail("past_key and past_value must be given together");
  Index past_len = 0;
  if (past_key != nullptr) {
    past_len = past_key->rank() == 4 ? dim(*past_key, 2) : 0;
    if (past_key->shape() != Shape{static_cast<std::int64_t>(batch), num_heads, static_cast<std::int64_t>(past_len),
                                   static_cast<std::int64_t>(head_size)} ||
        past_value->shape() != Shape{static_cast<std::int64_t>(batch), num_heads, static_cast<std::int64_t>(past_len),
                                     static_cast<std::int64_t>(v_head_size)}) {
      ctx.fail("past_key/past_value must be (batch, num_heads, past_sequence_length, head_size), got " +
               shape_text(past_key->shape()) + " and " + shape_text(past_value->shape()));
    }
  }
  const Index total = past_len + kv_seq;
  if (attention_bias != nullptr) check_attention_bias(ctx, *attention_bias, batch, heads, seq, total);
  dispatch<FloatTypes>(query.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const auto read = [](const Tensor* t) {
      const InputValues<S> v(*t);
      return std::vector<C>(v.span().begin(), v.span().end());
    };
    std::vector<C> q = read(&query), k = read(key), v = read(value);
    if (bias != nullptr) {
      const auto bv = read(bias);
      for (Index i = 0; i < q.size(); ++i) q[i] += bv[i % hidden];
      for (Index i = 0; i < k.size(); ++i) k[i] += bv[hidden + i % hidden];
      for (Index i = 0; i < v.size(); ++i) v[i] += bv[2 * hidden + i % v_hidden];
    }
    std::vector<C> pk, pv;
    if (past_key != nullptr) {
      pk = read(past_key);
      pv = read(past_value);
    }
    const auto keys = concat_cache<C>(pk.data(), past_len, k.data(), hidden, batch, heads, kv_seq, head_size);
    const auto values = concat_cache<C>(pv.data(), past_len, v.data(), v_hidden, batch, heads, kv_seq, v_head_size);
    const auto m =
        key_mask<C>(ctx, mask, "key_padding_mask", unidirectional, batch, seq, past_len, total, C(mask_filter));
    std::vector<C> bias_values;
    if (attention_bias != nullptr) bias_values = read(attention_bias);
    const float scale_attr = ctx.attr_float("scale", 0.0f);
    AttentionCore<C> core;
    core.threads = ctx.threads();
    core.batch = batch;
    core.heads = core.kv_heads = heads;
    core.q_len = seq;
    core.kv_len = total;
    core.head_size = head_size;
    core.v_head_size = v_head_size;
    core.q = q.data();
    core.q_row = hidden;
    core.k = keys.data();
    core.v = values.data();
    core.scale = scale_attr == 0.0f ? C{1} / std::sqrt(static_cast<C>(head_size)) : static_cast<C>(scale_attr);
    OutputValues<S> out(Shape{query.shape()[0], query.shape()[1], static_cast<std::int64_t>(v_hidden)});
    run_attention(core, out.span().data(), [&](Index b, Index h, std::span<C> scores) {
      add_mask_and_bias(scores, m, attention_bias ? bias_values.data() : nullptr,
                        attention_bias ? attention_bias->shape() : Shape{}, b, h, seq, total);
    });
    ctx.set_output(0, std::move(out).finish());
    const auto cache_shape = [&](Index size) {
      return Shape{static_cast<std::int64_t>(batch), num_heads, static_cast<std::int64_t>(total),
                   static_cast<std::int64_t>(size)};
    };
    if (ctx.output_count() > 1 && ctx.output_wanted(1))
      ctx.set_output(1, float_output<S>(cache_shape(head_size), keys));
    if (ctx.output_count() > 2 && ctx.output_wanted(2)) {
      ctx.set_output(2, float_output<S>(cache_shape(v_head_size), values));
    }
  });
}

// ---- GroupQueryAttention -----------------------------------------------------------------------

// Per batch entry b: total_b = seqlens_k[b] + 1 keys, of which the new sequence_length ones sit at
// [past_b, total_b), past_b = total_b - sequence_length (0 on the first prompt, when
// sequence_length == total_sequence_length). Query s (absolute position past_b + s) attends to keys
// t <= past_b + s, t < total_b, and with local_window_size W >= 0 only the last W of them
// (t > past_b + s - W). The
// present caches are (batch, kv_num_heads, max(total_sequence_length, past buffer length),
// head_size): the past buffer, then the new keys written at [past_b, total_b), zeros elsewhere.
void group_query_attention_kernel(KernelContext& ctx) {
  const Tensor& query = ctx.input(0);
  const Tensor* key = ctx.optional_input(1);
  const Tensor* value = ctx.optional_input(2);
  const Tensor* past_key = ctx.optional_input(3);
  const Tensor* past_value = ctx.optional_input(4);
  const Tensor& seqlens_k = ctx.input(5);
  const Tensor& total_length_input = ctx.input(6);
  const Tensor* cos_cache = ctx.optional_input(7);
  const Tensor* sin_cache = ctx.optional_input(8);
  refuse_input(ctx, 9, "position_ids");
  refuse_input(ctx, 10, "attention_bias");
  refuse_input(ctx, 11, "head_sink");
  for (Index i = 12; i < ctx.input_count(); ++i) refuse_input(ctx, i, "quantized KV cache / qk norm input");
  refuse_output(ctx, 3, "output_qk");
  require_attribute(ctx, "smooth_softmax", 0);
  require_attribute(ctx, "qk_output", 0);
  require_attribute(ctx, "causal", 1);
  require_attribute(ctx, "sliding_window_cache", 0);
  for (const char* quant : {"k_quant_type", "v_quant_type"}) {
    if (ctx.has_attribute(quant) && ctx.attr_string(quant) != "NONE") {
      ctx.fail("attribute '" + std::string(quant) + "' = '" + ctx.attr_string(quant) +
               "' is not supported (only NONE)");
    }
  }
  const auto num_heads = ctx.attr_int("num_heads");
  const auto kv_num_heads = ctx.attr_int("kv_num_heads");
  const bool do_rotary = ctx.attr_int("do_rotary", 0) != 0;
  const bool interleaved = ctx.attr_int("rotary_interleaved", 0) != 0;
  const auto window = ctx.attr_int("local_window_size", -1);
  const float softcap = ctx.attr_float("softcap", 0.0f);
  if (num_heads <= 0 || kv_num_heads <= 0 || num_heads % kv_num_heads != 0) {
    ctx.fail("attributes 'num_heads' (" + std::to_string(num_heads) + ") and 'kv_num_heads' (" +
             std::to_string(kv_num_heads) + ") must be positive, num_heads a multiple of kv_num_heads");
  }
  require_rank(ctx, query, 3, "query");
  const Index heads = static_cast<Index>(num_heads), kv_heads = static_cast<Index>(kv_num_heads);
  const Index batch = dim(query, 0), seq = dim(query, 1);
  const bool packed = key == nullptr;
  if (packed != (value == nullptr)) ctx.fail("key and value must be given together (or both absent: packed QKV)");
  const Index query_width = dim(query, 2);
  Index head_size = 0;
  if (packed) {
    if (query_width % (heads + 2 * kv_heads) != 0)
      ctx.fail("packed QKV width is not (num_heads + 2 * kv_num_heads) * head_size");
    head_size = query_width / (heads + 2 * kv_heads);
  } else {
    if (query_width % heads != 0) ctx.fail("query hidden size is not a multiple of num_heads");
    head_size = query_width / heads;
    const Shape kv_shape{static_cast<std::int64_t>(batch), static_cast<std::int64_t>(seq),
                         static_cast<std::int64_t>(kv_heads * head_size)};
    if (key->shape() != kv_shape || value->shape() != kv_shape) {
      ctx.fail("key and value must be " + shape_text(kv_shape) + ", got " + shape_text(key->shape()) + " and " +
               shape_text(value->shape()));
    }
    require_same_type(ctx, query, *key);
    require_same_type(ctx, query, *value);
  }
  if ((past_key == nullptr) != (past_value == nullptr)) ctx.fail("past_key and past_value must be given together");
  Index past_buffer = 0;
  if (past_key != nullptr) {
    require_same_type(ctx, query, *past_key);
    require_same_type(ctx, query, *past_value);
    past_buffer = past_key->rank() == 4 ? dim(*past_key, 2) : 0;
    const Shape expected{static_cast<std::int64_t>(batch), kv_num_heads, static_cast<std::int64_t>(past_buffer),
                         static_cast<std::int64_t>(head_size)};
    if (past_key->shape() != expected || past_value->shape() != expected) {
      ctx.fail("past_key/past_value must be (batch, kv_num_heads, past_sequence_length, head_size), got " +
               shape_text(past_key->shape()) + " and " + shape_text(past_value->shape()));
    }
  }
  const auto lengths = to_int64_vector(seqlens_k);
  if (lengths.size() != batch) ctx.fail("seqlens_k must have batch_size values");
  const std::int64_t total_length = scalar_to_int64(total_length_input);
  const bool first_prompt = static_cast<std::int64_t>(seq) == total_length;
  const Index present_len = std::max(static_cast<Index>(std::max<std::int64_t>(total_length, 0)), past_buffer);
  std::vector<Index> totals(batch), pasts(batch);
  for (Index b = 0; b < batch; ++b) {
    const std::int64_t t = lengths[b] + 1;
    const std::int64_t p = first_prompt ? 0 : t - static_cast<std::int64_t>(seq);
    if (t < 1 || t > static_cast<std::int64_t>(present_len) || p < 0 || (!first_prompt && t > total_length)) {
      ctx.fail("seqlens_k[" + std::to_string(b) + "] = " + std::to_string(lengths[b]) +
               " does not fit sequence_length " + std::to_string(seq) + " and total_sequence_length " +
               std::to_string(total_length));
    }
    totals[b] = static_cast<Index>(t);
    pasts[b] = static_cast<Index>(p);
  }
  Index rotary_dim = 0;
  if (do_rotary) {
    if (cos_cache == nullptr || sin_cache == nullptr) ctx.fail("do_rotary = 1 needs cos_cache and sin_cache");
    check_rotary_caches(ctx, query, *cos_cache, *sin_cache);
    rotary_dim = 2 * dim(*cos_cache, 1);
    if (rotary_dim == 0 || rotary_dim > head_size)
      ctx.fail("cos_cache does not fit head_size " + std::to_string(head_size));
  }
  dispatch<FloatTypes>(query.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const auto read = [](const Tensor* t) {
      const InputValues<S> v(*t);
      return std::vector<C>(v.span().begin(), v.span().end());
    };
    // q: (batch, seq, heads * head_size); k, v: (batch, seq, kv_heads * head_size), with row strides.
    std::vector<C> q_all = read(&query), k_all, v_all;
    const C* q = q_all.data();
    const C* k = nullptr;
    const C* v = nullptr;
    Index q_row = heads * head_size, kv_row = kv_heads * head_size;
    if (packed) {
      q_row = kv_row = query_width;
      k = q + heads * head_size;
      v = k + kv_heads * head_size;
    } else {
      k_all = read(key);
      v_all = read(value);
      k = k_all.data();
      v = v_all.data();
    }
    std::vector<C> q_rot, k_rot;
    if (do_rotary) {
      const InputValues<S> cos_v(*cos_cache), sin_v(*sin_cache);
      const Index max_positions = dim(*cos_cache, 0), half = rotary_dim / 2;
      const auto apply = [&](const C* src, Index row, Index n, std::vector<C>& dst) {
        dst.assign(batch * seq * n * head_size, C{0});
        for (Index b = 0; b < batch; ++b) {
          for (Index s = 0; s < seq; ++s) {
            const Index p = pasts[b] + s;
            if (p >= max_positions) ctx.fail("position " + std::to_string(p) + " is outside the cos/sin caches");
            for (Index h = 0; h < n; ++h) {
              rotate(src + (b * seq + s) * row + h * head_size, dst.data() + ((b * seq + s) * n + h) * head_size,
                     head_size, rotary_dim, cos_v.span().data() + p * half, sin_v.span().data() + p * half,
                     interleaved);
            }
          }
        }
      };
      apply(q, q_row, heads, q_rot);
      apply(k, kv_row, kv_heads, k_rot);
      q = q_rot.data();
      k = k_rot.data();
      q_row = heads * head_size;
      const Index new_kv_row = kv_heads * head_size;
      // k now packed with its own row; v keeps its row (kv_row) below.
      std::vector<C> v_copy(batch * seq * new_kv_row);
      for (Index r = 0; r < batch * seq; ++r) std::copy_n(v + r * kv_row, new_kv_row, v_copy.data() + r * new_kv_row);
      v_all = std::move(v_copy);
      v = v_all.data();
      kv_row = new_kv_row;
    }
    // Present caches: the past buffer, then the new rows at [past_b, total_b).
    std::vector<C> present_k(batch * kv_heads * present_len * head_size, C{0});
    std::vector<C> present_v(present_k.size(), C{0});
    if (past_key != nullptr) {
      const auto pk = read(past_key), pv = read(past_value);
      const Index rows = std::min(past_buffer, present_len);
      for (Index bh = 0; bh < batch * kv_heads; ++bh) {
        std::copy_n(pk.data() + bh * past_buffer * head_size, rows * head_size,
                    present_k.data() + bh * present_len * head_size);
        std::copy_n(pv.data() + bh * past_buffer * head_size, rows * head_size,
                    present_v.data() + bh * present_len * head_size);
      }
    }
    for (Index b = 0; b < batch; ++b) {
      for (Index h = 0; h < kv_heads; ++h) {
        for (Index s = 0; s < seq && pasts[b] + s < present_len; ++s) {
          const Index dst = ((b * kv_heads + h) * present_len + pasts[b] + s) * head_size;
          std::copy_n(k + (b * seq + s) * kv_row + h * head_size, head_size, present_k.data() + dst);
          std::copy_n(v + (b * seq + s) * kv_row + h * head_size, head_size, present_v.data() + dst);
        }
      }
    }
    const float scale_attr = ctx.attr_float("scale", 0.0f);
    AttentionCore<C> core;
    core.threads = ctx.threads();
    core.batch = batch;
    core.heads = heads;
    core.kv_heads = kv_heads;
    core.q_len = seq;
    core.kv_len = present_len;
    core.head_size = core.v_head_size = head_size;
    core.q = q;
    core.q_row = q_row;
    core.k = present_k.data();
    core.v = present_v.data();
    core.scale = scale_attr == 0.0f ? C{1} / std::sqrt(static_cast<C>(head_size)) : static_cast<C>(scale_attr);
    core.softcap = static_cast<C>(softcap);
    OutputValues<S> out(Shape{query.shape()[0], query.shape()[1], static_cast<std::int64_t>(heads * head_size)});
    const C excluded = -std::numeric_limits<C>::infinity();
    run_attention(core, out.span().data(), [&](Index b, Index, std::span<C> scores) {
      for (Index s = 0; s < seq; ++s) {
        const Index position = pasts[b] + s;
        const Index end = std::min(position + 1, totals[b]);
        const Index begin =
            window >= 0 && position + 1 > static_cast<Index>(window) ? position + 1 - static_cast<Index>(window) : 0;
        C* row = scores.data() + s * present_len;
        for (Index t = 0; t < present_len; ++t) {
          if (t < begin || t >= end) row[t] = excluded;
        }
      }
    });
    ctx.set_output(0, std::move(out).finish());
    const Shape cache_shape{static_cast<std::int64_t>(batch), kv_num_heads, static_cast<std::int64_t>(present_len),
                            static_cast<std::int64_t>(head_size)};
    if (ctx.output_count() > 1 && ctx.output_wanted(1)) ctx.set_output(1, float_output<S>(cache_shape, present_k));
    if (ctx.output_count() > 2 && ctx.output_wanted(2)) ctx.set_output(2, float_output<S>(cache_shape, present_v));
  });
}

}  // namespace

void register_contrib_attention_kernels(KernelRegistry& r) {
  constexpr const char* kMs = "com.microsoft";
  r.add(kMs, "Attention", 1, attention_kernel);
  r.add(kMs, "MultiHeadAttention", 1, multi_head_attention_kernel);
  r.add(kMs, "GroupQueryAttention", 1, group_query_attention_kernel);
  r.add(kMs, "RotaryEmbedding", 1, rotary_embedding_kernel);
}

}  // namespace onnx_fp16::runtime
