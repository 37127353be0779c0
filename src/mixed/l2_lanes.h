// The sums behind relative_l2_distance (acceptance.cc): eight interleaved partial sums in
// double, element i going to lane i % 8, each lane summed in element order, so the distance
// depends on the elements alone. The search order measures a distance at every cut point after
// each unit it measures; one element at a time these sums were 8.7% of BERT-base's order
// (2026-12-07), so CPUs with AVX-512 add eight lanes in one vector, to the same bits.
#pragma once

#include <cstddef>

namespace onnx_fp16::mixed::detail {

// For i < count (a multiple of 8): difference_lanes[i % 8] += (x[i] - y[i])^2 and
// norm_lanes[i % 8] += y[i]^2, in double, in order of i, each product rounded before it is
// added. AVX-512F vectors (l2_lanes_avx512.cc, compiled with -mavx512f -ffp-contract=off);
// only where the CPU has it (runtime::nn::cpu_has_avx512f).
void add_l2_lanes_avx512(const float* x, const float* y, std::size_t count, double* difference_lanes,
                         double* norm_lanes);

}  // namespace onnx_fp16::mixed::detail
