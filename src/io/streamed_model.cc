#include "io/streamed_model.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <unordered_set>

#include "io/external_data.h"
#include "io/proto_copy.h"
#include "io/proto_walk.h"
#include "io/wire_format.h"
#include "onnx_fp16/error.h"

namespace onnx_fp16::io {
namespace fs = std::filesystem;

namespace {

using wire::kAttributeTensor;
using wire::kGraphInitializer;
using wire::kGraphNode;
using wire::kLengthDelimited;
using wire::kNodeAttribute;
using wire::kModelGraph;
using wire::kTensorRawData;

// Anything the scan does not expect (groups, overlong varints, a field past its message's end,
// raw_data twice): the file goes to load_model instead, which reads whatever protobuf reads and
// words the error for what it cannot.
struct NotStreamable {};

// Reads protobuf wire format from a file at arbitrary positions through one buffer, so that
// structure is read in large blocks and payloads are skipped without being read; or from bytes
// in memory, read where they are.
class WireFile {
 public:
  WireFile(int fd, std::uint64_t size, const fs::path& path) : fd_(fd), size_(size), path_(path) {}
  WireFile(std::span<const std::byte> memory, const fs::path& label)
      : fd_(-1), size_(memory.size()), path_(label), memory_(memory.data()) {}

  std::uint64_t pos = 0;

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t byte = next_byte();
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw NotStreamable{};
  }

  // Moves past the value of a field with wire type `wire_type`, whose tag was just read.
  void skip_value(std::uint32_t wire_type, std::uint64_t end) {
    std::uint64_t length = 0;
    switch (wire_type) {
      case 0: varint(); break;
      case 1: length = 8; break;
      case 2: length = varint(); break;
      case 5: length = 4; break;
      default: throw NotStreamable{};  // groups: not in ONNX
    }
    // Compared before adding: a length near 2^64 would wrap the position back into the file.
    if (pos > end || length > end - pos) throw NotStreamable{};
    pos += length;
  }

  // Appends bytes [from, to) of the file to `out`.
  void append(std::uint64_t from, std::uint64_t to, std::string& out) {
    const std::size_t n = static_cast<std::size_t>(to - from);
    const std::size_t old = out.size();
    if (memory_ != nullptr) {
      if (from > to || to > size_) throw NotStreamable{};
      out.append(reinterpret_cast<const char*>(memory_ + from), n);
      return;
    }
    out.resize(old + n);
    if (from >= buffer_start_ && to <= buffer_start_ + buffer_.size()) {
      std::memcpy(out.data() + old, buffer_.data() + (from - buffer_start_), n);
    } else if (read_at(fd_, out.data() + old, n, from, path_) != n) {
      throw NotStreamable{};
    }
  }

 private:
  std::uint8_t next_byte() {
    if (pos >= size_) throw NotStreamable{};
    if (memory_ != nullptr) return static_cast<std::uint8_t>(memory_[pos++]);
    if (pos < buffer_start_ || pos >= buffer_start_ + buffer_.size()) {
      buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, size_ - pos)));
      buffer_.resize(read_at(fd_, buffer_.data(), buffer_.size(), pos, path_));
      buffer_start_ = pos;
      if (buffer_.empty()) throw NotStreamable{};
    }
    const auto byte = static_cast<std::uint8_t>(buffer_[pos - buffer_start_]);
    ++pos;
    return byte;
  }

  static constexpr std::uint64_t kBlock = 1 << 20;
  int fd_;
  std::uint64_t size_;
  const fs::path& path_;
  std::string buffer_;
  std::uint64_t buffer_start_ = 0;
  const std::byte* memory_ = nullptr;
};

struct Tag {
  std::uint64_t start;
  std::uint32_t field;
  std::uint32_t wire_type;
};

Tag read_tag(WireFile& wire) {
  const std::uint64_t start = wire.pos;
  const std::uint64_t tag = wire.varint();
  if (tag >> 32) throw NotStreamable{};
  return {start, static_cast<std::uint32_t>(tag >> 3), static_cast<std::uint32_t>(tag & 7)};
}

// The end of the length-delimited value whose tag was just read.
std::uint64_t message_end(WireFile& wire, std::uint64_t outer_end) {
  const std::uint64_t length = wire.varint();
  // The length itself may run past the enclosing message (then outer_end - pos would wrap).
  if (wire.pos > outer_end || length > outer_end - wire.pos) throw NotStreamable{};
  return wire.pos + length;
}

