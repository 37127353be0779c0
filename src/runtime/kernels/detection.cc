// Object-detection ops: NonMaxSuppression (10, 11), and the region poolings RoiAlign (10, 16)
// and MaxRoiPool (1).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// A box as its corners, min before max, whatever order the input gave them in. Centre-point
// boxes become corners too, and their area is taken from the corners rather than as width x
// height, as ONNX Runtime does: the two round differently far from the origin (torchvision's
// per-class offsets put boxes there), and a borderline overlap must be decided the same way
// (tests/integration/evaluator_ort_agreement_test.cc, detection family).
struct Box {
  float y_min, x_min, y_max, x_max;
  float area() const { return (y_max - y_min) * (x_max - x_min); }
};

Box read_box(const float* b, bool center_point) {
  if (center_point) {  // [x_center, y_center, width, height]
    return {b[1] - b[3] / 2, b[0] - b[2] / 2, b[1] + b[3] / 2, b[0] + b[2] / 2};
  }
  // [y1, x1, y2, x2], either corner first
  return {std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]), std::max(b[1], b[3])};
}

// Whether b suppresses a: intersection over union above the threshold. Degenerate boxes and
// disjoint ones never suppress.
bool suppresses(const Box& a, const Box& b, float iou_threshold) {
  const float y_min = std::max(a.y_min, b.y_min);
  const float x_min = std::max(a.x_min, b.x_min);
  const float y_max = std::min(a.y_max, b.y_max);
  const float x_max = std::min(a.x_max, b.x_max);
  if (y_max <= y_min || x_max <= x_min) return false;
  const float area_a = a.area();
  const float area_b = b.area();
  if (area_a <= 0 || area_b <= 0) return false;
  const float intersection = (y_max - y_min) * (x_max - x_min);
  const float union_area = area_a + area_b - intersection;
  if (union_area <= 0) return false;
  return intersection / union_area > iou_threshold;
}

// The boxes one (batch, class) has kept so far, filed by x_min in a 1-D grid, so that a
// candidate is checked only against kept boxes that can intersect it: those with x_min below
// its x_max and above its x_min less the widest kept box. Every other kept box is disjoint
// from it, which suppresses() answers with false, so the decisions are those of checking
// every kept box. Why: torchvision's batched NMS offsets every class to its own x range and
// sends all of them through one class; Faster R-CNN's last NMS (150 proposals x 90 classes)
// checked each of 13,500 boxes against thousands of kept ones (100 ms a run).
class KeptBoxes {
 public:
  // Candidates lie in [x_lo, x_hi] (finite); `expected` is about how many there are.
  KeptBoxes(double x_lo, double x_hi, std::size_t expected)
      : x_lo_(x_lo), cells_(std::clamp<std::size_t>(expected / 4, 1, 1 << 16)) {
    cell_width_ = (x_hi - x_lo) / static_cast<double>(cells_);
    // A grid finer than the coordinates' rounding could misfile a box; one cell is the plain scan.
    if (!(cell_width_ > 1e-9 * std::max(std::abs(x_lo), std::abs(x_hi)))) cells_ = 1;
    grid_.assign(cells_, {});
  }

  std::size_t size() const { return count_; }

  void add(const Box& b) {
    grid_[cell(b.x_min)].push_back(b);
    widest_ = std::max(widest_, static_cast<double>(b.x_max) - static_cast<double>(b.x_min));
    ++count_;
  }

  bool any_suppresses(const Box& a, float iou_threshold) const {
    // One cell of margin below for the rounding of x_min - widest; cell() is monotone, so a kept
    // x_min below a.x_max is in a cell up to cell(a.x_max).
    const std::size_t first = cell(static_cast<double>(a.x_min) - widest_);
    const std::size_t last = cell(a.x_max);
    for (std::size_t c = first == 0 ? 0 : first - 1; c <= last; ++c) {
      for (const Box& k : grid_[c]) {
        if (suppresses(a, k, iou_threshold)) return true;
      }
    }
    return false;
  }

