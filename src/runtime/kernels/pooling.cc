// Pooling: MaxPool (with its Indices output), AveragePool, LpPool over windows (nn_window.h's
// geometry), GlobalAveragePool, GlobalMaxPool, GlobalLpPool over whole planes, and MaxUnpool.
// Sums accumulate in the compute type (float32 for float16) and each output value is rounded
// once. (MaxRoiPool, a region pooling, is in detection.cc beside RoiAlign.)
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/avx512.h"
#include "runtime/kernels/nn_window.h"
#include "runtime/parallel.h"

namespace onnx_fp16::runtime {

namespace {

using nn::AxisTaps;
using nn::WindowGeometry;

// A pool node's window walk: per spatial axis and output index, which taps read the input.
class PoolPlan {
 public:
  PoolPlan(const KernelContext& ctx, const Shape& x_shape) {
    const auto spatial = nn::spatial_dims(ctx, x_shape);
    const auto kernel = ctx.attr_ints("kernel_shape");
    geometry_ = nn::window_geometry(ctx, spatial, kernel, {.allow_ceil_mode = true, .allow_dilations = true});
    const std::size_t rank = spatial.size();
    taps_.resize(rank);
    for (std::size_t a = 0; a < rank; ++a) {
      for (std::int64_t o = 0; o < geometry_.output[a]; ++o) taps_[a].push_back(nn::axis_taps(geometry_, a, o));
    }
    row_strides_.assign(rank, 1);
    col_strides_.assign(rank, 1);
    for (std::size_t a = rank - 1; a-- > 0;) row_strides_[a] = row_strides_[a + 1] * spatial[a + 1];
    for (std::size_t a = 1; a < rank; ++a) col_strides_[a] = col_strides_[a - 1] * spatial[a - 1];
    output_shape_ = {x_shape[0], x_shape[1]};
    output_shape_.insert(output_shape_.end(), geometry_.output.begin(), geometry_.output.end());
    planes_ = static_cast<std::size_t>(x_shape[0] * x_shape[1]);
  }

  const WindowGeometry& geometry() const { return geometry_; }
  const Shape& output_shape() const { return output_shape_; }
  std::size_t planes() const { return planes_; }

  // Images without dilation (most CNNs' pools): output (oh, ow)'s window reads the input rows
  // [first + k_begin, first + k_end) of taps(0)[oh] and likewise the columns of taps(1)[ow],
  // so a kernel can walk them directly instead of through for_each_window / for_each_tap.
  bool plain_2d() const {
    return geometry_.rank() == 2 && geometry_.dilations[0] == 1 && geometry_.dilations[1] == 1;
  }
  const std::vector<AxisTaps>& taps(std::size_t axis) const { return taps_[axis]; }

  // Calls window(out_position, taps) for every output position of a plane, taps[a] being the
  // taps of that position along axis a.
  template <typename Window>
  void for_each_window(Window&& window) const {
    const std::size_t rank = geometry_.rank();
    std::vector<std::int64_t> o(rank, 0);
    std::vector<const AxisTaps*> taps(rank);
    const std::size_t count = geometry_.output_size();
    for (std::size_t out = 0; out < count; ++out) {
      for (std::size_t a = 0; a < rank; ++a) taps[a] = &taps_[a][static_cast<std::size_t>(o[a])];
      window(out, taps);
      for (std::size_t a = rank; a-- > 0;) {
        if (++o[a] < geometry_.output[a]) break;
        o[a] = 0;
      }
    }
  }

