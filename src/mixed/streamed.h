// Automatic mixed precision on a streamed model (io/streamed_model.h): the file-to-file path of
// the CLI and the Python package. The weights stay in their files; the search's engine, the
// screens and the final check read them from `payloads` into their own tensors, and the result
// keeps them deferred (float16 conversions recorded), to be saved with the same payloads
// (io::save_model_with_limit). Memory then holds one copy of the weights, not four (the loaded
// model, the analysis' copy, the engine's tensors, the converted result).
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/mixed.h>

#include <vector>

#include "io/payload_sources.h"

namespace onnx_fp16::mixed {

// auto_convert_mixed_precision for a model whose initializers may be deferred to `payloads`,
// which must stay open until the result is saved. Not with MixedOptions::runner, which is handed
// whole models (load the model with its data for it).
MixedReport auto_convert_mixed_precision(onnx::ModelProto& model, const io::PayloadSources& payloads,
                                         const std::vector<Feeds>& samples, const MixedOptions& options);

}  // namespace onnx_fp16::mixed
