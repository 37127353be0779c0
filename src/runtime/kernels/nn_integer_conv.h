// The integer convolution behind ConvInteger and QLinearConv: int32 sums of
// (x - x_zero_point) * (w - w_zero_point) over the Conv window (conv_layout's attributes).
// Padding contributes nothing: it stands for the zero point, which the subtraction zeroes.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/kernel.h"

namespace onnx_fp16::runtime::nn {

struct IntegerConv {
  Tensor sums;  // INT32 [N, M, out...], row-major
  std::size_t out_channels = 0;
  std::size_t plane = 0;  // output positions per channel
};

// x and w are int8 or uint8; x_zero_point is a scalar (one value); w_zero_point a scalar or
// one value per output channel. Either zero point may be absent (0). `weight_inputs`: the node's
// inputs holding w and w_zero_point (ConvInteger 1 and 3, QLinearConv 3 and 5): where both are
// the plan's constants, the weights are packed once per node (KernelContext::from_constants).
IntegerConv integer_conv(const KernelContext& ctx, const Tensor& x, const Tensor* x_zero_point, const Tensor& w,
                         const Tensor* w_zero_point, std::array<std::size_t, 2> weight_inputs);
// A preparer's part (KernelRegistry::add_preparer): packs a constant w for the direct path while
// the model loads, as integer_conv's first run would.
void prepare_integer_conv(const KernelContext& ctx, const Tensor& w, const Tensor* w_zero_point,
                          std::array<std::size_t, 2> weight_inputs);

// MatMulInteger's usual case, on CPUs with AVX-512 VNNI (the direct path of integer_conv, as a
// product): c[r][j] = sum over p of (a[r][p] - a_zero)(b[p][j] - b_zero[j or 0]) for r < rows,
// a uint8 [rows x k] row-major, b a uint8 or int8 matrix [k x n]; int32 sums that wrap (exact
// modulo 2^32). direct_integer_gemm_applies says whether it may run (the CPU, the types, b 2-D).
// `weight_inputs`: the node's inputs holding b and its zero point; where both are the plan's
// constants, b is packed once per node (KernelContext::from_constants), and
// prepare_direct_integer_gemm packs it while the model loads (a preparer,
// KernelRegistry::add_preparer; it needs b alone, so it packs whatever a turns out to be).
bool direct_integer_gemm_applies(const Tensor& a, const Tensor& b);
bool direct_integer_gemm_packs(const Tensor& b);  // the part of direct_integer_gemm_applies about b
void direct_integer_gemm(const KernelContext& ctx, const std::uint8_t* a, std::size_t rows, std::size_t k,
                         std::int32_t a_zero, const Tensor& b, const std::vector<std::int32_t>& b_zero,
                         std::array<std::size_t, 2> weight_inputs, std::int32_t* c);
void prepare_direct_integer_gemm(const KernelContext& ctx, const Tensor& b, const std::vector<std::int32_t>& b_zero,
                                 std::array<std::size_t, 2> weight_inputs);

// An 8-bit integer tensor's values minus its zero point, written as floats into `out`
// (values.size() of them; integers of magnitude at most 255, exact in float32, as
// math::exact_integer_gemm takes them). The zero point is absent, one value, or one value per
// slice of `channels` consecutive blocks of `block` elements. Returns the largest magnitude
// written (what bounds exact_integer_gemm's products). Fails on any other element type or zero
// point size.
std::int32_t shift_int8_values(const KernelContext& ctx, const Tensor& values, const Tensor* zero_point,
                               std::size_t channels, std::size_t block, float* out);

}  // namespace onnx_fp16::runtime::nn