  // Calls tap(row_major_offset, column_major_offset) for every tap of a window that reads the
  // input (padding skipped), in row-major order of the kernel. The innermost axis is a plain
  // loop; the outer axes advance an odometer once per row of taps.
  template <typename Tap>
  void for_each_tap(const std::vector<const AxisTaps*>& taps, Tap&& tap) const {
    const std::size_t rank = geometry_.rank();
    for (std::size_t a = 0; a < rank; ++a) {
      if (taps[a]->k_begin >= taps[a]->k_end) return;  // the window reads only padding
    }
    const std::size_t outer = rank - 1;
    const AxisTaps& last = *taps[outer];
    const std::int64_t step = geometry_.dilations[outer];
    const std::int64_t col_step = col_strides_[outer];
    // The outer axes' tap indices: on the stack for the usual ranks (this runs once per output
    // value, and planes run on several threads at once).
    std::array<std::int64_t, 8> fixed{};
    std::vector<std::int64_t> more;
    std::int64_t* k = fixed.data();
    if (outer > fixed.size()) {
      more.resize(outer);
      k = more.data();
    }
    for (std::size_t a = 0; a < outer; ++a) k[a] = taps[a]->k_begin;
    while (true) {
      std::int64_t row = 0;
      std::int64_t col = 0;
      for (std::size_t a = 0; a < outer; ++a) {
        const std::int64_t coord = taps[a]->first + k[a] * geometry_.dilations[a];
        row += coord * row_strides_[a];
        col += coord * col_strides_[a];
      }
      for (std::int64_t j = last.k_begin; j < last.k_end; ++j) {
        const std::int64_t coord = last.first + j * step;
        tap(static_cast<std::size_t>(row + coord), static_cast<std::size_t>(col + coord * col_step));
      }
      std::size_t a = outer;
      while (a-- > 0) {
        if (++k[a] < taps[a]->k_end) break;
        k[a] = taps[a]->k_begin;
      }
      if (a == static_cast<std::size_t>(-1)) return;
    }
  }

