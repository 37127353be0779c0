#include "mixed/nudge.h"

#include "runtime/kernels/avx512.h"

namespace onnx_fp16::mixed {

void nudge_values_portable(std::span<const float> in, std::span<float> out, std::uint64_t seed, std::uint64_t first,
                           float spread) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    const double u = static_cast<double>(mix(seed ^ (first + i)) >> 11) * 0x1.0p-52 - 1.0;
    out[i] = in[i] * (1.0f + static_cast<float>(u) * spread);
  }
}

void nudge_values(std::span<const float> in, std::span<float> out, std::uint64_t seed, std::uint64_t first,
                  float spread) {
#if defined(ONNX_FP16_HAVE_AVX512)
  if (runtime::nn::cpu_has_avx512dq()) {
    detail::nudge_values_avx512(in.data(), out.data(), in.size(), seed, first, spread);
    return;
  }
#endif
  nudge_values_portable(in, out, seed, first, spread);
}

}  // namespace onnx_fp16::mixed
