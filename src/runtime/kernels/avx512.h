// Kernels' inner loops in AVX-512 vectors (avx512_kernels.cc, avx512_gemm.cc and
// avx512_vnni_conv.cc, the files compiled with -mavx512f), for CPUs that have it: the callers
// check cpu_has_avx512f() or cpu_has_avx512_vnni() (avx512_detect.cc) at run time and keep a
// portable loop or OpenBLAS for the others.
#pragma once

#include <cstddef>
#include <cstdint>

namespace onnx_fp16 {
struct Float16;   // <onnx_fp16/tensor.h>
struct BFloat16;
}
namespace onnx_fp16::runtime {
struct ReadRounding;  // read_rounding.h
}

namespace onnx_fp16::runtime::nn {

// Whether the functions below may run here (AVX-512F, and the OS saves its registers).
bool cpu_has_avx512f();
// Whether u8s8_conv_row_avx512vnni may run here: AVX-512F and AVX-512 VNNI.
bool cpu_has_avx512_vnni();
// AVX-512F and AVX-512DQ (64-bit integer products and conversions: mixed/nudge_avx512.cc).
bool cpu_has_avx512dq();

#if defined(__x86_64__)
#define ONNX_FP16_HAVE_AVX512 1

// The depthwise convolution (convolution.cc): `rows` output rows of a zero-padded input plane,
// row r read from base + r * row_step and written to out + r * out_step.
// out[j] = sum over t in order of taps[t] * row[tap_offsets[t] + j], then + *bias where bias
// is not nullptr, for j < width; each sum a float32 that starts at +0, every product rounded
// before it is added (no fused multiply-add): the same bits as the portable loop. Reads only
// row[tap_offsets[t] + j] for j < width, writes only out[0, width) of each row.
void depthwise_rows_avx512(const float* base, std::int64_t row_step, std::int64_t rows,
                           const std::int64_t* tap_offsets, std::size_t taps_count, const float* taps,
                           std::int64_t width, const float* bias, float* out, std::int64_t out_step);

// MaxPool without dilation, 16 * vectors outputs of one row whose windows lie inside the input
// along the row: output j's window reads input rows [row_begin, row_end) and, in each, the
// kernel_width columns from column + j * stride (stride 1 or 2). Taps in row-major order, the
// first taken as the maximum and a later one replacing it only when larger (ties keep the
// first, a NaN counts only as the first): the portable WindowMax, bit for bit.
void max_pool_row_avx512(const float* in, std::int64_t width, std::int64_t row_begin, std::int64_t row_end,
                         std::int64_t column, std::int64_t stride, std::int64_t kernel_width, std::int64_t vectors,
                         float* out);

// Sigmoid, out[i] = 1 / (1 + exp(-in[i])), with exp evaluated in vectors (range reduction by
// ln 2 and a degree-6 polynomial, within 2 float32 ulps of the exact exp; the portable path
// calls std::exp): not the portable path's bits, as another runtime's are not. NaN stays NaN,
// +-inf give 1 and 0.
void sigmoid_avx512(const float* in, float* out, std::size_t count);

// Erf, within 3 float32 ulps (a polynomial near 0, 1 - e^(-x^2) times a polynomial beyond;
// the portable path calls std::erf): not the portable path's bits. NaN stays NaN, +-inf give
// +-1, -0 gives -0.
void erf_avx512(const float* in, float* out, std::size_t count);

// SiLU, out[i] = in[i] * sigmoid(in[i]) with the sigmoid above: the same bits as
// sigmoid_avx512 followed by the float32 product, in one pass.
void silu_avx512(const float* in, float* out, std::size_t count);

// DynamicQuantizeLinear's two passes (quantization.cc), 16 values at a time. range_avx512
// lowers `low` and raises `high` to the minimum and maximum of in[0, count), NaN ignored.
// quantize_u8_avx512 writes out[i] = saturate(round_half_even(in[i] / scale) + zero) with the
// float32 quotient (NaN gives `zero`), for scale > 0: the portable loop's bits.
void range_avx512(const float* in, std::size_t count, float& low, float& high);
void quantize_u8_avx512(const float* in, std::size_t count, float scale, std::uint8_t zero, std::uint8_t* out);

// c[m x n] = alpha * op(a) * op(b) + beta * c in float32, row-major, on the calling thread,
// with cblas_sgemm's arguments (op(a) is a [m x k], or with trans_a the transpose of a stored
// [k x m]; likewise b; beta == 0 does not read c, so NaN there is ignored). Each element is one
// fused multiply-add chain over k in order within blocks of 256, the blocks' sums added to c
// in order: its bits depend on the shape, never on the thread count or the CPU's OpenBLAS.
// Why it exists: OpenBLAS picks its kernels from OPENBLAS_CORETYPE when that is set, and an
// environment that names an AVX2 core on an AVX-512 machine (this project's development
// machines do) made every convolution and MatMul 1.5-1.8x slower than this loop.
// With `row_bias`, then c[r][j] += row_bias[r], and with `relu`, c[r][j] = max(c[r][j], +0)
// (NaN and -0 give +0), each element as it is stored: math_gemm.h's epilogue, bit for bit.
// With `b_rounding`, b's values are read as it says (read_rounding.h), rounded as they are
// packed: the same bits as a product of b rounded beforehand.
void sgemm_avx512(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc, const float* row_bias = nullptr, bool relu = false,
                  const ReadRounding* b_rounding = nullptr);
// The same with b stored as float16 or bfloat16: its values widened (exactly) as they are
// packed, the bits of the product of b widened beforehand.
void sgemm_avx512(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const float* a, std::size_t lda, const Float16* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc, const float* row_bias = nullptr, bool relu = false);
void sgemm_avx512(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const float* a, std::size_t lda, const BFloat16* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc, const float* row_bias = nullptr, bool relu = false);

// One output row of a 2-D convolution of unsigned bytes by signed bytes into int32 sums
// (avx512_vnni_conv.cc; the integer convolution of nn_integer_conv.h builds its operands):
//   out[j * m16 + m] = sum over t < taps, q < quads, i < 4 of
//                      in[tap_offsets[t] + j * position_step + 4 q + i] * weights[((t * quads + q) * m16 + m) * 4 + i]
// for positions j < count and channels m in [channel_begin, channel_end) (multiples of 16;
// by default all m16, a multiple of 16), in int32 arithmetic that wraps (exact: a sum of integer
// products modulo 2^32, whatever the order). Reads only those input bytes and weights; writes
// only out[j * m16 + m] for those j and m.
void u8s8_conv_row_avx512vnni(const std::uint8_t* in, std::int64_t position_step, const std::int64_t* tap_offsets,
                              std::size_t taps, std::size_t quads, const std::int8_t* weights, std::size_t m16,
                              std::int64_t count, std::int32_t* out, std::size_t channel_begin = 0,
                              std::size_t channel_end = SIZE_MAX);
#endif

}  // namespace onnx_fp16::runtime::nn
