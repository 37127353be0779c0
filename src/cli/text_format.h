// Small text formatting shared by the human-readable outputs (convert summary, inspect table).
#pragma once

#include <cstdint>
#include <string>

namespace onnx_fp16::cli {

// "512 B", "12.3 KB", "45.6 MB", "1.23 GB" (powers of 1024, so sizes match `ls -lh`).
std::string human_bytes(std::uint64_t bytes);
// "0.42 s", "12.3 s".
std::string seconds_text(double seconds);
// A duration at the scale of a model run: "850 us", "3.21 ms", "0.42 s".
std::string duration_text(double seconds);
// "1 value" / "3 values": counts in sentences read better with the right plural.
std::string count_of(std::uint64_t count, const std::string& singular, const std::string& plural);
// `text` padded with spaces on the right (or left) to `width` characters.
std::string pad_right(const std::string& text, std::size_t width);
std::string pad_left(const std::string& text, std::size_t width);

}  // namespace onnx_fp16::cli