// Whether a tensor holding `length` bytes of payload can wait in its file: the bytes are all its
// data and exactly what its dims declare. INT32 / INT64 tensors are read now: ONNX shape
// inference reads shapes, axes and indices from initializers.
bool deferrable(const onnx::TensorProto& tensor, std::uint64_t length) {
  const int type = tensor.data_type();
  if (type == onnx::TensorProto::INT32 || type == onnx::TensorProto::INT64) return false;
  const std::uint64_t size = element_size(type);  // 0: strings, complex, unknown types
  if (size == 0) return false;
  if (tensor.float_data_size() + tensor.int32_data_size() + tensor.int64_data_size() + tensor.double_data_size() +
          tensor.uint64_data_size() + tensor.string_data_size() > 0) {
    return false;
  }
  std::uint64_t elements = 1;
  for (const auto dim : tensor.dims()) {
    if (dim < 0) return false;
    if (dim != 0 && elements > UINT64_MAX / static_cast<std::uint64_t>(dim)) return false;
    elements *= static_cast<std::uint64_t>(dim);
  }
  return elements <= UINT64_MAX / size && elements * size == length;
}

// Marks `tensor` (which holds no data) as deferred to `length` bytes at `offset` of `source`,
// stored in its own element type.
void defer_to(onnx::TensorProto& tensor, std::uint32_t source, std::uint64_t offset, std::uint64_t length,
              bool had_data_location) {
  DeferredPayload payload;
  payload.source = source;
  payload.offset = offset;
  payload.length = length;
  payload.source_type = tensor.data_type();
  payload.had_data_location = had_data_location;
  mark_deferred(tensor, payload);
}

class Scanner {
 public:
  Scanner(WireFile& wire, StreamedModel& result, std::uint64_t defer_bytes)
      : wire_(wire), result_(result), defer_bytes_(defer_bytes) {}

  void scan_model(std::uint64_t end) {
    std::string rest;  // every field but the graph, parsed in one go at the end
    bool graph_seen = false;
    while (wire_.pos < end) {
      const Tag tag = read_tag(wire_);
      if (tag.field == kModelGraph && tag.wire_type == kLengthDelimited) {
        scan_graph(message_end(wire_, end));
        graph_seen = true;
      } else {
        wire_.skip_value(tag.wire_type, end);
        wire_.append(tag.start, wire_.pos, rest);
      }
    }
    onnx::ModelProto& model = result_.model;
    if (!model.ParseFromString(rest)) throw NotStreamable{};
    if (graph_seen) {
      // Protobuf merges repeated occurrences of a message field; so does this.
      if (!model.mutable_graph()->MergeFromString(graph_rest_)) throw NotStreamable{};
      for (auto& tensor : initializers_) model.mutable_graph()->mutable_initializer()->Add(std::move(tensor));
    }
  }

 private:
  void scan_graph(std::uint64_t end) {
    while (wire_.pos < end) {
      const Tag tag = read_tag(wire_);
      if (tag.field == kGraphInitializer && tag.wire_type == kLengthDelimited) {
        initializers_.push_back(scan_tensor(message_end(wire_, end)));
      } else if (tag.field == kGraphNode && tag.wire_type == kLengthDelimited) {
        const std::uint64_t node_end = message_end(wire_, end);
        bool deferred = false;
        // A node smaller than the threshold holds no payload to defer: not taken apart.
        std::string node = node_end - wire_.pos >= defer_bytes_ ? scan_node(node_end, deferred) : std::string();
        if (deferred) {
          append_message(kGraphNode, node, graph_rest_);
        } else {
          wire_.pos = node_end;
          wire_.append(tag.start, node_end, graph_rest_);  // as it was in the file
        }
      } else {
        wire_.skip_value(tag.wire_type, end);
        wire_.append(tag.start, wire_.pos, graph_rest_);
      }
    }
  }

