// How much memory this process has used: the figure the convert summary and report show, and
// the one the streamed conversion's tests and benchmark judge.
#pragma once

#include <cstdint>

namespace onnx_fp16::io {

// Peak resident memory of this process image in bytes (Linux's VmHWM, which starts afresh at
// exec, unlike getrusage's ru_maxrss, which keeps the forking parent's peak); 0 when unknown.
std::uint64_t peak_resident_bytes();

}  // namespace onnx_fp16::io