 private:
  std::size_t cell(double x) const {
    if (cells_ == 1) return 0;
    const double position = std::floor((x - x_lo_) / cell_width_);
    if (!(position > 0)) return 0;
    return position >= static_cast<double>(cells_ - 1) ? cells_ - 1 : static_cast<std::size_t>(position);
  }

  double x_lo_;
  std::size_t cells_;
  double cell_width_ = 0;
  double widest_ = 0;
  std::size_t count_ = 0;
  std::vector<std::vector<Box>> grid_;
};

// NonMaxSuppression: per batch and class, boxes by decreasing score (the lower index first on
// ties), keeping each box that no kept box overlaps by more than iou_threshold, at most
// max_output_boxes_per_class of them; scores must exceed score_threshold when it is given.
// Output: [selected, 3] rows of (batch, class, box).
void non_max_suppression_kernel(KernelContext& ctx) {
  const Tensor& boxes = ctx.input(0);
  const Tensor& scores = ctx.input(1);
  if (boxes.rank() != 3 || boxes.shape()[2] != 4 || scores.rank() != 3 || scores.shape()[0] != boxes.shape()[0] ||
      scores.shape()[2] != boxes.shape()[1]) {
    ctx.fail("expects boxes [B, N, 4] and scores [B, C, N], got " + shape_to_string(boxes.shape()) + " and " +
             shape_to_string(scores.shape()));
  }
  const Tensor* max_boxes = ctx.optional_input(2);
  const Tensor* iou = ctx.optional_input(3);
  const Tensor* score_min = ctx.optional_input(4);
  const std::int64_t max_per_class = max_boxes != nullptr && max_boxes->size() > 0 ? scalar_to_int64(*max_boxes) : 0;
  const float iou_threshold = iou != nullptr && iou->size() > 0 ? static_cast<float>(scalar_to_double(*iou)) : 0.0f;
  const bool filter_scores = score_min != nullptr && score_min->size() > 0;
  const float score_threshold = filter_scores ? static_cast<float>(scalar_to_double(*score_min)) : 0.0f;
  const bool center_point = ctx.attr_int("center_point_box", 0) != 0;

  const std::vector<float> box_values = to_float_vector(boxes);
  const std::vector<float> score_values = to_float_vector(scores);
  const auto batches = static_cast<std::size_t>(boxes.shape()[0]);
  const auto count = static_cast<std::size_t>(boxes.shape()[1]);
  const auto classes = static_cast<std::size_t>(scores.shape()[1]);
  std::vector<std::int64_t> selected;
  std::vector<std::size_t> order;
  for (std::size_t b = 0; b < batches && max_per_class > 0; ++b) {
    std::vector<Box> all(count);
    for (std::size_t i = 0; i < count; ++i) all[i] = read_box(box_values.data() + (b * count + i) * 4, center_point);
    for (std::size_t c = 0; c < classes; ++c) {
      const float* s = score_values.data() + (b * classes + c) * count;
      order.clear();
      for (std::size_t i = 0; i < count; ++i) {
        if (!filter_scores || s[i] > score_threshold) order.push_back(i);
      }
      std::stable_sort(order.begin(), order.end(), [s](std::size_t i, std::size_t j) { return s[i] > s[j]; });
      // The grid needs finite coordinates; otherwise (or for a handful of boxes) one cell.
      double x_lo = 0, x_hi = 0;
      bool finite = true;
      for (std::size_t n = 0; n < order.size(); ++n) {
        const Box& box = all[order[n]];
        finite = finite && std::isfinite(box.x_min) && std::isfinite(box.x_max) && std::isfinite(box.y_min) &&
                 std::isfinite(box.y_max);
        x_lo = n == 0 ? box.x_min : std::min<double>(x_lo, box.x_min);
        x_hi = n == 0 ? box.x_max : std::max<double>(x_hi, box.x_max);
      }
      KeptBoxes kept(x_lo, x_hi, finite ? order.size() : 0);
      for (const std::size_t i : order) {
        if (static_cast<std::int64_t>(kept.size()) >= max_per_class) break;
        if (kept.any_suppresses(all[i], iou_threshold)) continue;
        kept.add(all[i]);
        selected.insert(selected.end(),
                        {static_cast<std::int64_t>(b), static_cast<std::int64_t>(c), static_cast<std::int64_t>(i)});
      }
    }
  }
  const auto rows = static_cast<std::int64_t>(selected.size() / 3);
  ctx.set_output(0, Tensor::from_vector<std::int64_t>({rows, 3}, selected));
}

