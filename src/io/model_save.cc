// save_model: inline, or with tensors in an external data file; both files written atomically.
#include "io/model_save.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "io/atomic_file.h"
#include "io/deferred_tensor.h"
#include "io/external_data_writer.h"
#include "io/proto_copy.h"
#include "io/streamed_model.h"
#include "io/wire_format.h"
#include "onnx_fp16/error.h"

namespace onnx_fp16::io {
namespace fs = std::filesystem;

namespace {

constexpr int kWriteBlockBytes = 1 << 20;

[[noreturn]] void fail(const fs::path& path, const std::string& why) {
  throw Error("cannot save model '" + path.string() + "': " + why);
}

// Serialises `message` into `out`: field order is fixed and deterministic mode is on, so the
// same model always gives the same bytes. Returns false on a failure.
bool serialize_deterministic_to(const google::protobuf::Message& message, google::protobuf::io::ZeroCopyOutputStream& out) {
  google::protobuf::io::CodedOutputStream coded(&out);
  coded.SetSerializationDeterministic(true);
  return message.SerializePartialToCodedStream(&coded) && !coded.HadError();
}

void write_protobuf(const google::protobuf::Message& model, AtomicFile& file) {
  google::protobuf::io::FileOutputStream file_stream(file.fd(), kWriteBlockBytes);
  bool written = serialize_deterministic_to(model, file_stream);
  written = file_stream.Flush() && written;
  if (!written) {
    const int error = file_stream.GetErrno();
    fail(file.target(), error != 0 ? error_text(error) : std::string("protobuf serialisation failed"));
  }
}

// The data file's name must sit beside the model: the model refers to it by that name.
void check_data_file_name(const std::string& name, const fs::path& model_path) {
  const fs::path as_path(name);
  if (name.empty() || as_path.has_parent_path() || name == "." || name == "..") {
    fail(model_path, "external data file '" + name + "' must be a plain file name (it is stored beside the model)");
  }
  if (as_path == model_path.filename()) fail(model_path, "external data file '" + name + "' is the model file itself");
}

void save_inline(const onnx::ModelProto& model, const fs::path& path) {
  AtomicFile file(path);
  write_protobuf(model, file);
  file.commit();
}

// ---- Deferred tensors: their bytes go from their sources to the output block by block. ----

// Bytes of deferred tensors written so far, for the progress callback and the result.
class DeferredWriter {
 public:
  DeferredWriter(const PayloadSources& sources, std::uint64_t total, const SaveProgress& progress)
      : streamer_(sources), total_(total), progress_(progress) {}

  // Streams `payload`'s saved bytes to `sink`.
  void write(const DeferredPayload& payload, const PayloadStreamer::Sink& sink) {
    result.values_clamped += streamer_.stream(payload, [&](const char* data, std::size_t size) {
      sink(data, size);
      result.deferred_bytes += size;
      if (progress_) progress_(result.deferred_bytes, total_);
    });
  }

  SaveResult result;

 private:
  PayloadStreamer streamer_;
  std::uint64_t total_;
  const SaveProgress& progress_;
};

// The places a streamed model defers tensors (io/streamed_model.h): the main graph's
// initializers and its nodes' tensor attributes. InlineLayout writes around exactly these.
template <typename Visit>
void for_each_deferrable_place(const onnx::ModelProto& model, Visit&& visit) {
  for (const auto& tensor : model.graph().initializer()) visit(tensor);
  for (const auto& node : model.graph().node()) {
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_t()) visit(attribute.t());
    }
  }
}

std::uint64_t deferred_total(const onnx::ModelProto& model) {
  std::uint64_t total = 0;
  for_each_deferrable_place(model, [&](const onnx::TensorProto& tensor) {
    if (is_deferred(tensor)) total += saved_length(deferred_payload(tensor));
  });
  return total;
}

bool has_deferred_attribute(const onnx::NodeProto& node) {
  return std::any_of(node.attribute().begin(), node.attribute().end(),
                     [](const onnx::AttributeProto& a) { return a.has_t() && is_deferred(a.t()); });
}

std::string serialize_deterministic(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    serialize_deterministic_to(message, stream);
  }
  return bytes;
}

using wire::append_varint;
using wire::varint_size;

// One top-level field of serialised bytes this process wrote.
struct WireField {
  std::uint32_t number;
  std::string_view whole;  // tag, length and value
  std::string_view value;  // the value of a length-delimited field
};

