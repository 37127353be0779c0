#include "io/deferred_tensor.h"

#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "onnx_fp16/error.h"

namespace onnx_fp16::io {
namespace {

// Starts with a NUL byte: no file name can collide with it, and a model saved by mistake with
// the marker in it cannot be opened by any runtime as if its data were somewhere.
constexpr std::string_view kLocation{"\0onnx-fp16:deferred", 19};

void add(onnx::TensorProto& tensor, const char* key, const std::string& value) {
  auto* entry = tensor.add_external_data();
  entry->set_key(key);
  entry->set_value(value);
}

std::string float_text(float value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

template <typename T>
T parse(const onnx::TensorProto& tensor, const std::string& key, const std::string& text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw Error("deferred tensor '" + tensor.name() + "': bad '" + key + "' entry '" + text + "'");
  }
  return value;
}

}  // namespace

bool is_deferred(const onnx::TensorProto& tensor) {
  return tensor.data_location() == onnx::TensorProto::EXTERNAL && tensor.external_data_size() > 0 &&
         tensor.external_data(0).key() == "location" && tensor.external_data(0).value() == kLocation;
}

DeferredPayload deferred_payload(const onnx::TensorProto& tensor) {
  if (!is_deferred(tensor)) throw Error("tensor '" + tensor.name() + "' is not deferred");
  DeferredPayload payload;
  for (const auto& entry : tensor.external_data()) {
    const std::string& key = entry.key();
    const std::string& value = entry.value();
    if (key == "source") payload.source = parse<std::uint32_t>(tensor, key, value);
    else if (key == "offset") payload.offset = parse<std::uint64_t>(tensor, key, value);
    else if (key == "stored_length") payload.length = parse<std::uint64_t>(tensor, key, value);
    else if (key == "stored_type") payload.source_type = parse<std::int32_t>(tensor, key, value);
    else if (key == "had_data_location") payload.had_data_location = value == "1";
    else if (key == "convert_to") payload.convert_to = parse<std::int32_t>(tensor, key, value);
    else if (key == "min_positive") payload.clamp.min_positive = parse<float>(tensor, key, value);
    else if (key == "max_finite") payload.clamp.max_finite = parse<float>(tensor, key, value);
  }
  return payload;
}

void mark_deferred(onnx::TensorProto& tensor, const DeferredPayload& payload) {
  tensor.clear_raw_data();
  tensor.clear_external_data();
  tensor.set_data_location(onnx::TensorProto::EXTERNAL);
  add(tensor, "location", std::string(kLocation));
  add(tensor, "source", std::to_string(payload.source));
  add(tensor, "offset", std::to_string(payload.offset));
  // Not "length": io::tensor_data_bytes reads that key as the saved size, which a pending
  // conversion halves; without it, it counts dims x the (current) element size.
  add(tensor, "stored_length", std::to_string(payload.length));
  add(tensor, "stored_type", std::to_string(payload.source_type));
  add(tensor, "had_data_location", payload.had_data_location ? "1" : "0");
  if (payload.convert_to) {
    add(tensor, "convert_to", std::to_string(*payload.convert_to));
    add(tensor, "min_positive", float_text(payload.clamp.min_positive));
    add(tensor, "max_finite", float_text(payload.clamp.max_finite));
  }
}

void defer_conversion(onnx::TensorProto& tensor, std::int32_t target, half::ClampRule clamp) {
  DeferredPayload payload = deferred_payload(tensor);
  if (payload.source_type != onnx::TensorProto::FLOAT || payload.convert_to) {
    throw Error("deferred tensor '" + tensor.name() + "' is not float32 data to convert");
  }
  payload.convert_to = target;
  payload.clamp = clamp;
  tensor.set_data_type(target);
  mark_deferred(tensor, payload);
}

std::uint64_t saved_length(const DeferredPayload& payload) {
  return payload.convert_to ? payload.length / sizeof(float) * sizeof(std::uint16_t) : payload.length;
}

onnx::TensorProto saved_form(const onnx::TensorProto& deferred) {
  const DeferredPayload payload = deferred_payload(deferred);
  onnx::TensorProto tensor = deferred;
  tensor.clear_external_data();
  // As a loaded model would have it: external data read into raw_data clears the location
  // (io/external_data.cc), inline bytes keep whatever the file said.
  if (payload.had_data_location) {
    tensor.set_data_location(onnx::TensorProto::DEFAULT);
  } else {
    tensor.clear_data_location();
  }
  return tensor;
}

}  // namespace onnx_fp16::io