  // A main-graph node's bytes with its tensor attributes scanned like initializers (exporters
  // such as paddle2onnx store every weight as a Constant node's `value`); `deferred` is set when
  // one was deferred. Sub-graphs stay as they are.
  std::string scan_node(std::uint64_t end, bool& deferred) {
    return scan_fields(end, kNodeAttribute, [&](std::uint64_t attribute_end) {
      return scan_fields(attribute_end, kAttributeTensor, [&](std::uint64_t tensor_end) {
        const onnx::TensorProto tensor = scan_tensor(tensor_end);
        deferred = deferred || is_deferred(tensor);
        return tensor.SerializeAsString();
      });
    });
  }

  // The bytes of the message ending at `end`, every length-delimited field `field` replaced by
  // what `scan_value(its end)` makes of its value, every other field copied.
  template <typename ScanValue>
  std::string scan_fields(std::uint64_t end, std::uint32_t field, ScanValue&& scan_value) {
    std::string bytes;
    while (wire_.pos < end) {
      const Tag tag = read_tag(wire_);
      if (tag.field == field && tag.wire_type == kLengthDelimited) {
        append_message(field, scan_value(message_end(wire_, end)), bytes);
      } else {
        wire_.skip_value(tag.wire_type, end);
        wire_.append(tag.start, wire_.pos, bytes);
      }
    }
    return bytes;
  }

  static void append_message(std::uint32_t field, const std::string& message, std::string& out) {
    wire::append_varint(out, wire::tag(field, kLengthDelimited));
    wire::append_varint(out, message.size());
    out += message;
  }

  onnx::TensorProto scan_tensor(std::uint64_t end) {
    std::string rest;
    std::uint64_t payload_offset = 0, payload_length = 0;
    bool raw_seen = false, deferred = false;
    while (wire_.pos < end) {
      const Tag tag = read_tag(wire_);
      if (tag.field == kTensorRawData && tag.wire_type == kLengthDelimited) {
        if (raw_seen) throw NotStreamable{};  // the last would win; rare enough to leave to protobuf
        raw_seen = true;
        const std::uint64_t length = wire_.varint();
        if (length > end - wire_.pos) throw NotStreamable{};
        if (length >= defer_bytes_) {
          payload_offset = wire_.pos;
          payload_length = length;
          deferred = true;
          wire_.pos += length;
          continue;
        }
        wire_.pos += length;
      } else {
        wire_.skip_value(tag.wire_type, end);
      }
      wire_.append(tag.start, wire_.pos, rest);
    }
    onnx::TensorProto tensor;
    if (!tensor.ParseFromString(rest)) throw NotStreamable{};
    if (!deferred) return tensor;
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL && deferrable(tensor, payload_length)) {
      defer_to(tensor, 0, payload_offset, payload_length, tensor.has_data_location());
    } else {
      // Kept in memory as protobuf would have parsed it, raw_data after the fields before it.
      std::string bytes;
      wire_.append(payload_offset, payload_offset + payload_length, bytes);
      onnx::TensorProto with_data;
      with_data.set_raw_data(std::move(bytes));
      with_data.MergeFrom(tensor);
      tensor = std::move(with_data);
    }
    return tensor;
  }

  WireFile& wire_;
  StreamedModel& result_;
  std::uint64_t defer_bytes_;
  std::string graph_rest_;
  std::vector<onnx::TensorProto> initializers_;
};

// External initializers of the main graph wait in their data files like inline ones.
void defer_external_initializers(StreamedModel& result, const fs::path& folder, std::uint64_t defer_bytes) {
  for (auto& tensor : *result.model.mutable_graph()->mutable_initializer()) {
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL || is_deferred(tensor)) continue;
    const ExternalSlice slice = locate_external_data(tensor, folder, result.sources);
    if (slice.length < defer_bytes || !deferrable(tensor, slice.length) || tensor.has_raw_data()) continue;
    // had_data_location false: load_model clears data_location when it reads the bytes in.
    defer_to(tensor, slice.source, slice.offset, slice.length, false);
  }
}

}  // namespace