 private:
  WindowGeometry geometry_;
  std::vector<std::vector<AxisTaps>> taps_;
  std::vector<std::int64_t> row_strides_;
  std::vector<std::int64_t> col_strides_;
  Shape output_shape_;
  std::size_t planes_ = 0;
};

using MaxPoolTypes = concat_types<FloatTypes, TypeList<std::int8_t, std::uint8_t>>;

template <typename C>
constexpr C lowest_value() {
  if constexpr (std::numeric_limits<C>::has_infinity) {
    return -std::numeric_limits<C>::infinity();
  } else {
    return std::numeric_limits<C>::lowest();
  }
}

// A MaxPool window's running maximum, taps seen first to last: the first tap always counts and
// a later one replaces it only when larger, so ties keep the first and a NaN tap propagates only
// as the first. take() says whether `v` became the maximum.
template <typename C>
struct WindowMax {
  C best = lowest_value<C>();
  bool found = false;
  bool take(C v) {
    if (found && !(v > best)) return false;
    best = v;
    found = true;
    return true;
  }
};

// MaxPool: the largest value of each window (the first one on ties) and, when asked, its flat
// index in X: ((n * C + c) * plane + spatial offset), the spatial offset row-major
// (storage_order 0) or column-major (1).
void max_pool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolPlan plan(ctx, x.shape());
  const bool column_major = ctx.attr_int("storage_order", 0) != 0;
  const bool want_indices = ctx.output_count() > 1 && ctx.output_wanted(1);
  dispatch<MaxPoolTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> xv(x);
    OutputValues<S> y(plan.output_shape());
    std::vector<std::int64_t> indices(want_indices ? y.size() : 0);
    const std::size_t in_plane = plan.geometry().input_size();
    const std::size_t out_plane = plan.geometry().output_size();
    // Planes in parallel: each writes its own outputs.
    parallel_for(ctx.threads(), plan.planes(), 1, [&](std::size_t first_plane, std::size_t end_plane) {
      if (plan.plain_2d() && !want_indices) {
        // The same values as the general walk below (first tap first, the same WindowMax), a
        // fifth of its time: ResNet-50's MaxPool took 5% of a run. With AVX-512 (float32,
        // strides 1 and 2) the windows inside the input along a row go 16 at a time.
        const auto& rows = plan.taps(0);
        const auto& cols = plan.taps(1);
        const auto width = static_cast<std::size_t>(plan.geometry().input[1]);
        const std::int64_t kernel_w = plan.geometry().kernel[1], stride_w = plan.geometry().strides[1];
        const std::size_t inside_begin = static_cast<std::size_t>(
            std::find_if(cols.begin(), cols.end(), [&](const AxisTaps& c) { return c.k_begin == 0 && c.k_end == kernel_w; }) -
            cols.begin());
        std::size_t inside_end = inside_begin;
        while (inside_end < cols.size() && cols[inside_end].k_begin == 0 && cols[inside_end].k_end == kernel_w) ++inside_end;
        bool vectors = false;
#if defined(ONNX_FP16_HAVE_AVX512)
        vectors = std::is_same_v<C, float> && (stride_w == 1 || stride_w == 2) && nn::cpu_has_avx512f();
#endif
        const std::size_t vector_count = vectors ? (inside_end - inside_begin) / 16 : 0;
        for (std::size_t p = first_plane; p < end_plane; ++p) {
          const C* in = xv.span().data() + p * in_plane;
          C* out = y.span().data() + p * out_plane;
          for (const AxisTaps& r : rows) {
            const auto window_max = [&](const AxisTaps& c) {
              WindowMax<C> window;
              for (std::int64_t ih = r.first + r.k_begin; ih < r.first + r.k_end; ++ih) {
                const C* row = in + static_cast<std::size_t>(ih) * width;
                for (std::int64_t iw = c.first + c.k_begin; iw < c.first + c.k_end; ++iw) window.take(row[iw]);
              }
              return window.best;
            };
            std::size_t j = 0;
#if defined(ONNX_FP16_HAVE_AVX512)
            if constexpr (std::is_same_v<C, float>) {
              if (vector_count > 0 && r.k_end > r.k_begin) {
                for (; j < inside_begin; ++j) out[j] = window_max(cols[j]);
                nn::max_pool_row_avx512(in, static_cast<std::int64_t>(width), r.first + r.k_begin, r.first + r.k_end,
                                        cols[inside_begin].first, stride_w, kernel_w,
                                        static_cast<std::int64_t>(vector_count), out + inside_begin);
                j = inside_begin + 16 * vector_count;
              }
            }
#endif
            for (; j < cols.size(); ++j) out[j] = window_max(cols[j]);
            out += cols.size();
          }
        }
        return;
      }
      for (std::size_t p = first_plane; p < end_plane; ++p) {
        const C* in = xv.span().data() + p * in_plane;
        plan.for_each_window([&](std::size_t out, const std::vector<const AxisTaps*>& taps) {
          WindowMax<C> window;
          std::size_t best_index = 0;
          plan.for_each_tap(taps, [&](std::size_t row, std::size_t col) {
            if (window.take(in[row])) best_index = column_major ? col : row;
          });
          y[p * out_plane + out] = window.best;
          if (want_indices) indices[p * out_plane + out] = static_cast<std::int64_t>(p * in_plane + best_index);
        });
      }
    });
    ctx.set_output(0, std::move(y).finish());
    if (want_indices) ctx.set_output(1, Tensor::from_vector<std::int64_t>(plan.output_shape(), indices));
  });
}

// AveragePool: the mean of each window's input values, or with count_include_pad of the
// window's positions inside the padded input (padding counted as zeros).
void average_pool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolPlan plan(ctx, x.shape());
  const bool include_pad = ctx.attr_int("count_include_pad", 0) != 0;
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> xv(x);
    OutputValues<S> y(plan.output_shape());
    const std::size_t in_plane = plan.geometry().input_size();
    const std::size_t out_plane = plan.geometry().output_size();
    // Planes in parallel: each writes its own outputs.
    parallel_for(ctx.threads(), plan.planes(), 1, [&](std::size_t first_plane, std::size_t end_plane) {
      for (std::size_t p = first_plane; p < end_plane; ++p) {
        const C* in = xv.span().data() + p * in_plane;
        plan.for_each_window([&](std::size_t out, const std::vector<const AxisTaps*>& taps) {
          C sum{0};
          std::size_t count = 0;
          plan.for_each_tap(taps, [&](std::size_t row, std::size_t) {
            sum += in[row];
            ++count;
          });
          if (include_pad) {
            count = 1;
            for (const auto* t : taps) count *= static_cast<std::size_t>(t->padded_count);
          }
          y[p * out_plane + out] = count == 0 ? std::numeric_limits<C>::quiet_NaN() : sum / static_cast<C>(count);
        });
      }
    });
    ctx.set_output(0, std::move(y).finish());
  });
}

