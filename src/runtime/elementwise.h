// Building blocks for elementwise kernels: a unary map and a broadcasting binary map over any
// list of element types, computing in compute_t<S> (float for float16/bfloat16, rounded once
// at the output). Used by kernels/elementwise_*.cc; other families may use them too.
#pragma once

#include <algorithm>
#include <span>
#include <type_traits>
#include <utility>

#include "runtime/broadcast.h"
#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel.h"
#include "runtime/parallel.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

// Elements per thread below which splitting an elementwise loop costs more than it saves.
inline constexpr std::size_t kElementwiseGrain = 1 << 15;

namespace detail {

// float16/bfloat16 elementwise loops widen and round a cache-sized block at a time instead of
// whole tensors: the same values (each input widened exactly, each output rounded once), with
// a fraction of the memory traffic.
inline constexpr std::size_t kHalfBlock = 2048;

template <typename S, typename Op>
void unary_half_blocks(std::span<const S> x, std::span<S> y, Op& op) {
  float in[kHalfBlock];
  float out[kHalfBlock];
  for (std::size_t start = 0; start < x.size(); start += kHalfBlock) {
    const std::size_t n = std::min(kHalfBlock, x.size() - start);
    widen_to_float(x.subspan(start, n), std::span<float>(in, n));
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(op(in[i]));
    round_from_float(std::span<const float>(out, n), y.subspan(start, n));
  }
}

// out = op(a, b) where each input has the output's size or is a single value repeated.
template <typename S, typename R, typename Op>
void binary_half_blocks(std::span<const S> a, std::span<const S> b, std::span<R> out, std::size_t offset,
                        std::size_t count, Op& op) {
  float x[kHalfBlock];
  float y[kHalfBlock];
  compute_t<R> r[kHalfBlock];
  const bool a_repeats = a.size() != out.size();
  const bool b_repeats = b.size() != out.size();
  if (a_repeats) std::fill_n(x, kHalfBlock, widen(a[0]));
  if (b_repeats) std::fill_n(y, kHalfBlock, widen(b[0]));
  for (std::size_t start = offset; start < offset + count; start += kHalfBlock) {
    const std::size_t n = std::min(kHalfBlock, offset + count - start);
    if (!a_repeats) widen_to_float(a.subspan(start, n), std::span<float>(x, n));
    if (!b_repeats) widen_to_float(b.subspan(start, n), std::span<float>(y, n));
    for (std::size_t i = 0; i < n; ++i) r[i] = static_cast<compute_t<R>>(op(x[i], y[i]));
    if constexpr (is_half_storage_v<R>) {
      round_from_float(std::span<const float>(r, n), out.subspan(start, n));
    } else {
      std::copy_n(r, n, out.begin() + static_cast<std::ptrdiff_t>(start));
    }
  }
}

}  // namespace detail

// y = op(x) for every element of input 0; y has x's type and shape. `op` takes and returns
// compute_t<S> (a generic lambda serves every type). Large tensors are split over threads.
template <typename Types, typename Op>
void unary_map(KernelContext& ctx, Op&& op) {
  const Tensor& x = ctx.input(0);
  dispatch<Types>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    if constexpr (is_half_storage_v<S>) {
      Tensor out = Tensor::uninitialized(x.dtype(), x.shape());
      const auto in = x.data<S>();
      const auto y = out.mutable_data<S>();
      parallel_for(ctx.threads(), in.size(), kElementwiseGrain, [&](std::size_t begin, std::size_t end) {
        detail::unary_half_blocks(in.subspan(begin, end - begin), y.subspan(begin, end - begin), op);
      });
      ctx.set_output(0, std::move(out));
    } else {
      const auto a = x.data<S>();
      Tensor out = Tensor::uninitialized(x.dtype(), x.shape());
      const auto y = out.mutable_data<S>();
      parallel_for(ctx.threads(), a.size(), kElementwiseGrain, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) y[i] = static_cast<C>(op(a[i]));
      });
      ctx.set_output(0, std::move(out));
    }
  });
}

