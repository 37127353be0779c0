// The inner loop of the depthwise convolution (convolution.cc) for float32: one output row of a
// zero-padded input plane. A portable loop, and the same sums with AVX-512 vectors where the CPU
// has them (depthwise_rows_avx512.cc, compiled for AVX-512 alone; chosen at run time).
//
// Contract: out[j] = sum over t in order of taps[t] * row_base[tap_offsets[t] + j] for
// j < width, each sum a float32 that starts at +0, every product rounded before it is added
// (no fused multiply-add): the same bits on every path. width is a multiple of 8; every read
// lies inside the padded plane.
#pragma once

#include <cstddef>
#include <cstdint>

namespace onnx_fp16::runtime::nn {

// Whether depthwise_row_avx512 may run here (AVX-512F, and the OS saves its registers).
bool cpu_has_avx512f();

#if defined(__x86_64__)
#define ONNX_FP16_HAVE_AVX512_DEPTHWISE 1
void depthwise_row_avx512(const float* row_base, const std::int64_t* tap_offsets, std::size_t taps_count,
                          const float* taps, std::int64_t width, float* out);
#endif

}  // namespace onnx_fp16::runtime::nn
