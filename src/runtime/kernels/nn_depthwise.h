// The depthwise 2-D convolution (one input and one output channel per group), defined in
// convolution.cc, where Conv runs it; nn_integer_conv.cc runs it too, on the shifted integer
// values of a depthwise ConvInteger.
#pragma once

#include <cstddef>

#include "runtime/kernels/nn_window.h"

namespace onnx_fp16::runtime::nn {

// Depthwise 2-D: rank 2, more than one group, one input and one output channel per group.
bool is_depthwise_2d(const ConvLayout& layout);

// y = x convolved with w, no bias, float32: `planes` planes of x (batch x channels), plane p
// with kernel p % channels; planes over the threads. Every output sums its taps into a float32
// that starts at +0, each product rounded before it is added (no fused multiply-add).
void depthwise_conv_2d_float(const float* x, const float* w, float* y, std::size_t planes, std::size_t channels,
                             const WindowGeometry& g, int threads);

}  // namespace onnx_fp16::runtime::nn
