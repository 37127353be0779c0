// Row normalisation shared by LayerNormalization, InstanceNormalization, the RMS variants
// (SimplifiedLayerNormalization) and com.microsoft's SkipLayerNormalization family: statistics
// and results in the compute type (float32 for float16), rounded once by the caller.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

#include "runtime/broadcast.h"
#include "runtime/float_compute.h"
#include "runtime/kernels/math_reduction.h"
#include "runtime/parallel.h"
#include "runtime/tensor.h"

namespace onnx_fp16::runtime::math {

// Normalises each consecutive row of `row_size` values in place:
//   centred:     y = (x - mean) / sqrt(variance + epsilon)    (variance: population, two-pass)
//   not centred: y = x / sqrt(mean(x^2) + epsilon)            (root mean square)
// and stores each row's mean (centred only) and 1 / sqrt(...) where the spans are not empty.
// Rows are split over `threads` threads, each row computed by one.
template <typename C>
void normalize_rows(int threads, std::span<C> values, std::size_t row_size, double epsilon, bool centred,
                    std::span<C> means, std::span<C> inv_std_devs) {
  if (row_size == 0) return;
  const std::size_t rows = values.size() / row_size;
  parallel_for(threads, rows, rows_per_task(row_size), [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) {
      C* x = values.data() + r * row_size;
      C mean{0};
      if (centred) {
        for (std::size_t j = 0; j < row_size; ++j) mean += x[j];
        mean /= static_cast<C>(row_size);
      }
      C square_sum{0};
      for (std::size_t j = 0; j < row_size; ++j) square_sum += (x[j] - mean) * (x[j] - mean);
      const C inv = C{1} / std::sqrt(square_sum / static_cast<C>(row_size) + static_cast<C>(epsilon));
      for (std::size_t j = 0; j < row_size; ++j) x[j] = (x[j] - mean) * inv;
      if (!means.empty()) means[r] = mean;
      if (!inv_std_devs.empty()) inv_std_devs[r] = inv;
    }
  });
}

// values (of `shape`) *= scale, then += bias where given; scale and bias broadcast to the shape
// (one way) and have storage type S.
template <typename S>
void scale_and_shift(std::span<compute_t<S>> values, const Shape& shape, const Tensor* scale, const Tensor* bias) {
  for (const bool multiply : {true, false}) {
    const Tensor* parameter = multiply ? scale : bias;
    if (parameter == nullptr) continue;
    const InputValues<S> p(*parameter);
    const Shape inputs[] = {parameter->shape()};
    const BroadcastLayout layout(inputs, shape);
    layout.for_each_run([&](std::size_t o, std::size_t count, const std::size_t* offset, const std::size_t* step) {
      for (std::size_t i = 0; i < count; ++i) {
        const auto v = p[offset[0] + i * step[0]];
        values[o + i] = multiply ? values[o + i] * v : values[o + i] + v;
      }
    });
  }
}

}  // namespace onnx_fp16::runtime::math