std::uint64_t read_varint(std::string_view bytes, std::size_t& pos) {
  std::uint64_t value = 0;
  for (int shift = 0; pos < bytes.size(); shift += 7) {
    const auto byte = static_cast<std::uint8_t>(bytes[pos++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  throw Error("internal: malformed serialisation");
}

std::vector<WireField> split_fields(std::string_view bytes) {
  std::vector<WireField> fields;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t start = pos;
    const std::uint64_t tag = read_varint(bytes, pos);
    std::string_view value;
    switch (tag & 7) {
      case 0: read_varint(bytes, pos); break;
      case 1: pos += 8; break;
      case 5: pos += 4; break;
      case 2: {
        const std::uint64_t length = read_varint(bytes, pos);
        value = bytes.substr(pos, length);
        pos += length;
        break;
      }
      default: throw Error("internal: group in a serialisation");
    }
    fields.push_back({static_cast<std::uint32_t>(tag >> 3), bytes.substr(start, pos - start), value});
  }
  return fields;
}

// The inline file of a model with deferred tensors, as a list of pieces: bytes of the
// skeleton's own serialisation, headers made here, and payloads to stream. Field order and
// every length are what protobuf writes for the same model with the bytes in raw_data.
class InlineLayout {
 public:
  explicit InlineLayout(const onnx::ModelProto& model) : model_(model), skeleton_(serialize_deterministic(model)) {
    for (const WireField& field : split_fields(skeleton_)) {
      if (field.number != wire::kModelGraph) {
        add_bytes(field.whole);
        continue;
      }
      add_nested(wire::kModelGraph, [&] { return add_graph(field.value); });
    }
  }

  std::uint64_t size() const { return size_; }

  void write(AtomicFile& file, DeferredWriter& deferred) const {
    std::string buffer;
    buffer.reserve(kBuffer);
    auto flush = [&] {
      file.write(buffer.data(), buffer.size());
      buffer.clear();
    };
    write(deferred, [&](const char* data, std::size_t size) {
      if (buffer.size() + size > kBuffer) flush();
      if (size >= kBuffer) {
        file.write(data, size);
      } else {
        buffer.append(data, size);
      }
    });
    flush();
  }

  // The file's bytes in order, each piece to emit(data, size).
  void write(DeferredWriter& deferred, const PayloadStreamer::Sink& emit) const {
    for (const Piece& piece : pieces_) {
      if (piece.tensor) {
        deferred.write(deferred_payload(*piece.tensor), emit);
      } else {
        emit(piece.bytes.data(), piece.bytes.size());
      }
    }
  }

 private:
  static constexpr std::size_t kBuffer = 1 << 20;

  struct Piece {
    std::string_view bytes;
    const onnx::TensorProto* tensor = nullptr;  // a deferred tensor's payload goes here
  };

  std::string& own(std::string text) { return owned_.emplace_back(std::move(text)); }

  void add_bytes(std::string_view bytes) {
    pieces_.push_back({bytes, nullptr});
    size_ += bytes.size();
  }

  // A message field whose value holds deferred payloads: its tag and length, which are known
  // once `add_value` has laid out the value's pieces and returned their size.
  template <typename AddValue>
  void add_nested(std::uint32_t field, AddValue&& add_value) {
    const std::size_t header = pieces_.size();
    add_bytes({});
    const std::uint64_t value_size = add_value();
    std::string& head = own({});
    append_varint(head, wire::tag(field, wire::kLengthDelimited));
    append_varint(head, value_size);
    pieces_[header].bytes = head;
    size_ += head.size();
  }

  std::uint64_t add_graph(std::string_view graph) {
    const std::uint64_t before = size_;
    int initializer = 0;
    int node = 0;
    for (const WireField& field : split_fields(graph)) {
      if (field.number == wire::kGraphInitializer) {
        const onnx::TensorProto& tensor = model_.graph().initializer(initializer++);
        if (is_deferred(tensor)) {
          add_deferred(wire::kGraphInitializer, tensor);
          continue;
        }
      } else if (field.number == wire::kGraphNode) {
        const onnx::NodeProto& proto = model_.graph().node(node++);
        if (has_deferred_attribute(proto)) {
          add_nested(wire::kGraphNode, [&] { return add_node(field.value, proto); });
          continue;
        }
      }
      add_bytes(field.whole);
    }
    return size_ - before;
  }

  std::uint64_t add_node(std::string_view bytes, const onnx::NodeProto& node) {
    const std::uint64_t before = size_;
    int attribute = 0;
    for (const WireField& field : split_fields(bytes)) {
      if (field.number == wire::kNodeAttribute) {
        const onnx::AttributeProto& proto = node.attribute(attribute++);
        if (proto.has_t() && is_deferred(proto.t())) {
          add_nested(wire::kNodeAttribute, [&] { return add_attribute(field.value, proto.t()); });
          continue;
        }
      }
      add_bytes(field.whole);
    }
    return size_ - before;
  }

  std::uint64_t add_attribute(std::string_view bytes, const onnx::TensorProto& tensor) {
    const std::uint64_t before = size_;
    for (const WireField& field : split_fields(bytes)) {
      if (field.number == wire::kAttributeTensor) {
        add_deferred(wire::kAttributeTensor, tensor);
      } else {
        add_bytes(field.whole);
      }
    }
    return size_ - before;
  }

  // `field`'s tag, length, the fields before raw_data, raw_data's tag and length | payload | the rest.
  void add_deferred(std::uint32_t field, const onnx::TensorProto& tensor) {
    const std::uint64_t length = saved_length(deferred_payload(tensor));
    std::string& form = own(serialize_deterministic(saved_form(tensor)));
    std::size_t split = form.size();
    for (const WireField& part : split_fields(form)) {
      if (part.number > wire::kTensorRawData) {
        split = static_cast<std::size_t>(part.whole.data() - form.data());
        break;
      }
    }
    const std::uint64_t raw_tag = wire::tag(wire::kTensorRawData, wire::kLengthDelimited);
    const std::uint64_t tensor_size = form.size() + varint_size(raw_tag) + varint_size(length) + length;
    std::string& head = own({});
    append_varint(head, wire::tag(field, wire::kLengthDelimited));
    append_varint(head, tensor_size);
    head.append(form, 0, split);
    append_varint(head, raw_tag);
    append_varint(head, length);
    add_bytes(head);
    pieces_.push_back({{}, &tensor});
    size_ += length;
    add_bytes(std::string_view(form).substr(split));
  }

  const onnx::ModelProto& model_;
  std::string skeleton_;
  std::deque<std::string> owned_;  // a deque: views into its strings stay valid as it grows
  std::vector<Piece> pieces_;
  std::uint64_t size_ = 0;
};

// Deferred tensors may sit only where InlineLayout looks for them: all `deferred` of them.
void check_deferred_placement(const onnx::ModelProto& model, std::size_t deferred, const fs::path& path) {
  std::size_t placed = 0;
  for_each_deferrable_place(model, [&](const onnx::TensorProto& tensor) { placed += is_deferred(tensor); });
  if (deferred != placed) fail(path, "internal: a deferred tensor outside the main graph's initializers and node attributes");
}

void save_with_external_data(const onnx::ModelProto& model, const fs::path& path, const std::string& data_name,
                             std::size_t threshold, std::uint64_t size_limit, DeferredWriter* deferred) {
  check_data_file_name(data_name, path);
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  AtomicFile data_file(folder / data_name);
  ExternalDataWriter writer(data_file, data_name);

  // The saved model is a copy without the big raw_data, whose bytes go straight from `model`
  // (or, deferred, from their files) to the data file: peak memory stays the input model plus
  // its small structure.
  const std::size_t min_bytes = std::max<std::size_t>(threshold, 1);
  RawDataFilter filter{
      [&](const onnx::TensorProto& tensor) {
        if (is_deferred(tensor)) return true;
        return tensor.data_location() != onnx::TensorProto::EXTERNAL && tensor.raw_data().size() >= min_bytes;
      },
      [&](const onnx::TensorProto& original, onnx::TensorProto& copy) {
        if (!is_deferred(original)) {
          writer.append(original.raw_data(), copy);
          return;
        }
        const DeferredPayload payload = deferred_payload(original);
        const std::uint64_t length = saved_length(payload);
        if (length < min_bytes) {
          // Small enough to stay inside the model, as it would loaded whole.
          std::string bytes;
          deferred->write(payload, [&](const char* data, std::size_t size) { bytes.append(data, size); });
          copy = saved_form(original);
          copy.set_raw_data(std::move(bytes));
          return;
        }
        writer.append_streamed(length, [&](AtomicFile& file) {
          deferred->write(payload, [&](const char* data, std::size_t size) { file.write(data, size); });
        }, copy);
      },
  };
  onnx::ModelProto stripped;
  copy_with_raw_data_filter(model, stripped, filter);

  const std::uint64_t stripped_size = stripped.ByteSizeLong();
  if (stripped_size > size_limit) {
    fail(path, "the model is still " + std::to_string(stripped_size) + " bytes with tensors of " +
                   std::to_string(min_bytes) + "+ bytes in '" + data_name +
                   "' (limit " + std::to_string(size_limit) + "); lower the external data threshold");
  }
  AtomicFile model_file(path);
  write_protobuf(stripped, model_file);

  // Both complete on disk before either takes its name; the data goes first so the new model
  // never refers to a data file that is not there.
  data_file.finish();
  model_file.finish();
  data_file.commit();
  model_file.commit();
}

}  // namespace

SaveResult save_model_with_limit(const onnx::ModelProto& model, const fs::path& path, const SaveOptions& options,
                                 std::uint64_t protobuf_size_limit, const PayloadSources* sources,
                                 const SaveProgress& progress) {
  if (!path.has_filename()) fail(path, "not a file name");
  const std::size_t deferred_count = model.has_graph() ? count_deferred(model) : 0;
  const bool has_deferred = deferred_count > 0;
  std::optional<DeferredWriter> deferred;
  std::optional<InlineLayout> layout;
  if (has_deferred) {
    if (!sources) fail(path, "internal: the model's deferred tensors come without their files");
    check_deferred_placement(model, deferred_count, path);
    deferred.emplace(*sources, deferred_total(model), progress);
  }
  std::optional<std::string> data_name = options.external_data_file;
  if (!data_name) {
    const std::uint64_t size = has_deferred ? layout.emplace(model).size() : model.ByteSizeLong();
    if (size > protobuf_size_limit) data_name = path.filename().string() + ".data";
  }
  if (data_name) {
    save_with_external_data(model, path, *data_name, options.external_data_threshold, protobuf_size_limit,
                            deferred ? &*deferred : nullptr);
  } else if (layout) {
    AtomicFile file(path);
    layout->write(file, *deferred);
    file.commit();
  } else {
    save_inline(model, path);
  }
  SaveResult result = deferred ? deferred->result : SaveResult{};
  result.external_data_file = data_name;
  return result;
}

SaveResult serialize_streamed(const onnx::ModelProto& model, const PayloadSources& sources,
                              const std::function<std::span<std::byte>(std::uint64_t size)>& allocate,
                              std::uint64_t protobuf_size_limit) {
  const std::size_t deferred_count = model.has_graph() ? count_deferred(model) : 0;
  auto check_size = [&](std::uint64_t size) {
    if (size > protobuf_size_limit) {
      throw Error("the model is " + std::to_string(size) + " bytes, over protobuf's limit of " +
                  std::to_string(protobuf_size_limit) + " for one serialized model");
    }
  };
  if (deferred_count == 0) {
    // Nothing deferred (nothing to lay out, and a model the loader parsed whole may hold what
    // InlineLayout does not take apart, such as unknown group fields): protobuf's own bytes, in
    // the deterministic mode save_model writes.
    const std::uint64_t size = model.ByteSizeLong();
    check_size(size);
    const std::span<std::byte> out = allocate(size);
    if (out.size() != size) throw Error("internal: a serialization buffer of the wrong size");
    google::protobuf::io::ArrayOutputStream stream(out.data(), static_cast<int>(out.size()));
    if (!serialize_deterministic_to(model, stream) || static_cast<std::uint64_t>(stream.ByteCount()) != size) {
      throw Error("internal: protobuf serialization failed");
    }
    return {};
  }
  check_deferred_placement(model, deferred_count, "<memory>");
  const InlineLayout layout(model);
  check_size(layout.size());
  const std::span<std::byte> out = allocate(layout.size());
  if (out.size() != layout.size()) throw Error("internal: a serialization buffer of the wrong size");
  const SaveProgress no_progress;  // DeferredWriter keeps a reference
  DeferredWriter deferred(sources, deferred_total(model), no_progress);
  std::uint64_t done = 0;
  layout.write(deferred, [&](const char* data, std::size_t size) {
    if (size > out.size() - done) throw Error("internal: a serialization longer than its layout");
    std::memcpy(out.data() + done, data, size);
    done += size;
  });
  if (done != out.size()) throw Error("internal: a serialization shorter than its layout");
  return deferred.result;
}

}  // namespace onnx_fp16::io

namespace onnx_fp16 {

void save_model(const onnx::ModelProto& model, const std::filesystem::path& path, const SaveOptions& options) {
  io::save_model_with_limit(model, path, options, io::kAutomaticExternalDataLimit);
}

}  // namespace onnx_fp16
