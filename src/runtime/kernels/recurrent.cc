// The recurrent layers: RNN, GRU and LSTM (opsets 1 to 14), every direction, activations with
// their alpha/beta, clip, sequence_lens, initial states, GRU's linear_before_reset, LSTM's
// peepholes and input_forget, and layout (14). recurrent_common.h reads the inputs and writes
// the outputs; here are the cells.
//
// The whole sequence stays in the compute type (float32 for float16): the hidden and cell
// states carried from step to step are not rounded, only Y / Y_h / Y_c when they are written.
// The input projections X * W^T of all steps are one matrix product per direction; each step
// multiplies the batch's hidden states by R^T.
#include <algorithm>

#include "runtime/element_types.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_gemm.h"
#include "runtime/kernels/recurrent_common.h"

namespace onnx_fp16::runtime {

namespace {

using nn::RecurrentSetup;

template <typename T>
T clipped(T v, const RecurrentSetup& s) {
  const T limit = static_cast<T>(s.clip);
  return std::clamp(v, -limit, limit);
}

// X * W_d^T for every step: [seq * batch, gates * hidden], plus `bias` (gates * hidden values,
// or empty) on every row.
template <typename T>
std::vector<T> input_projection(const RecurrentSetup& s, const std::vector<T>& x, const std::vector<T>& w,
                                std::size_t d, const std::vector<T>& bias) {
  const std::size_t rows = s.seq * s.batch;
  const std::size_t cols = s.gates * s.hidden;
  std::vector<T> out(rows * cols);
  math::blas_gemm<T>(s.threads, false, true, rows, cols, s.input, T{1}, x.data(), s.input, w.data() + d * cols * s.input, s.input, T{0},
              out.data(), cols);
  if (!bias.empty()) {
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) out[r * cols + c] += bias[c];
    }
  }
  return out;
}

// The bias folded into the input projection of direction d: Wb + Rb for the gates listed in
// `with_recurrent_bias` (by gate index), Wb alone for the others. B is [dirs, 2 * gates * hidden].
template <typename T>
std::vector<T> folded_bias(const RecurrentSetup& s, const std::vector<T>& b, std::size_t d,
                           const std::vector<bool>& with_recurrent_bias) {
  if (b.empty()) return {};
  const std::size_t cols = s.gates * s.hidden;
  std::vector<T> out(cols);
  const T* wb = b.data() + d * 2 * cols;
  const T* rb = wb + cols;
  for (std::size_t c = 0; c < cols; ++c) out[c] = wb[c] + (with_recurrent_bias[c / s.hidden] ? rb[c] : T{0});
  return out;
}

// H_prev [batch, hidden] * R^T for the R rows [first_row, first_row + rows) of direction d.
template <typename T>
void recurrent_product(const RecurrentSetup& s, const T* h, const std::vector<T>& r, std::size_t d,
                       std::size_t first_row, std::size_t rows, T* out) {
  const T* rd = r.data() + (d * s.gates * s.hidden + first_row) * s.hidden;
  math::blas_gemm<T>(s.threads, false, true, s.batch, rows, s.hidden, T{1}, h, s.hidden, rd, s.hidden, T{0}, out, rows);
}

template <typename T>
void store_step(const RecurrentSetup& s, std::vector<T>& y, std::size_t d, std::int64_t t, std::size_t b, const T* h) {
  T* dst = y.data() + ((static_cast<std::size_t>(t) * s.directions + d) * s.batch + b) * s.hidden;
  std::copy(h, h + s.hidden, dst);
}

// RNN: H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb).
void rnn_kernel(KernelContext& ctx) {
  const RecurrentSetup s = nn::read_recurrent_setup(ctx, 1, {"Tanh"});
  dispatch<FloatTypes>(ctx.input(0).dtype(), [&]<typename S>(std::type_identity<S>) {
    using T = compute_t<S>;
    const std::size_t H = s.hidden;
    const auto x = nn::time_major_input<S>(ctx, s);
    const auto w = nn::recurrent_input<S>(ctx, 1, s.directions * H * s.input, "W");
    const auto r = nn::recurrent_input<S>(ctx, 2, s.directions * H * H, "R");
    const auto b = nn::recurrent_input<S>(ctx, 3, s.directions * 2 * H, "B");
    auto h = nn::initial_state<S>(ctx, s, 5, "initial_h");
    std::vector<T> y(s.seq * s.directions * s.batch * H, T{0});
    std::vector<T> hr(s.batch * H);
    for (std::size_t d = 0; d < s.directions; ++d) {
      const auto xw = input_projection(s, x, w, d, folded_bias(s, b, d, {true}));
      const auto& f = s.activation(d, 0);
      T* hd = h.data() + d * s.batch * H;
      for (std::size_t step = 0; step < s.seq; ++step) {
        recurrent_product(s, hd, r, d, 0, H, hr.data());
        for (std::size_t bi = 0; bi < s.batch; ++bi) {
          const std::int64_t t = s.time_at(d, step, bi);
          if (t < 0) continue;
          const T* in = xw.data() + (static_cast<std::size_t>(t) * s.batch + bi) * H;
          T* hb = hd + bi * H;
          for (std::size_t j = 0; j < H; ++j) hb[j] = f(clipped(in[j] + hr[bi * H + j], s));
          store_step(s, y, d, t, bi, hb);
        }
      }
    }
    nn::set_recurrent_outputs<S>(ctx, s, y, {&h});
  });
}