// RoiAlign: each region [x1, y1, x2, y2] of image batch_indices[r], scaled by spatial_scale,
// split into output_height x output_width bins; each bin averages (or takes the maximum of)
// bilinear samples on a sampling_ratio x sampling_ratio grid (ceil(bin size) when 0).
// coordinate_transformation_mode half_pixel (the default from opset 16) shifts the region by
// -0.5 pixel; output_half_pixel (opset 10's behaviour) does not, and makes regions at least
// one pixel wide. Max mode takes, per sample, the largest of its four weighted neighbours,
// as onnxruntime and ONNX's reference implementation do.
void roi_align_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  const Tensor& batch_indices = ctx.input(2);
  if (x.rank() != 4 || rois.rank() != 2 || rois.shape()[1] != 4 ||
      batch_indices.size() != static_cast<std::size_t>(rois.shape()[0])) {
    ctx.fail("expects X [N, C, H, W], rois [R, 4] and batch_indices [R], got " + shape_to_string(x.shape()) + ", " +
             shape_to_string(rois.shape()) + " and " + shape_to_string(batch_indices.shape()));
  }
  const std::string mode = ctx.attr_string("mode", "avg");
  if (mode != "avg" && mode != "max") ctx.fail("unknown mode '" + mode + "'");
  const bool average = mode == "avg";
  const std::string transform =
      ctx.attr_string("coordinate_transformation_mode", ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  if (transform != "half_pixel" && transform != "output_half_pixel") {
    ctx.fail("unknown coordinate_transformation_mode '" + transform + "'");
  }
  const bool half_pixel = transform == "half_pixel";
  const std::int64_t out_h = ctx.attr_int("output_height", 1);
  const std::int64_t out_w = ctx.attr_int("output_width", 1);
  const std::int64_t sampling_ratio = ctx.attr_int("sampling_ratio", 0);
  const float spatial_scale = ctx.attr_float("spatial_scale", 1.0f);
  if (out_h < 1 || out_w < 1 || sampling_ratio < 0) ctx.fail("output sizes must be positive, sampling_ratio >= 0");
  const std::int64_t channels = x.shape()[1];
  const std::int64_t height = x.shape()[2];
  const std::int64_t width = x.shape()[3];
  const std::int64_t count = rois.shape()[0];
  const auto indices = to_int64_vector(batch_indices);
  if (rois.dtype() != x.dtype()) ctx.fail("rois must have X's element type");

  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using T = compute_t<S>;
    const InputValues<S> xv(x);
    const InputValues<S> rv(rois);
    OutputValues<S> y({count, channels, out_h, out_w});
    // One bilinear sample: up to four (offset, weight) pairs; weights 0 outside the image.
    struct Sample {
      std::size_t pos[4] = {0, 0, 0, 0};
      T w[4] = {0, 0, 0, 0};
    };
    std::vector<Sample> samples;
    for (std::int64_t r = 0; r < count; ++r) {
      const std::int64_t batch = indices[static_cast<std::size_t>(r)];
      if (batch < 0 || batch >= x.shape()[0]) ctx.fail("batch index " + std::to_string(batch) + " out of range");
      const T offset = half_pixel ? T{0.5} : T{0};
      const T* roi = rv.span().data() + r * 4;
      const T scale = static_cast<T>(spatial_scale);
      const T start_w = roi[0] * scale - offset;
      const T start_h = roi[1] * scale - offset;
      T roi_w = roi[2] * scale - offset - start_w;
      T roi_h = roi[3] * scale - offset - start_h;
      if (!half_pixel) {
        roi_w = std::max(roi_w, T{1});
        roi_h = std::max(roi_h, T{1});
      }
      const T bin_h = roi_h / static_cast<T>(out_h);
      const T bin_w = roi_w / static_cast<T>(out_w);
      const std::int64_t grid_h =
          sampling_ratio > 0 ? sampling_ratio : static_cast<std::int64_t>(std::ceil(roi_h / static_cast<T>(out_h)));
      const std::int64_t grid_w =
          sampling_ratio > 0 ? sampling_ratio : static_cast<std::int64_t>(std::ceil(roi_w / static_cast<T>(out_w)));
      const T grid_count = static_cast<T>(std::max<std::int64_t>(grid_h * grid_w, 1));

      // The samples of every bin, shared by all channels.
      samples.clear();
      for (std::int64_t ph = 0; ph < out_h; ++ph) {
        for (std::int64_t pw = 0; pw < out_w; ++pw) {
          for (std::int64_t iy = 0; iy < grid_h; ++iy) {
            const T yy =
                start_h + static_cast<T>(ph) * bin_h + (static_cast<T>(iy) + T{0.5}) * bin_h / static_cast<T>(grid_h);
            for (std::int64_t ix = 0; ix < grid_w; ++ix) {
              const T xx =
                  start_w + static_cast<T>(pw) * bin_w + (static_cast<T>(ix) + T{0.5}) * bin_w / static_cast<T>(grid_w);
              Sample sample;
              if (!(yy < -1 || yy > static_cast<T>(height) || xx < -1 || xx > static_cast<T>(width))) {
                T sy = std::max(yy, T{0});
                T sx = std::max(xx, T{0});
                auto y_low = static_cast<std::int64_t>(sy);
                auto x_low = static_cast<std::int64_t>(sx);
                std::int64_t y_high = y_low + 1;
                std::int64_t x_high = x_low + 1;
                if (y_low >= height - 1) {
                  y_low = y_high = height - 1;
                  sy = static_cast<T>(y_low);
                }
                if (x_low >= width - 1) {
                  x_low = x_high = width - 1;
                  sx = static_cast<T>(x_low);
                }
                const T ly = sy - static_cast<T>(y_low);
                const T lx = sx - static_cast<T>(x_low);
                const T hy = T{1} - ly;
                const T hx = T{1} - lx;
                const auto at = [width](std::int64_t row, std::int64_t col) {
                  return static_cast<std::size_t>(row * width + col);
                };
                sample = {{at(y_low, x_low), at(y_low, x_high), at(y_high, x_low), at(y_high, x_high)},
                          {hy * hx, hy * lx, ly * hx, ly * lx}};
              }
              samples.push_back(sample);
            }
          }
        }
      }
      const std::size_t per_bin = static_cast<std::size_t>(grid_h * grid_w);
      for (std::int64_t c = 0; c < channels; ++c) {
        const T* plane = xv.span().data() + ((batch * channels + c) * height) * width;
        T* out = y.span().data() + ((r * channels + c) * out_h) * out_w;
        for (std::size_t bin = 0; bin < static_cast<std::size_t>(out_h * out_w); ++bin) {
          T value{0};
          for (std::size_t k = 0; k < per_bin; ++k) {
            const Sample& s = samples[bin * per_bin + k];
            if (average) {
              value += s.w[0] * plane[s.pos[0]] + s.w[1] * plane[s.pos[1]] + s.w[2] * plane[s.pos[2]] +
                       s.w[3] * plane[s.pos[3]];
            } else {
              const T best = std::max({s.w[0] * plane[s.pos[0]], s.w[1] * plane[s.pos[1]], s.w[2] * plane[s.pos[2]],
                                       s.w[3] * plane[s.pos[3]]});
              value = k == 0 ? best : std::max(value, best);
            }
          }
          out[bin] = average ? value / grid_count : value;
        }
      }
    }
    ctx.set_output(0, std::move(y).finish());
  });
}

