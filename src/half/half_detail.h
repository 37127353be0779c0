// Internal entry points of src/half: the portable and the F16C bulk paths, callable directly so
// the tests can check that both give the same bits. Callers outside src/half use half.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "half/half.h"

namespace onnx_fp16::half::detail {

// Portable C++: any CPU.
void portable_floats_to_halves(const float* in, std::uint16_t* out, std::size_t count);
std::size_t portable_floats_to_halves_clamped(const float* in, std::uint16_t* out, std::size_t count, ClampRule rule);
void portable_halves_to_floats(const std::uint16_t* in, float* out, std::size_t count);
float portable_largest_finite_magnitude(const float* in, std::size_t count);

// F16C + AVX (half_f16c.cc): only call these when cpu_has_f16c() is true. On targets without
// F16C support in the compiler they are absent (ONNX_FP16_HAVE_F16C_PATH is not defined).
#if defined(__x86_64__) || defined(__i386__)
#define ONNX_FP16_HAVE_F16C_PATH 1
void f16c_floats_to_halves(const float* in, std::uint16_t* out, std::size_t count);
std::size_t f16c_floats_to_halves_clamped(const float* in, std::uint16_t* out, std::size_t count, ClampRule rule);
void f16c_halves_to_floats(const std::uint16_t* in, float* out, std::size_t count);
// Not an F16C instruction, but the file's AVX target (which has SSE4.1's signed 32-bit maximum):
// the same integer rule as the portable loop, 4 lanes x 8 sums at a time.
float avx_largest_finite_magnitude(const float* in, std::size_t count);
#endif

}  // namespace onnx_fp16::half::detail
