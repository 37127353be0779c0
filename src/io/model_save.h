// save_model's inner form, with the size above which tensors move to an external file as a
// parameter, so tests can exercise the automatic switch without a 2 GB model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "io/payload_sources.h"
#include "onnx_fp16/model_io.h"

namespace onnx_fp16::io {

// Protobuf cannot serialise a message over INT_MAX bytes; this leaves a margin under it.
inline constexpr std::uint64_t kAutomaticExternalDataLimit = 2'000'000'000;

struct SaveResult {
  std::size_t values_clamped = 0;  // by conversions the deferred tensors had pending
  std::uint64_t deferred_bytes = 0;  // bytes of deferred tensors written
  std::optional<std::string> external_data_file;  // the data file written beside the model, if any
};

// Called as deferred tensors are written: bytes written so far, of how many.
using SaveProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// save_model, moving tensors out when the serialised model exceeds `protobuf_size_limit` bytes.
// Throws when the model still exceeds it after that (e.g. its large tensors use typed fields
// rather than raw_data, or the threshold keeps too many inside).
//
// A model with deferred tensors (io/streamed_model.h) needs their `sources`: their bytes are
// read, converted and written block by block, never all in memory, and the files are the bytes
// save_model writes for the same model loaded whole.
SaveResult save_model_with_limit(const onnx::ModelProto& model, const std::filesystem::path& path,
                                 const SaveOptions& options, std::uint64_t protobuf_size_limit,
                                 const PayloadSources* sources = nullptr, const SaveProgress& progress = {});

// The bytes save_model writes for `model` inline (no external data file), its deferred tensors
// read from `sources` and converted as recorded, written into the buffer that allocate(size)
// returns (exactly `size` bytes, laid out before anything is read): a model handed back in memory
// (the Python package's bytes) without a second whole copy; a model without deferred tensors
// is protobuf's deterministic serialization, as save_model writes it. Throws onnx_fp16::Error
// when the model is over `protobuf_size_limit`, before allocating.
SaveResult serialize_streamed(const onnx::ModelProto& model, const PayloadSources& sources,
                              const std::function<std::span<std::byte>(std::uint64_t size)>& allocate,
                              std::uint64_t protobuf_size_limit = kAutomaticExternalDataLimit);

}  // namespace onnx_fp16::io