// MaxRoiPool (Caffe's ROIPooling): each region [batch, x1, y1, x2, y2], scaled by
// spatial_scale and rounded to whole pixels, split into pooled_shape bins; each bin's maximum
// (0 for an empty bin).
void max_roi_pool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  if (x.rank() != 4 || rois.rank() != 2 || rois.shape()[1] != 5) {
    ctx.fail("expects X [N, C, H, W] and rois [R, 5], got " + shape_to_string(x.shape()) + " and " +
             shape_to_string(rois.shape()));
  }
  const auto pooled = ctx.attr_ints("pooled_shape");
  if (pooled.size() != 2 || pooled[0] < 1 || pooled[1] < 1) ctx.fail("pooled_shape must be two positive sizes");
  const float scale = ctx.attr_float("spatial_scale", 1.0f);
  const std::int64_t channels = x.shape()[1];
  const std::int64_t height = x.shape()[2];
  const std::int64_t width = x.shape()[3];
  const std::vector<float> regions = to_float_vector(rois);
  const std::int64_t count = rois.shape()[0];
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    using C = compute_t<S>;
    const InputValues<S> xv(x);
    OutputValues<S> y({count, channels, pooled[0], pooled[1]});
    std::size_t out = 0;
    for (std::int64_t r = 0; r < count; ++r) {
      const float* roi = regions.data() + r * 5;
      const auto batch = static_cast<std::int64_t>(roi[0]);
      if (batch < 0 || batch >= x.shape()[0])
        ctx.fail("region " + std::to_string(r) + " names batch " + std::to_string(batch));
      const auto start_w = static_cast<std::int64_t>(std::round(roi[1] * scale));
      const auto start_h = static_cast<std::int64_t>(std::round(roi[2] * scale));
      const auto end_w = static_cast<std::int64_t>(std::round(roi[3] * scale));
      const auto end_h = static_cast<std::int64_t>(std::round(roi[4] * scale));
      const float bin_h =
          static_cast<float>(std::max<std::int64_t>(end_h - start_h + 1, 1)) / static_cast<float>(pooled[0]);
      const float bin_w =
          static_cast<float>(std::max<std::int64_t>(end_w - start_w + 1, 1)) / static_cast<float>(pooled[1]);
      const auto clamp = [](std::int64_t v, std::int64_t hi) { return std::min(std::max<std::int64_t>(v, 0), hi); };
      for (std::int64_t c = 0; c < channels; ++c) {
        const C* plane = xv.span().data() + ((batch * channels + c) * height) * width;
        for (std::int64_t ph = 0; ph < pooled[0]; ++ph) {
          const std::int64_t h0 = clamp(static_cast<std::int64_t>(std::floor(ph * bin_h)) + start_h, height);
          const std::int64_t h1 = clamp(static_cast<std::int64_t>(std::ceil((ph + 1) * bin_h)) + start_h, height);
          for (std::int64_t pw = 0; pw < pooled[1]; ++pw) {
            const std::int64_t w0 = clamp(static_cast<std::int64_t>(std::floor(pw * bin_w)) + start_w, width);
            const std::int64_t w1 = clamp(static_cast<std::int64_t>(std::ceil((pw + 1) * bin_w)) + start_w, width);
            C best = (h1 <= h0 || w1 <= w0) ? C{0} : plane[h0 * width + w0];
            for (std::int64_t h = h0; h < h1; ++h) {
              for (std::int64_t w = w0; w < w1; ++w) best = std::max(best, plane[h * width + w]);
            }
            y[out++] = best;
          }
        }
      }
    }
    ctx.set_output(0, std::move(y).finish());
  });
}

}  // namespace

void register_detection_kernels(KernelRegistry& r) {
  r.add("NonMaxSuppression", 10, non_max_suppression_kernel);
  r.add("RoiAlign", 10, roi_align_kernel);
  r.add("MaxRoiPool", 1, max_roi_pool_kernel);
}

}  // namespace onnx_fp16::runtime