// A kernel applying a fixed unary op.
template <typename Types, typename Op>
Kernel unary_kernel(Op op) {
  return [op](KernelContext& ctx) { unary_map<Types>(ctx, op); };
}

// A kernel whose unary op depends on attributes: make_op(ctx) returns the op.
template <typename Types, typename MakeOp>
Kernel unary_kernel_with(MakeOp make_op) {
  return [make_op](KernelContext& ctx) { unary_map<Types>(ctx, make_op(ctx)); };
}

// The shape input 1 broadcasts as: its own, or, for opset < 7 binary ops (which broadcast only
// with broadcast=1, and only B onto A), its shape padded to A's rank (broadcast.h).
Shape second_operand_shape(const KernelContext& ctx, const Tensor& a, const Tensor& b);

// Inputs 0 and 1 must have the same element type; onnx_fp16::Error otherwise.
void require_same_type(const KernelContext& ctx, const Tensor& a, const Tensor& b);

// y = op(a, b) with broadcasting, a and b of one type from Types; y of storage type Out<S>
// (Out is a template: the input type itself for arithmetic, bool for comparisons).
template <typename Types, template <typename> class Out, typename Op>
void binary_map(KernelContext& ctx, Op&& op) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_type(ctx, a, b);
  const Shape shapes[] = {a.shape(), second_operand_shape(ctx, a, b)};
  const BroadcastLayout layout(shapes);
  dispatch<Types>(a.dtype(), [&]<typename S>(std::type_identity<S>) {
    using R = Out<S>;
    auto compute = [&](compute_t<S> u, compute_t<S> v) { return static_cast<compute_t<R>>(op(u, v)); };
    const std::size_t n = layout.output_size();
    const bool elementwise_or_scalar = (a.size() == n || a.size() == 1) && (b.size() == n || b.size() == 1);
    if constexpr (is_half_storage_v<S>) {
      if (elementwise_or_scalar && n > 0) {
        Tensor out = Tensor::uninitialized(data_type_of<R>, layout.output_shape());
        const auto result = out.mutable_data<R>();
        parallel_for(ctx.threads(), n, kElementwiseGrain, [&](std::size_t begin, std::size_t end) {
          detail::binary_half_blocks(a.data<S>(), b.data<S>(), result, begin, end - begin, compute);
        });
        ctx.set_output(0, std::move(out));
        return;
      }
    }
    const InputValues<S> x(a);
    const InputValues<S> y(b);
    OutputValues<R> out(layout.output_shape());
    broadcast_binary(layout, x.span(), y.span(), out.span(), compute, ctx.threads());
    ctx.set_output(0, std::move(out).finish());
  });
}

template <typename S>
using SameType = S;
template <typename S>
using BoolType = bool;

template <typename Types, typename Op>
Kernel binary_kernel(Op op) {
  return [op](KernelContext& ctx) { binary_map<Types, SameType>(ctx, op); };
}
template <typename Types, typename Op>
Kernel comparison_kernel(Op op) {
  return [op](KernelContext& ctx) { binary_map<Types, BoolType>(ctx, op); };
}

// Integer arithmetic that wraps modulo 2^bits as ONNX runtimes do, instead of C++'s undefined
// signed overflow (and int promotion of small types, which can overflow int for uint16 * uint16).
template <typename T>
using wrap_unsigned_t = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

template <typename T>
T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = wrap_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}
template <typename T>
T wrapping_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = wrap_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
  } else {
    return a - b;
  }
}
template <typename T>
T wrapping_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = wrap_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}
template <typename T>
T wrapping_neg(T a) {
  if constexpr (std::is_integral_v<T>) {
    using U = wrap_unsigned_t<T>;
    return static_cast<T>(U{0} - static_cast<U>(a));
  } else {
    return -a;
  }
}

}  // namespace onnx_fp16::runtime