StreamedModel load_model_streamed(const fs::path& path, std::uint64_t defer_bytes) {
  StreamedModel result;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat info {};
  if (!fd.valid() || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode) || info.st_size == 0) {
    // Missing, unreadable, a folder, empty, a pipe: load_model words the error (or reads it).
    result.model = load_model(path, result.data_files);
    return result;
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  const int raw_fd = fd.get();
  result.sources.adopt(path, std::move(fd), size);
  try {
    WireFile wire(raw_fd, size, path);
    Scanner(wire, result, defer_bytes).scan_model(size);
  } catch (const NotStreamable&) {
    StreamedModel fallback;
    fallback.model = load_model(path, fallback.data_files);
    return fallback;
  }
  const onnx::ModelProto& model = result.model;
  auto fail = [&](const std::string& why) { throw Error("cannot load model '" + path.string() + "': " + why); };
  // As load_model: random bytes can parse as a protobuf message; a model needs at least these.
  if (model.ir_version() <= 0) fail("not an ONNX model (no ir_version)");
  if (!model.has_graph()) fail("not an ONNX model (no graph)");

  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  try {
    defer_external_initializers(result, folder, defer_bytes);
    result.data_files = load_external_data(result.model, folder);
  } catch (const Error& error) {
    fail(error.what());
  }
  for (std::uint32_t i = 1; i < result.sources.size(); ++i) {
    const fs::path& data_file = result.sources.at(i).path;
    if (std::find(result.data_files.begin(), result.data_files.end(), data_file) == result.data_files.end()) {
      result.data_files.push_back(data_file);
    }
  }
  return result;
}

StreamedModel load_model_streamed(std::span<const std::byte> bytes, const fs::path& label, std::uint64_t defer_bytes) {
  StreamedModel result;
  result.sources.adopt_memory(label, bytes);
  try {
    WireFile wire(bytes, label);
    Scanner(wire, result, defer_bytes).scan_model(bytes.size());
    return result;
  } catch (const NotStreamable&) {
  }
  // What the scanner leaves to protobuf (a repeated raw_data, a malformed message): parsed whole.
  StreamedModel whole;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !whole.model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw Error("the model bytes are not an ONNX model (protobuf could not parse them)");
  }
  return whole;
}

