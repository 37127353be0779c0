// The u8 x s8 convolution rows of nn_integer_conv.cc in AVX-512 VNNI (avx512.h says what they
// compute). vpdpbusd multiplies 4 unsigned bytes by 4 signed bytes and adds the 4 products to an
// int32 lane, wrapping as int32 arithmetic does: exact, and 64 multiply-accumulates per
// instruction against a float32 FMA's 16.
//
// Register blocking: R output positions x NZ vectors of 16 output channels, R * NZ accumulators
// (at most 24 of the 32 registers), NZ weight vectors per (tap, channel quad) and one broadcast
// input quad per position. The input is the padded NHWC image, so a position's quad for one tap
// is 4 adjacent bytes: one 32-bit broadcast.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "runtime/kernels/avx512.h"

namespace onnx_fp16::runtime::nn {

namespace {

template <int R, int NZ>
void block(const std::uint8_t* in, std::int64_t position_step, const std::int64_t* tap_offsets, std::size_t taps,
           std::size_t quads, const std::int8_t* weights, std::size_t m16, std::size_t channel, std::int32_t* out) {
  __m512i acc[R][NZ];
  for (int r = 0; r < R; ++r) {
    for (int z = 0; z < NZ; ++z) acc[r][z] = _mm512_setzero_si512();
  }
  for (std::size_t t = 0; t < taps; ++t) {
    const std::uint8_t* base = in + tap_offsets[t];
    const std::int8_t* w = weights + (t * quads * m16 + channel) * 4;
    for (std::size_t q = 0; q < quads; ++q, w += m16 * 4) {
      __m512i wv[NZ];
      for (int z = 0; z < NZ; ++z) wv[z] = _mm512_loadu_si512(w + z * 64);
      for (int r = 0; r < R; ++r) {
        std::int32_t quad;
        std::memcpy(&quad, base + r * position_step + static_cast<std::int64_t>(q) * 4, sizeof quad);
        const __m512i xv = _mm512_set1_epi32(quad);
        for (int z = 0; z < NZ; ++z) acc[r][z] = _mm512_dpbusd_epi32(acc[r][z], xv, wv[z]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int z = 0; z < NZ; ++z) _mm512_storeu_si512(out + r * m16 + channel + z * 16, acc[r][z]);
  }
}

constexpr int kPositions = 6;  // R of the full blocks

template <int NZ>
void row(const std::uint8_t* in, std::int64_t position_step, const std::int64_t* tap_offsets, std::size_t taps,
         std::size_t quads, const std::int8_t* weights, std::size_t m16, std::size_t channel, std::int64_t count,
         std::int32_t* out) {
  std::int64_t j = 0;
  for (; j + kPositions <= count; j += kPositions) {
    block<kPositions, NZ>(in + j * position_step, position_step, tap_offsets, taps, quads, weights, m16, channel,
                          out + j * static_cast<std::int64_t>(m16));
  }
  const auto rest = static_cast<int>(count - j);
  const std::uint8_t* tail_in = in + j * position_step;
  std::int32_t* tail_out = out + j * static_cast<std::int64_t>(m16);
  switch (rest) {
    case 1: block<1, NZ>(tail_in, position_step, tap_offsets, taps, quads, weights, m16, channel, tail_out); break;
    case 2: block<2, NZ>(tail_in, position_step, tap_offsets, taps, quads, weights, m16, channel, tail_out); break;
    case 3: block<3, NZ>(tail_in, position_step, tap_offsets, taps, quads, weights, m16, channel, tail_out); break;
    case 4: block<4, NZ>(tail_in, position_step, tap_offsets, taps, quads, weights, m16, channel, tail_out); break;
    case 5: block<5, NZ>(tail_in, position_step, tap_offsets, taps, quads, weights, m16, channel, tail_out); break;
    default: break;
  }
}

}  // namespace

void u8s8_conv_row_avx512vnni(const std::uint8_t* in, std::int64_t position_step, const std::int64_t* tap_offsets,
                              std::size_t taps, std::size_t quads, const std::int8_t* weights, std::size_t m16,
                              std::int64_t count, std::int32_t* out, std::size_t channel_begin,
                              std::size_t channel_end) {
  // Output channels in chunks of up to four vectors (64 channels).
  if (channel_end > m16) channel_end = m16;
  for (std::size_t channel = channel_begin; channel < channel_end; channel += 64) {
    switch ((channel_end - channel >= 64 ? 64 : channel_end - channel) / 16) {
      case 4: row<4>(in, position_step, tap_offsets, taps, quads, weights, m16, channel, count, out); break;
      case 3: row<3>(in, position_step, tap_offsets, taps, quads, weights, m16, channel, count, out); break;
      case 2: row<2>(in, position_step, tap_offsets, taps, quads, weights, m16, channel, count, out); break;
      default: row<1>(in, position_step, tap_offsets, taps, quads, weights, m16, channel, count, out); break;
    }
  }
}

}  // namespace onnx_fp16::runtime::nn
