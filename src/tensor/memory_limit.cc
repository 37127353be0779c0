#include "tensor/memory_limit.h"

#include <unistd.h>

#include <cstdio>

namespace onnx_fp16 {

namespace {

thread_local std::size_t current_limit = 0;  // 0: physical memory

}  // namespace

std::size_t physical_memory_bytes() {
  static const std::size_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page_size <= 0) return static_cast<std::size_t>(16) << 30;  // unknown: assume 16 GiB
    return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size);
  }();
  return bytes;
}

std::string byte_text(std::size_t bytes) {
  char text[64];
  const double value = static_cast<double>(bytes);
  if (bytes >= 1'000'000'000) {
    std::snprintf(text, sizeof text, "%.1f GB", value / 1e9);
  } else if (bytes >= 1'000'000) {
    std::snprintf(text, sizeof text, "%.1f MB", value / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%zu bytes", bytes);
  }
  return text;
}

std::size_t tensor_memory_limit() { return current_limit != 0 ? current_limit : physical_memory_bytes(); }

MemoryLimitScope::MemoryLimitScope(std::size_t bytes) : previous_(current_limit) { current_limit = bytes; }

MemoryLimitScope::~MemoryLimitScope() { current_limit = previous_; }

}  // namespace onnx_fp16