// The p of LpPool / GlobalLpPool: a FLOAT attribute at opset 1, an INT from opset 2; 2 when absent.
double lp_exponent(const KernelContext& ctx) {
  const auto* attribute = ctx.find_attribute("p");
  if (attribute == nullptr) return 2.0;
  if (attribute->type() == onnx::AttributeProto::FLOAT) return attribute->f();
  return static_cast<double>(ctx.attr_int("p"));
}

template <typename C>
C lp_term(C value, double p) {
  const C magnitude = std::abs(value);
  if (p == 1.0) return magnitude;
  if (p == 2.0) return magnitude * magnitude;
  return static_cast<C>(std::pow(magnitude, static_cast<C>(p)));
}

template <typename C>
C lp_finish(C sum, double p) {
  if (p == 1.0) return sum;
  if (p == 2.0) return std::sqrt(sum);
  return static_cast<C>(std::pow(sum, static_cast<C>(1.0 / p)));
}

// LpPool: (sum of |x|^p over the window)^(1/p); the padding adds nothing.
void lp_pool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolPlan plan(ctx, x.shape());
  const double p_value = lp_exponent(ctx);
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> xv(x);
    OutputValues<S> y(plan.output_shape());
    const std::size_t in_plane = plan.geometry().input_size();
    const std::size_t out_plane = plan.geometry().output_size();
    // Planes in parallel: each writes its own outputs.
    parallel_for(ctx.threads(), plan.planes(), 1, [&](std::size_t first_plane, std::size_t end_plane) {
      for (std::size_t p = first_plane; p < end_plane; ++p) {
        const C* in = xv.span().data() + p * in_plane;
        plan.for_each_window([&](std::size_t out, const std::vector<const AxisTaps*>& taps) {
          C sum{0};
          plan.for_each_tap(taps, [&](std::size_t row, std::size_t) { sum += lp_term(in[row], p_value); });
          y[p * out_plane + out] = lp_finish(sum, p_value);
        });
      }
    });
    ctx.set_output(0, std::move(y).finish());
  });
}

// GlobalAveragePool / GlobalMaxPool / GlobalLpPool: one value per (n, c) plane, the output
// keeping every spatial axis with size 1.
template <typename Types, typename Reduce>
void global_pool(KernelContext& ctx, Reduce reduce) {
  const Tensor& x = ctx.input(0);
  const auto spatial = nn::spatial_dims(ctx, x.shape(), /*allow_no_spatial=*/true);
  Shape out_shape(x.shape().begin(), x.shape().begin() + 2);
  out_shape.resize(x.rank(), 1);
  std::size_t plane = 1;
  for (const auto d : spatial) plane *= static_cast<std::size_t>(d);
  dispatch<Types>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> xv(x);
    OutputValues<S> y(out_shape);
    // Planes in parallel, a few thousand values at least per range.
    const std::size_t grain = std::max<std::size_t>(1, std::size_t{16384} / std::max<std::size_t>(1, plane));
    parallel_for(ctx.threads(), y.size(), grain, [&](std::size_t begin, std::size_t end) {
      for (std::size_t p = begin; p < end; ++p) y[p] = reduce(std::span<const C>(xv.span().data() + p * plane, plane));
    });
    ctx.set_output(0, std::move(y).finish());
  });
}

void global_average_pool_kernel(KernelContext& ctx) {
  global_pool<FloatTypes>(ctx, []<typename C>(std::span<const C> values) {
    C sum{0};
    for (const C v : values) sum += v;
    return values.empty() ? std::numeric_limits<C>::quiet_NaN() : sum / static_cast<C>(values.size());
  });
}

void global_max_pool_kernel(KernelContext& ctx) {
  global_pool<FloatTypes>(ctx, []<typename C>(std::span<const C> values) {
    C best = lowest_value<C>();
    for (const C v : values) best = std::max(best, v);
    return best;
  });
}

void global_lp_pool_kernel(KernelContext& ctx) {
  const double p = lp_exponent(ctx);
  global_pool<FloatTypes>(ctx, [p]<typename C>(std::span<const C> values) {
    C sum{0};
    for (const C v : values) sum += lp_term(v, p);
    return lp_finish(sum, p);
  });
}

