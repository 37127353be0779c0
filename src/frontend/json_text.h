// JSON as the CLI prints and writes it and the Python package parses it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace onnx_fp16::frontend {

// Indented, newline-terminated. ONNX names are protobuf strings that need not be valid UTF-8;
// invalid bytes become U+FFFD instead of making the dump throw after the model was written.
inline std::string json_text(const nlohmann::ordered_json& json) {
  return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace onnx_fp16::frontend
