// How long a command's steps take (load, convert, save...), on a steady clock: one helper for
// every command that reports its time.
#pragma once

#include <chrono>

namespace onnx_fp16::cli {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace onnx_fp16::cli