// MaxUnpool: zeros of the unpooled shape, (in - 1) * stride + kernel - pads per spatial axis,
// with X's values written at the flat positions I gives (MaxPool's Indices). An output_shape
// input larger than that pads the result with zeros at the end of each axis: the indices stay
// positions in the computed shape, as ONNX's reference and test data have it.
void max_unpool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (indices.shape() != x.shape()) {
    ctx.fail("indices of shape " + shape_to_string(indices.shape()) + " for X of shape " + shape_to_string(x.shape()));
  }
  const auto spatial = nn::spatial_dims(ctx, x.shape());
  const std::size_t rank = spatial.size();
  const auto kernel = ctx.attr_ints("kernel_shape");
  if (kernel.size() != rank) ctx.fail("kernel_shape does not match the input's spatial axes");
  const auto strides = nn::per_axis_attribute(ctx, "strides", rank, 1);
  auto pads = ctx.attr_ints("pads", std::vector<std::int64_t>(2 * rank, 0));
  if (pads.size() != 2 * rank) ctx.fail("attribute 'pads' needs " + std::to_string(2 * rank) + " values");
  Shape unpooled{x.shape()[0], x.shape()[1]};
  for (std::size_t a = 0; a < rank; ++a) {
    unpooled.push_back((spatial[a] - 1) * strides[a] + kernel[a] - pads[a] - pads[rank + a]);
    if (unpooled.back() < 0) ctx.fail("the pads leave a negative output size");
  }
  Shape out_shape = unpooled;
  if (const Tensor* given = ctx.optional_input(2)) {
    out_shape = to_int64_vector(*given);
    if (out_shape.size() != x.rank()) ctx.fail("output_shape " + shape_to_string(out_shape) + " has the wrong rank");
    for (std::size_t a = 0; a < out_shape.size(); ++a) {
      if (out_shape[a] < unpooled[a]) {
        ctx.fail("output_shape " + shape_to_string(out_shape) + " is smaller than the unpooled shape " +
                 shape_to_string(unpooled));
      }
    }
  }
  const auto where = to_int64_vector(indices);
  const std::size_t unpooled_size = element_count(unpooled);
  // Where flat position i of the unpooled shape lands in the output.
  const auto place = [&](std::size_t i) {
    std::size_t out = 0;
    std::size_t stride = 1;
    for (std::size_t a = out_shape.size(); a-- > 0;) {
      const auto dim = static_cast<std::size_t>(unpooled[a]);
      out += (i % dim) * stride;
      i /= dim;
      stride *= static_cast<std::size_t>(out_shape[a]);
    }
    return out;
  };
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    Tensor y(x.dtype(), out_shape);  // zeros; values are moved, not computed: no rounding
    auto out = y.mutable_data<S>();
    const auto in = x.data<S>();
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (where[i] < 0 || static_cast<std::size_t>(where[i]) >= unpooled_size) {
        ctx.fail("index " + std::to_string(where[i]) + " is outside the unpooled shape " + shape_to_string(unpooled));
      }
      out[place(static_cast<std::size_t>(where[i]))] = in[i];
    }
    ctx.set_output(0, std::move(y));
  });
}

}  // namespace

void register_pooling_kernels(KernelRegistry& r) {
  // One kernel per op serves every version: later versions add attributes (storage_order at 8,
  // ceil_mode and dilations at 10, count_include_pad at 7) whose defaults give the older
  // behaviour, and types (int8/uint8 MaxPool at 12).
  r.add("MaxPool", 1, max_pool_kernel);
  r.add("AveragePool", 1, average_pool_kernel);
  r.add("LpPool", 1, lp_pool_kernel);
  r.add("GlobalAveragePool", 1, global_average_pool_kernel);
  r.add("GlobalMaxPool", 1, global_max_pool_kernel);
  r.add("GlobalLpPool", 1, global_lp_pool_kernel);
  r.add("MaxUnpool", 9, max_unpool_kernel);
}

}  // namespace onnx_fp16::runtime
