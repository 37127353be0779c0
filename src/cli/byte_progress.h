// The progress bar of long writes (`convert` streaming gigabytes of weights): bytes done, rate
// and time left, redrawn in place on stderr when it is a terminal.
#pragma once

#include <cstdint>
#include <string>

#include "io/model_save.h"

namespace onnx_fp16::cli {

// Below this a write takes well under a second here: no bar.
inline constexpr std::uint64_t kProgressBarFromBytes = 256ull << 20;
inline constexpr double kProgressRateFromSeconds = 0.2;

// A callback for io::save_model_with_limit, or none when `quiet` or stderr is not a terminal
// (logs get the summary only). It draws for writes of kProgressBarFromBytes or more, at most
// every 200 ms, and always at the end.
io::SaveProgress progress_bar(bool quiet);

// The bar's text after `seconds` with `done` of `total` bytes written: a 30-character bar,
// megabytes done and in all, the rate so far and the time left at that rate ("?" for both
// before kProgressRateFromSeconds), e.g.
// "  Writing weights [###############...............] 150 / 300 MB  150 MB/s  1.0 s left ".
std::string progress_bar_text(std::uint64_t done, std::uint64_t total, double seconds);

}  // namespace onnx_fp16::cli
