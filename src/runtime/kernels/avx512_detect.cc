#include "runtime/kernels/avx512.h"

#if defined(ONNX_FP16_HAVE_AVX512)
#include <cpuid.h>
#endif

namespace onnx_fp16::runtime::nn {

namespace {

#if defined(ONNX_FP16_HAVE_AVX512)
// CPUID leaf 7 for AVX-512F, and XGETBV for the OS saving the registers it uses (SSE, AVX, the
// mask registers and both halves of the 32 ZMM registers).
bool detect_avx512f() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || (ecx & (1u << 27)) == 0) return false;  // OSXSAVE
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0 || (ebx & (1u << 16)) == 0) return false;
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  constexpr unsigned kAvx512State = 0xE6;  // bits 1, 2, 5, 6, 7
  return (xcr0_low & kAvx512State) == kAvx512State;
}

// A feature bit of CPUID leaf 7 (sub-leaf 0) in EBX or ECX.
enum class Leaf7Register { Ebx, Ecx };
bool leaf7_has(Leaf7Register where, unsigned bit) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  return ((where == Leaf7Register::Ebx ? ebx : ecx) & (1u << bit)) != 0;
}
#endif

}  // namespace

bool cpu_has_avx512_vnni() {
#if defined(ONNX_FP16_HAVE_AVX512)
  static const bool has = cpu_has_avx512f() && leaf7_has(Leaf7Register::Ecx, 11);  // AVX512_VNNI
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512dq() {
#if defined(ONNX_FP16_HAVE_AVX512)
  static const bool has = cpu_has_avx512f() && leaf7_has(Leaf7Register::Ebx, 17);  // AVX512DQ
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512f() {
#if defined(ONNX_FP16_HAVE_AVX512)
  static const bool has = detect_avx512f();
  return has;
#else
  return false;
#endif
}

}  // namespace onnx_fp16::runtime::nn
