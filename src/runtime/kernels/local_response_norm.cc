// LRN (opset 1, 13): each value divided by (bias + alpha / size * sum of squares over the
// `size` neighbouring channels)^beta. The window runs from c - floor((size - 1) / 2) to
// c + ceil((size - 1) / 2), clipped to the channels there are.
#include <algorithm>
#include <cmath>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

void lrn_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.fail("expects an input of shape [N, C, ...], got " + shape_to_string(x.shape()));
  const std::int64_t size = ctx.attr_int("size");
  if (size < 1) ctx.fail("size must be positive");
  const float alpha = ctx.attr_float("alpha", 1e-4f);
  const float beta = ctx.attr_float("beta", 0.75f);
  const float bias = ctx.attr_float("bias", 1.0f);
  const std::int64_t channels = x.shape()[1];
  std::size_t plane = 1;
  for (std::size_t a = 2; a < x.rank(); ++a) plane *= static_cast<std::size_t>(x.shape()[a]);
  const std::size_t images = static_cast<std::size_t>(x.shape()[0]);
  const std::int64_t before = (size - 1) / 2;
  const std::int64_t after = size - 1 - before;
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> xv(x);
    OutputValues<S> y(x.shape());
    const C scale = static_cast<C>(alpha) / static_cast<C>(size);
    for (std::size_t n = 0; n < images; ++n) {
      for (std::int64_t c = 0; c < channels; ++c) {
        const std::int64_t lo = std::max<std::int64_t>(0, c - before);
        const std::int64_t hi = std::min<std::int64_t>(channels - 1, c + after);
        const std::size_t base = (n * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c)) * plane;
        for (std::size_t i = 0; i < plane; ++i) {
          C square_sum{0};
          for (std::int64_t k = lo; k <= hi; ++k) {
            const C v = xv[(n * static_cast<std::size_t>(channels) + static_cast<std::size_t>(k)) * plane + i];
            square_sum += v * v;
          }
          y[base + i] = xv[base + i] / std::pow(static_cast<C>(bias) + scale * square_sum, static_cast<C>(beta));
        }
      }
    }
    ctx.set_output(0, std::move(y).finish());
  });
}

}  // namespace

void register_local_response_norm_kernels(KernelRegistry& r) { r.add("LRN", 1, lrn_kernel); }

}  // namespace onnx_fp16::runtime
