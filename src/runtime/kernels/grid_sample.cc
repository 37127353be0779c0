// GridSample (opset 16; opset 20's "linear"/"cubic" mode names too), 4-D input only:
// X [N, C, H, W] sampled at grid [N, Ho, Wo, 2] (x then y, normalised to [-1, 1]) gives
// Y [N, C, Ho, Wo]. Follows the ONNX reference: coordinates are denormalised (align_corners),
// "nearest" rounds half to even, out-of-range coordinates are clamped (border) or reflected
// (reflection) before interpolating, and each tap outside the image reads 0 (zeros), the
// clamped pixel (border) or the reflected pixel (reflection). Bicubic uses a = -0.75.
#include <algorithm>
#include <cmath>
#include <string>

#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

enum class Padding { Zeros, Border, Reflection };
enum class Mode { Nearest, Linear, Cubic };

// Reflects x by the nearer border until it lies within [lo, hi] (the reference's _gs_reflect).
template <typename C>
C reflect(C x, C lo, C hi) {
  const C range = hi - lo;
  if (range <= C{0}) return lo;
  if (x < lo) {
    const C dx = lo - x;
    const auto n = static_cast<std::int64_t>(dx / range);
    const C r = dx - static_cast<C>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const C dx = x - hi;
    const auto n = static_cast<std::int64_t>(dx / range);
    const C r = dx - static_cast<C>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

template <typename C>
void cubic_coefficients(C t, C coeffs[4]) {
  const C a = static_cast<C>(-0.75);
  const C x = std::fabs(t);
  coeffs[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
  coeffs[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
  coeffs[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
  coeffs[3] = ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a;
}

void grid_sample(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  if (x.rank() != 4) ctx.fail("only 4-D inputs [N, C, H, W] are supported, not rank " + std::to_string(x.rank()));
  const std::int64_t n = x.shape()[0], channels = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  if (grid.rank() != 4 || grid.shape()[0] != n || grid.shape()[3] != 2) {
    ctx.fail("grid " + shape_to_string(grid.shape()) + " must be [N, H_out, W_out, 2] for X " + shape_to_string(x.shape()));
  }
  if (grid.dtype() != x.dtype()) ctx.fail("grid must have X's element type");
  const std::int64_t ho = grid.shape()[1], wo = grid.shape()[2];

  const std::string mode_name = ctx.attr_string("mode", ctx.opset() >= 20 ? "linear" : "bilinear");
  Mode mode;
  if (mode_name == "nearest") {
    mode = Mode::Nearest;
  } else if (mode_name == (ctx.opset() >= 20 ? "linear" : "bilinear")) {
    mode = Mode::Linear;
  } else if (mode_name == (ctx.opset() >= 20 ? "cubic" : "bicubic")) {
    mode = Mode::Cubic;
  } else {
    ctx.fail("unknown mode '" + mode_name + "'");
  }
  const std::string padding_name = ctx.attr_string("padding_mode", "zeros");
  Padding padding;
  if (padding_name == "zeros") {
    padding = Padding::Zeros;
  } else if (padding_name == "border") {
    padding = Padding::Border;
  } else if (padding_name == "reflection") {
    padding = Padding::Reflection;
  } else {
    ctx.fail("unknown padding_mode '" + padding_name + "'");
  }
  const bool align_corners = ctx.attr_int("align_corners", 0) != 0;

  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> in(x);
    const InputValues<S> g(grid);
    OutputValues<S> out(Shape{n, channels, ho, wo});
    // Per axis (0: y over h, 1: x over w): the borders coordinates are clamped or reflected to.
    const std::int64_t size[2] = {h, w};
    C lo[2], hi[2];
    for (int a = 0; a < 2; ++a) {
      lo[a] = align_corners ? C{0} : C{-0.5};
      hi[a] = align_corners ? static_cast<C>(size[a] - 1) : static_cast<C>(size[a]) - C{0.5};
    }
    auto denormalize = [&](C v, int a) {
      const auto len = static_cast<C>(size[a]);
      return align_corners ? (v + 1) / 2 * (len - 1) : ((v + 1) * len - 1) / 2;
    };
    // The index a tap reads on axis a, or -1 for a zero (zeros padding outside the image).
    auto tap = [&](std::int64_t i, int a) -> std::int64_t {
      if (i >= 0 && i < size[a]) return i;
      if (padding == Padding::Zeros) return -1;
      if (padding == Padding::Border) return i < 0 ? 0 : size[a] - 1;
      const auto r = static_cast<std::int64_t>(reflect(static_cast<C>(i), lo[a], hi[a]));
      return r < 0 ? 0 : (r >= size[a] ? size[a] - 1 : r);
    };
    for (std::int64_t b = 0; b < n; ++b) {
      for (std::int64_t oy = 0; oy < ho; ++oy) {
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          const std::size_t gi = static_cast<std::size_t>(((b * ho + oy) * wo + ox) * 2);
          C coord[2] = {denormalize(g[gi + 1], 0), denormalize(g[gi], 1)};
          if (mode == Mode::Nearest) {
            for (auto& v : coord) v = std::nearbyint(v);
          }
          for (int a = 0; a < 2; ++a) {
            if (coord[a] >= lo[a] && coord[a] <= hi[a]) continue;
            if (padding == Padding::Border) {
              coord[a] = std::clamp(coord[a], C{0}, static_cast<C>(size[a] - 1));
            } else if (padding == Padding::Reflection) {
              coord[a] = reflect(coord[a], lo[a], hi[a]);
            }
          }
          for (std::int64_t c = 0; c < channels; ++c) {
            const std::size_t plane = static_cast<std::size_t>((b * channels + c) * h * w);
            auto pixel = [&](std::int64_t y, std::int64_t xx) -> C {
              const std::int64_t ty = tap(y, 0), tx = tap(xx, 1);
              if (ty < 0 || tx < 0) return C{0};
              return in[plane + static_cast<std::size_t>(ty * w + tx)];
            };
            C value{0};
            if (mode == Mode::Nearest) {
              value = pixel(static_cast<std::int64_t>(coord[0]), static_cast<std::int64_t>(coord[1]));
            } else if (mode == Mode::Linear) {
              const C fy = std::floor(coord[0]), fx = std::floor(coord[1]);
              const auto y0 = static_cast<std::int64_t>(fy), x0 = static_cast<std::int64_t>(fx);
              const C dy = coord[0] - fy, dx = coord[1] - fx;
              const C top = (1 - dx) * pixel(y0, x0) + dx * pixel(y0, x0 + 1);
              const C bottom = (1 - dx) * pixel(y0 + 1, x0) + dx * pixel(y0 + 1, x0 + 1);
              value = (1 - dy) * top + dy * bottom;
            } else {
              const C fy = std::floor(coord[0]), fx = std::floor(coord[1]);
              const auto y0 = static_cast<std::int64_t>(fy) - 1, x0 = static_cast<std::int64_t>(fx) - 1;
              C cy[4], cx[4];
              cubic_coefficients(coord[0] - fy, cy);
              cubic_coefficients(coord[1] - fx, cx);
              for (int i = 0; i < 4; ++i) {
                C row{0};
                for (int j = 0; j < 4; ++j) row += cx[j] * pixel(y0 + i, x0 + j);
                value += cy[i] * row;
              }
            }
            out[static_cast<std::size_t>(((b * channels + c) * ho + oy) * wo + ox)] = value;
          }
        }
      }
    }
    ctx.set_output(0, std::move(out).finish());
  });
}

}  // namespace

void register_grid_sample_kernels(KernelRegistry& r) { r.add("GridSample", 16, grid_sample); }

}  // namespace onnx_fp16::runtime
