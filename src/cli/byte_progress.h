// The progress bar of long writes (`convert` streaming gigabytes of weights): bytes done, rate
// and time left, redrawn in place on stderr when it is a terminal.
#pragma once

#include "io/model_save.h"

namespace onnx_fp16::cli {

// A callback for io::save_model_with_limit, or none when `quiet` or stderr is not a terminal
// (logs get the summary only).
io::SaveProgress progress_bar(bool quiet);

}  // namespace onnx_fp16::cli
