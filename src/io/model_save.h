// save_model's inner form, with the size above which tensors move to an external file as a
// parameter, so tests can exercise the automatic switch without a 2 GB model.
#pragma once

#include <cstdint>
#include <filesystem>

#include "onnx_fp16/model_io.h"

namespace onnx_fp16::io {

// Protobuf cannot serialise a message over INT_MAX bytes; this leaves a margin under it.
inline constexpr std::uint64_t kAutomaticExternalDataLimit = 2'000'000'000;

// save_model, moving tensors out when the serialised model exceeds `protobuf_size_limit` bytes.
// Throws when the model still exceeds it after that (e.g. its large tensors use typed fields
// rather than raw_data, or the threshold keeps too many inside).
void save_model_with_limit(const onnx::ModelProto& model, const std::filesystem::path& path, const SaveOptions& options,
                           std::uint64_t protobuf_size_limit);

}  // namespace onnx_fp16::io
