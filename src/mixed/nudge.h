// The simulated float16 implementations' nudge (incremental_engine.h, VariantOptions): each
// value a variant computes moves by a pseudo-random relative amount before it is rounded, the
// same amount on every run. Every float16 value of every variant's run passes through here;
// hashing each element one at a time took 7-9% of BERT-base's attempts and holdout (2026-12-06),
// so CPUs with AVX-512 (F and DQ) hash 8 elements at once, to the same bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace onnx_fp16::mixed {

// splitmix64's finaliser: a good 64-bit hash.
constexpr std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// out[i] = in[i] * (1 + float(u) * spread) in float32, where u = (mix(seed ^ (first + i)) >> 11)
// * 2^-52 - 1, in double, lies in [-1, 1): element first + i of a tensor moves by at most
// `spread` of itself, by the same amount whatever the chunk it is nudged in. `out` may be `in`;
// the spans have one size.
void nudge_values(std::span<const float> in, std::span<float> out, std::uint64_t seed, std::uint64_t first,
                  float spread);

// The one-element-at-a-time loop nudge_values runs without AVX-512: the same bits (tests compare).
void nudge_values_portable(std::span<const float> in, std::span<float> out, std::uint64_t seed, std::uint64_t first,
                           float spread);

namespace detail {
// nudge_values in AVX-512 vectors (nudge_avx512.cc, compiled with -mavx512f -mavx512dq); only
// where the CPU has both.
void nudge_values_avx512(const float* in, float* out, std::size_t count, std::uint64_t seed, std::uint64_t first,
                         float spread);
}  // namespace detail

}  // namespace onnx_fp16::mixed