StreamedModel borrow_initializers(const onnx::ModelProto& model, std::uint64_t defer_bytes) {
  StreamedModel result;
  std::unordered_set<const onnx::TensorProto*> initializers;
  if (model.has_graph()) {
    for (const auto& tensor : model.graph().initializer()) initializers.insert(&tensor);
  }
  const RawDataFilter filter{
      [&](const onnx::TensorProto& original) {
        return initializers.contains(&original) && original.data_location() != onnx::TensorProto::EXTERNAL &&
               original.raw_data().size() >= defer_bytes && deferrable(original, original.raw_data().size());
      },
      [&](const onnx::TensorProto& original, onnx::TensorProto& copy) {
        const std::string& bytes = original.raw_data();
        const std::uint32_t source = result.sources.adopt_memory(
            "initializer '" + original.name() + "' in memory", {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
        defer_to(copy, source, 0, bytes.size(), original.has_data_location());
      },
  };
  copy_with_raw_data_filter(model, result.model, filter);
  return result;
}

namespace {
// 4 MiB of float32 in, 2 MiB of float16 out: large enough for few system calls, small enough
// to stay in cache-friendly reuse.
constexpr std::size_t kBlockValues = 1 << 20;
}  // namespace

float* PayloadStreamer::staging(std::size_t bytes) {
  const std::size_t values = (bytes + sizeof(float) - 1) / sizeof(float);
  if (in_capacity_ < values) {
    in_.reset(new float[values]);  // default-initialised: no zero fill
    in_capacity_ = values;
  }
  return in_.get();
}

std::size_t PayloadStreamer::convert(const DeferredPayload& payload, std::span<const float> values,
                                     std::span<std::uint16_t> out) {
  if (*payload.convert_to == onnx::TensorProto::FLOAT16) return half::floats_to_halves_clamped(values, out, payload.clamp);
  half::floats_to_bfloat16s(values, out);
  return 0;
}

template <typename UseBlock>
void PayloadStreamer::for_each_block(const DeferredPayload& payload, std::uint64_t begin, std::uint64_t end,
                                     UseBlock&& use_block) {
  if (payload.convert_to && payload.length % sizeof(float) != 0) throw Error("deferred float32 data of odd length");
  std::uint64_t done = begin;
  while (done < end) {
    const std::size_t bytes = static_cast<std::size_t>(std::min<std::uint64_t>(end - done, kBlockValues * sizeof(float)));
    float* in = staging(bytes);
    sources_.read(payload.source, payload.offset + done, reinterpret_cast<char*>(in), bytes);
    use_block(in, bytes, done);
    done += bytes;
  }
}

std::size_t PayloadStreamer::stream(const DeferredPayload& payload, const Sink& sink) {
  std::size_t clamped = 0;
  for_each_block(payload, 0, payload.length, [&](const float* in, std::size_t bytes, std::uint64_t) {
    if (!payload.convert_to) {
      sink(reinterpret_cast<const char*>(in), bytes);
      return;
    }
    const std::size_t values = bytes / sizeof(float);
    if (out_capacity_ < values) {
      out_.reset(new std::uint16_t[values]);
      out_capacity_ = values;
    }
    clamped += convert(payload, {in, values}, {out_.get(), values});
    sink(reinterpret_cast<const char*>(out_.get()), values * sizeof(std::uint16_t));
  });
  return clamped;
}

void PayloadStreamer::read_into(const DeferredPayload& payload, std::span<std::byte> destination) {
  if (destination.size() != saved_length(payload)) throw Error("internal: a deferred tensor read into the wrong size");
  read_part(payload, 0, destination);
}

void PayloadStreamer::read_part(const DeferredPayload& payload, std::uint64_t first, std::span<std::byte> destination) {
  if (first > saved_length(payload) || destination.size() > saved_length(payload) - first) {
    throw Error("internal: a part of a deferred tensor past its end");
  }
  if (!payload.convert_to) {
    // Straight into the destination: a staging block per tensor would fault in 4 MiB of fresh
    // memory each time (BERT-base's 164 weights: 660 MB, about 0.8 s here).
    sources_.read(payload.source, payload.offset + first, reinterpret_cast<char*>(destination.data()), destination.size());
    return;
  }
  // A saved value (2 bytes) is a stored float32 (4 bytes).
  if (first % sizeof(std::uint16_t) != 0 || destination.size() % sizeof(std::uint16_t) != 0) {
    throw Error("internal: a part of a converted tensor that splits a value");
  }
  auto* out = reinterpret_cast<std::uint16_t*>(destination.data());
  const std::uint64_t begin = first * 2;
  for_each_block(payload, begin, begin + destination.size() * 2, [&](const float* in, std::size_t bytes, std::uint64_t done) {
    const std::size_t values = bytes / sizeof(float);
    convert(payload, {in, values}, {out + (done - begin) / sizeof(float), values});
  });
}

Tensor allocate_deferred_tensor(const onnx::TensorProto& tensor, const DeferredPayload& payload) {
  Shape shape(tensor.dims().begin(), tensor.dims().end());
  Tensor result = Tensor::uninitialized(static_cast<DataType>(tensor.data_type()), std::move(shape));
  if (result.byte_size() != saved_length(payload)) {
    throw Error("deferred tensor '" + tensor.name() + "': " + std::to_string(saved_length(payload)) +
                " bytes of data for " + std::to_string(result.byte_size()) + " bytes of values");
  }
  return result;
}

Tensor read_deferred_tensor(const onnx::TensorProto& tensor, const PayloadSources& sources, PayloadStreamer* streamer) {
  const DeferredPayload payload = deferred_payload(tensor);
  Tensor result = allocate_deferred_tensor(tensor, payload);
  const std::span<std::byte> bytes = result.mutable_bytes();
  if (streamer != nullptr) {
    streamer->read_into(payload, bytes);
  } else {
    PayloadStreamer(sources).read_into(payload, bytes);
  }
  return result;
}

std::size_t materialize_deferred(onnx::ModelProto& model, const PayloadSources& sources) {
  PayloadStreamer streamer(sources);
  std::size_t clamped = 0;
  for_each_nested<onnx::TensorProto>(model, [&](onnx::TensorProto& tensor) {
    if (!is_deferred(tensor)) return;
    const DeferredPayload payload = deferred_payload(tensor);
    std::string bytes;
    bytes.reserve(static_cast<std::size_t>(saved_length(payload)));
    clamped += streamer.stream(payload, [&](const char* data, std::size_t size) { bytes.append(data, size); });
    tensor = saved_form(tensor);
    tensor.set_raw_data(std::move(bytes));
  });
  return clamped;
}

std::size_t count_deferred(const onnx::ModelProto& model) {
  std::size_t count = 0;
  for_each_nested<onnx::TensorProto>(model, [&](const onnx::TensorProto& tensor) { count += is_deferred(tensor); });
  return count;
}

}  // namespace onnx_fp16::io