// GRU, gates z, r, h:
//   z = f(X Wz^T + H Rz^T + Wbz + Rbz),  r = f(X Wr^T + H Rr^T + Wbr + Rbr)
//   h~ = g(X Wh^T + (r . H) Rh^T + Rbh + Wbh)          linear_before_reset = 0
//   h~ = g(X Wh^T + r . (H Rh^T + Rbh) + Wbh)          linear_before_reset = 1
//   H = (1 - z) . h~ + z . H
void gru_kernel(KernelContext& ctx) {
  const RecurrentSetup s = nn::read_recurrent_setup(ctx, 3, {"Sigmoid", "Tanh"});
  const bool linear_before_reset = ctx.attr_int("linear_before_reset", 0) != 0;
  dispatch<FloatTypes>(ctx.input(0).dtype(), [&]<typename S>(std::type_identity<S>) {
    using T = compute_t<S>;
    const std::size_t H = s.hidden;
    const auto x = nn::time_major_input<S>(ctx, s);
    const auto w = nn::recurrent_input<S>(ctx, 1, s.directions * 3 * H * s.input, "W");
    const auto r = nn::recurrent_input<S>(ctx, 2, s.directions * 3 * H * H, "R");
    const auto b = nn::recurrent_input<S>(ctx, 3, s.directions * 6 * H, "B");
    auto h = nn::initial_state<S>(ctx, s, 5, "initial_h");
    std::vector<T> y(s.seq * s.directions * s.batch * H, T{0});
    std::vector<T> hr(s.batch * 3 * H);
    std::vector<T> z(s.batch * H);
    std::vector<T> reset_h(s.batch * H);  // r . H_prev, for linear_before_reset = 0
    std::vector<T> reset_hr(s.batch * H);
    for (std::size_t d = 0; d < s.directions; ++d) {
      // Rbh stays out of the projection when it must be multiplied by r.
      const auto xw = input_projection(s, x, w, d, folded_bias(s, b, d, {true, true, !linear_before_reset}));
      const T* rbh = b.empty() ? nullptr : b.data() + d * 6 * H + 5 * H;
      const auto& f = s.activation(d, 0);
      const auto& g = s.activation(d, 1);
      T* hd = h.data() + d * s.batch * H;
      for (std::size_t step = 0; step < s.seq; ++step) {
        recurrent_product(s, hd, r, d, 0, 3 * H, hr.data());
        std::fill(reset_h.begin(), reset_h.end(), T{0});
        for (std::size_t bi = 0; bi < s.batch; ++bi) {
          const std::int64_t t = s.time_at(d, step, bi);
          if (t < 0) continue;
          const T* in = xw.data() + (static_cast<std::size_t>(t) * s.batch + bi) * 3 * H;
          const T* rec = hr.data() + bi * 3 * H;
          for (std::size_t j = 0; j < H; ++j) {
            z[bi * H + j] = f(clipped(in[j] + rec[j], s));
            const T reset = f(clipped(in[H + j] + rec[H + j], s));
            if (linear_before_reset) {
              const T recurrent = rec[2 * H + j] + (rbh != nullptr ? rbh[j] : T{0});
              reset_hr[bi * H + j] = reset * recurrent;
            } else {
              reset_h[bi * H + j] = reset * hd[bi * H + j];
            }
          }
        }
        if (!linear_before_reset) recurrent_product(s, reset_h.data(), r, d, 2 * H, H, reset_hr.data());
        for (std::size_t bi = 0; bi < s.batch; ++bi) {
          const std::int64_t t = s.time_at(d, step, bi);
          if (t < 0) continue;
          const T* in = xw.data() + (static_cast<std::size_t>(t) * s.batch + bi) * 3 * H;
          T* hb = hd + bi * H;
          for (std::size_t j = 0; j < H; ++j) {
            const T candidate = g(clipped(in[2 * H + j] + reset_hr[bi * H + j], s));
            const T zj = z[bi * H + j];
            hb[j] = (T{1} - zj) * candidate + zj * hb[j];
          }
          store_step(s, y, d, t, bi, hb);
        }
      }
    }
    nn::set_recurrent_outputs<S>(ctx, s, y, {&h});
  });
}

