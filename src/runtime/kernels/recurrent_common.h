// What RNN, GRU and LSTM share: reading their shapes and attributes (direction, hidden_size,
// clip, layout, sequence_lens, activations), their inputs in the compute type and time-major
// order, the per-step bookkeeping of variable sequence lengths, and writing Y / Y_h / Y_c in
// the node's layout. The cells themselves are in recurrent.cc.
//
// Layout 0 (and every opset before 14): X [seq, batch, input], Y [seq, dirs, batch, hidden],
// Y_h / Y_c / initial states [dirs, batch, hidden]. Layout 1: X [batch, seq, input],
// Y [batch, seq, dirs, hidden], states [batch, dirs, hidden]. Internally everything is
// layout 0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "runtime/float_compute.h"
#include "runtime/kernel.h"
#include "runtime/kernels/recurrent_activations.h"

namespace onnx_fp16::runtime::nn {

struct RecurrentSetup {
  std::size_t seq = 0;
  std::size_t batch = 0;
  std::size_t input = 0;
  std::size_t hidden = 0;
  std::size_t directions = 1;
  std::size_t gates = 1;      // RNN 1, GRU 3, LSTM 4
  int threads = 1;            // for the matrix products (the kernel's thread count)
  bool reverse_only = false;  // direction = reverse
  bool batch_major = false;   // layout = 1
  float clip = std::numeric_limits<float>::infinity();
  std::vector<std::int64_t> lengths;    // per batch row, each in [0, seq]
  std::vector<Activation> activations;  // per direction, activations.size() / directions each

  bool reversed(std::size_t direction) const { return reverse_only || direction == 1; }
  // The time index that step s of `direction` processes for batch row b, or -1 when the row's
  // sequence is shorter. Reverse directions walk each row's own length backwards.
  std::int64_t time_at(std::size_t direction, std::size_t s, std::size_t b) const {
    const auto step = static_cast<std::int64_t>(s);
    if (step >= lengths[b]) return -1;
    return reversed(direction) ? lengths[b] - 1 - step : step;
  }
  const Activation& activation(std::size_t direction, std::size_t k) const {
    return activations[direction * (activations.size() / directions) + k];
  }
};

// Reads X (0), W (1), R (2) and sequence_lens (4) shapes and the attributes; `gates` and the
// default activations are the op's.
RecurrentSetup read_recurrent_setup(const KernelContext& ctx, std::size_t gates,
                                    const std::vector<std::string>& default_activations);

// [a, b, inner] -> [b, a, inner].
template <typename T>
std::vector<T> swap_leading_axes(std::span<const T> values, std::size_t a, std::size_t b, std::size_t inner) {
  std::vector<T> out(values.size());
  for (std::size_t i = 0; i < a; ++i) {
    for (std::size_t j = 0; j < b; ++j) {
      for (std::size_t k = 0; k < inner; ++k) out[(j * a + i) * inner + k] = values[(i * b + j) * inner + k];
    }
  }
  return out;
}

// An input's values in the compute type of storage type S (empty when absent), checked to hold
// `expected` values.
template <typename S>
std::vector<compute_t<S>> recurrent_input(const KernelContext& ctx, std::size_t index, std::size_t expected,
                                          const char* name) {
  const Tensor* tensor = ctx.optional_input(index);
  if (tensor == nullptr) return {};
  if (tensor->dtype() != ctx.input(0).dtype()) ctx.fail(std::string(name) + " must have X's element type");
  if (tensor->size() != expected) {
    ctx.fail(std::string(name) + " of shape " + shape_to_string(tensor->shape()) + " should hold " +
             std::to_string(expected) + " values");
  }
  const InputValues<S> values(*tensor);
  return {values.span().begin(), values.span().end()};
}

// An initial state (initial_h / initial_c) as [dirs, batch, hidden]: zeros when absent.
template <typename S>
std::vector<compute_t<S>> initial_state(const KernelContext& ctx, const RecurrentSetup& s, std::size_t index,
                                        const char* name) {
  auto values = recurrent_input<S>(ctx, index, s.directions * s.batch * s.hidden, name);
  if (values.empty()) return std::vector<compute_t<S>>(s.directions * s.batch * s.hidden, compute_t<S>{0});
  if (s.batch_major) {
    return swap_leading_axes<compute_t<S>>(values, s.batch, s.directions, s.hidden);
  }
  return values;
}

// X as [seq, batch, input].
template <typename S>
std::vector<compute_t<S>> time_major_input(const KernelContext& ctx, const RecurrentSetup& s) {
  const InputValues<S> x(ctx.input(0));
  if (s.batch_major) return swap_leading_axes<compute_t<S>>(x.span(), s.batch, s.seq, s.input);
  return {x.span().begin(), x.span().end()};
}

// Sets Y (from y: [seq, dirs, batch, hidden]) and the final states (each [dirs, batch, hidden])
// as outputs 0, 1, 2..., in the node's layout, rounding float16 once.
template <typename S>
void set_recurrent_outputs(KernelContext& ctx, const RecurrentSetup& s, const std::vector<compute_t<S>>& y,
                           const std::vector<const std::vector<compute_t<S>>*>& states) {
  using T = compute_t<S>;
  const auto seq = static_cast<std::int64_t>(s.seq);
  const auto dirs = static_cast<std::int64_t>(s.directions);
  const auto batch = static_cast<std::int64_t>(s.batch);
  const auto hidden = static_cast<std::int64_t>(s.hidden);
  if (ctx.output_count() > 0 && ctx.output_wanted(0)) {
    if (!s.batch_major) {
      OutputValues<S> out({seq, dirs, batch, hidden});
      std::copy(y.begin(), y.end(), out.span().begin());
      ctx.set_output(0, std::move(out).finish());
    } else {
      // [seq, dirs, batch, H] -> [batch, seq, dirs, H]
      OutputValues<S> out({batch, seq, dirs, hidden});
      const std::vector<T> moved = swap_leading_axes<T>(y, s.seq * s.directions, s.batch, s.hidden);
      std::copy(moved.begin(), moved.end(), out.span().begin());
      ctx.set_output(0, std::move(out).finish());
    }
  }
  for (std::size_t k = 0; k < states.size(); ++k) {
    if (ctx.output_count() <= k + 1 || !ctx.output_wanted(k + 1)) continue;
    const std::vector<T>& state = *states[k];
    OutputValues<S> out(s.batch_major ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden});
    if (s.batch_major) {
      const std::vector<T> moved = swap_leading_axes<T>(state, s.directions, s.batch, s.hidden);
      std::copy(moved.begin(), moved.end(), out.span().begin());
    } else {
      std::copy(state.begin(), state.end(), out.span().begin());
    }
    ctx.set_output(k + 1, std::move(out).finish());
  }
}

}  // namespace onnx_fp16::runtime::nn
