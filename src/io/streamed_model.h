// Streamed models: parsed without their large initializer payloads, which stay in the model
// file or its external data files until the model is saved (io/deferred_tensor.h says how a
// tensor records where its bytes are). Peak memory is the graph's structure plus one block,
// whatever the weights weigh.
//
// Only the main graph's initializers and its nodes' tensor attributes (a Constant node's `value`:
// paddle2onnx stores every weight so) are deferred; tensors elsewhere (sub-graphs, functions,
// external data of attributes) and tensors the loader cannot defer (typed fields instead of
// raw_data, int32 / int64 data that shape inference may read, sizes that disagree with their
// dims) are loaded as load_model loads them.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "io/deferred_tensor.h"
#include "io/payload_sources.h"
#include "onnx_fp16/model_io.h"
#include "onnx_fp16/tensor.h"

namespace onnx_fp16::io {

// Payloads smaller than this are read at load: they cost less than their bookkeeping.
inline constexpr std::uint64_t kDeferBytesDefault = 4096;

struct StreamedModel {
  onnx::ModelProto model;
  PayloadSources sources;                      // source 0 is the model file
  std::vector<std::filesystem::path> data_files;  // external data files it refers to (resolved)
};

// Loads `path` with every main-graph initializer and node tensor attribute of `defer_bytes` or
// more deferred. Same errors as load_model (missing, empty, truncated, non-ONNX files; external
// data escaping the folder or past the end of its file), and the same model once the deferred
// bytes are put back.
StreamedModel load_model_streamed(const std::filesystem::path& path, std::uint64_t defer_bytes = kDeferBytesDefault);
// The same for a serialized model in memory (`label` names it in errors), whose deferred payloads
// stay in `bytes`: the caller keeps them alive and unchanged as long as the result's sources.
// Nothing is read beside it (external data stays as the model declares it, and
// data_files is empty), and the model is not checked beyond protobuf's parse, as
// ModelProto::ParseFromArray would leave it.
StreamedModel load_model_streamed(std::span<const std::byte> bytes, const std::filesystem::path& label,
                                  std::uint64_t defer_bytes = kDeferBytesDefault);

// A copy of `model` whose main-graph initializers of `defer_bytes` or more of raw_data are
// deferred to that raw_data in `model` itself (a source in memory each), everything else copied:
// for a reader that needs the bytes once, straight into tensors of its own (an evaluator built
// from a ModelProto), without a whole copy of the model on the way or held beside them.
// `model` must stay alive and unchanged as long as the result's sources.
StreamedModel borrow_initializers(const onnx::ModelProto& model, std::uint64_t defer_bytes = kDeferBytesDefault);

// Streams the bytes a deferred tensor saves (converted if a conversion is pending) to `sink`
// in blocks, reusing its staging block from tensor to tensor: fresh pages cost ~1.2 ms per MB
// here, so one streamer serves a whole save or a whole plan.
class PayloadStreamer {
 public:
  using Sink = std::function<void(const char* data, std::size_t size)>;
  explicit PayloadStreamer(const PayloadSources& sources) : sources_(sources) {}

  // Returns how many values the float16 clamping changed.
  std::size_t stream(const DeferredPayload& payload, const Sink& sink);

  // The saved bytes straight into `destination` (exactly saved_length(payload) bytes): a
  // conversion writes there from the staging block, without a second buffer.
  void read_into(const DeferredPayload& payload, std::span<std::byte> destination);
  // The saved bytes [first, first + destination.size()) of the payload into `destination`, so
  // that one tensor can be read in parts, each by another streamer (on another thread). For a
  // pending conversion, `first` and the size must be whole saved values (even).
  void read_part(const DeferredPayload& payload, std::uint64_t first, std::span<std::byte> destination);

 private:
  // The staging block for `bytes` of stored values: grown to what the payloads so far needed,
  // never zero-filled (every byte used is read from the file first).
  float* staging(std::size_t bytes);
  // Reads the stored bytes [begin, end) of the payload block by block into the staging block
  // and calls use_block(values, bytes, offset of the block in the payload) for each.
  template <typename UseBlock>
  void for_each_block(const DeferredPayload& payload, std::uint64_t begin, std::uint64_t end, UseBlock&& use_block);
  // Converts `values` into `out` as the payload records; returns the values clamped.
  static std::size_t convert(const DeferredPayload& payload, std::span<const float> values, std::span<std::uint16_t> out);

  const PayloadSources& sources_;
  std::unique_ptr<float[]> in_;
  std::size_t in_capacity_ = 0;  // floats
  std::unique_ptr<std::uint16_t[]> out_;
  std::size_t out_capacity_ = 0;
};

// The tensor a deferred initializer or tensor attribute holds (converted as recorded), its
// bytes read from `sources` straight into the Tensor's buffer: the weights are never held
// twice. `streamer` (over the same sources), when given, lends its staging block to a
// conversion, so that reading many converted tensors touches no fresh staging memory each time.
Tensor read_deferred_tensor(const onnx::TensorProto& tensor, const PayloadSources& sources,
                            PayloadStreamer* streamer = nullptr);

// The tensor a deferred initializer or tensor attribute will hold, its values not read yet
// (uninitialized), after checking that the saved bytes (`payload`, its deferred_payload) fit its
// dims (an Error naming the tensor when they do not): for a reader that fills it in parts
// (read_part), such as a plan reading its weights on several threads.
Tensor allocate_deferred_tensor(const onnx::TensorProto& tensor, const DeferredPayload& payload);

// Puts every deferred tensor's bytes back into raw_data: the model load_model would have given,
// converted as recorded. Returns the values clamped.
std::size_t materialize_deferred(onnx::ModelProto& model, const PayloadSources& sources);

// How many tensors of `model` are deferred, anywhere.
std::size_t count_deferred(const onnx::ModelProto& model);

}  // namespace onnx_fp16::io