// LSTM, gates i, o, f, c (W, R and B in that order; peepholes P in the order i, o, f):
//   i = f(X Wi^T + H Ri^T + Pi . C + Wbi + Rbi)
//   f = f(X Wf^T + H Rf^T + Pf . C + Wbf + Rbf)       (1 - i with input_forget)
//   c = g(X Wc^T + H Rc^T + Wbc + Rbc)
//   C = f . C + i . c
//   o = f(X Wo^T + H Ro^T + Po . C + Wbo + Rbo)       (with the new C)
//   H = o . h(C)
// clip bounds every gate's input to its activation.
void lstm_kernel(KernelContext& ctx) {
  const RecurrentSetup s = nn::read_recurrent_setup(ctx, 4, {"Sigmoid", "Tanh", "Tanh"});
  const bool input_forget = ctx.attr_int("input_forget", 0) != 0;
  dispatch<FloatTypes>(ctx.input(0).dtype(), [&]<typename S>(std::type_identity<S>) {
    using T = compute_t<S>;
    const std::size_t H = s.hidden;
    const auto x = nn::time_major_input<S>(ctx, s);
    const auto w = nn::recurrent_input<S>(ctx, 1, s.directions * 4 * H * s.input, "W");
    const auto r = nn::recurrent_input<S>(ctx, 2, s.directions * 4 * H * H, "R");
    const auto b = nn::recurrent_input<S>(ctx, 3, s.directions * 8 * H, "B");
    auto h = nn::initial_state<S>(ctx, s, 5, "initial_h");
    auto c = nn::initial_state<S>(ctx, s, 6, "initial_c");
    const auto p = nn::recurrent_input<S>(ctx, 7, s.directions * 3 * H, "P");
    std::vector<T> y(s.seq * s.directions * s.batch * H, T{0});
    std::vector<T> hr(s.batch * 4 * H);
    for (std::size_t d = 0; d < s.directions; ++d) {
      const auto xw = input_projection(s, x, w, d, folded_bias(s, b, d, {true, true, true, true}));
      const T* pd = p.empty() ? nullptr : p.data() + d * 3 * H;
      const auto peephole = [&](std::size_t gate, std::size_t j, T state) {
        return pd != nullptr ? pd[gate * H + j] * state : T{0};
      };
      const auto& f = s.activation(d, 0);
      const auto& g = s.activation(d, 1);
      const auto& out_act = s.activation(d, 2);
      T* hd = h.data() + d * s.batch * H;
      T* cd = c.data() + d * s.batch * H;
      for (std::size_t step = 0; step < s.seq; ++step) {
        recurrent_product(s, hd, r, d, 0, 4 * H, hr.data());
        for (std::size_t bi = 0; bi < s.batch; ++bi) {
          const std::int64_t t = s.time_at(d, step, bi);
          if (t < 0) continue;
          const T* in = xw.data() + (static_cast<std::size_t>(t) * s.batch + bi) * 4 * H;
          const T* rec = hr.data() + bi * 4 * H;
          T* hb = hd + bi * H;
          T* cb = cd + bi * H;
          for (std::size_t j = 0; j < H; ++j) {
            const T ig = f(clipped(in[j] + rec[j] + peephole(0, j, cb[j]), s));
            const T fg =
                input_forget ? T{1} - ig : f(clipped(in[2 * H + j] + rec[2 * H + j] + peephole(2, j, cb[j]), s));
            const T cg = g(clipped(in[3 * H + j] + rec[3 * H + j], s));
            cb[j] = fg * cb[j] + ig * cg;
            const T og = f(clipped(in[H + j] + rec[H + j] + peephole(1, j, cb[j]), s));
            hb[j] = og * out_act(cb[j]);
          }
          store_step(s, y, d, t, bi, hb);
        }
      }
    }
    nn::set_recurrent_outputs<S>(ctx, s, y, {&h, &c});
  });
}

}  // namespace

void register_recurrent_kernels(KernelRegistry& r) {
  // Later versions add attributes whose defaults keep the earlier behaviour (GRU-3
  // linear_before_reset, layout at 14) and widen types.
  r.add("RNN", 1, rnn_kernel);
  r.add("GRU", 1, gru_kernel);
  r.add("LSTM", 1, lstm_kernel);
}

}  // namespace onnx_fp16::runtime
