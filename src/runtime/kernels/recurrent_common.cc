#include "runtime/kernels/recurrent_common.h"

#include <algorithm>

namespace onnx_fp16::runtime::nn {

RecurrentSetup read_recurrent_setup(const KernelContext& ctx, std::size_t gates,
                                    const std::vector<std::string>& default_activations) {
  RecurrentSetup s;
  s.gates = gates;
  s.threads = ctx.threads();
  const std::string direction = ctx.attr_string("direction", "forward");
  if (direction == "bidirectional") {
    s.directions = 2;
  } else if (direction == "reverse") {
    s.reverse_only = true;
  } else if (direction != "forward") {
    ctx.fail("unknown direction '" + direction + "'");
  }
  s.batch_major = ctx.opset() >= 14 && ctx.attr_int("layout", 0) != 0;
  if (ctx.has_attribute("clip")) s.clip = ctx.attr_float("clip");

  const Shape& x = ctx.input(0).shape();
  const Shape& w = ctx.input(1).shape();
  const Shape& r = ctx.input(2).shape();
  if (x.size() != 3 || w.size() != 3 || r.size() != 3) {
    ctx.fail("expects X, W and R of rank 3, got " + shape_to_string(x) + ", " + shape_to_string(w) + ", " +
             shape_to_string(r));
  }
  s.seq = static_cast<std::size_t>(s.batch_major ? x[1] : x[0]);
  s.batch = static_cast<std::size_t>(s.batch_major ? x[0] : x[1]);
  s.input = static_cast<std::size_t>(x[2]);
  s.hidden = static_cast<std::size_t>(ctx.attr_int("hidden_size", r[2]));
  const auto dirs = static_cast<std::int64_t>(s.directions);
  const auto g = static_cast<std::int64_t>(gates * s.hidden);
  const auto h = static_cast<std::int64_t>(s.hidden);
  if (w != Shape{dirs, g, x[2]} || r != Shape{dirs, g, h}) {
    ctx.fail("W " + shape_to_string(w) + " and R " + shape_to_string(r) + " do not fit X " + shape_to_string(x) +
             ", hidden_size " + std::to_string(s.hidden) + " and direction '" + direction + "'");
  }

  s.lengths.assign(s.batch, static_cast<std::int64_t>(s.seq));
  if (const Tensor* lengths = ctx.optional_input(4)) {
    const auto values = to_int64_vector(*lengths);
    if (values.size() != s.batch) ctx.fail("sequence_lens has " + std::to_string(values.size()) + " values");
    for (std::size_t b = 0; b < s.batch; ++b) {
      if (values[b] < 0 || values[b] > static_cast<std::int64_t>(s.seq)) {
        ctx.fail("sequence length " + std::to_string(values[b]) + " is outside [0, " + std::to_string(s.seq) + "]");
      }
      s.lengths[b] = values[b];
    }
  }
  s.activations = read_activations(ctx, s.directions, default_activations);
  return s;
}

}  // namespace onnx_fp16::runtime::nn
