// The files a streamed model's deferred tensors read from: the model file itself and its
// external data files, each opened once and held open until the model is saved, so that the
// bytes read are the bytes that were checked at load. Or a serialized model in memory (the
// Python package's bytes), which the caller keeps alive and unchanged as long as the sources.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "io/file_descriptor.h"

namespace onnx_fp16::io {

class PayloadSources {
 public:
  struct Source {
    std::filesystem::path path;  // for a source in memory, the label errors name it by
    UniqueFd fd;                 // not valid for a source in memory
    std::uint64_t size = 0;
    const std::byte* memory = nullptr;  // a source in memory: its bytes
  };

  // The index of `path` (already resolved), opening it on first use. Throws onnx_fp16::Error
  // with `context` (what wants the file) when it cannot be opened or is not a regular file.
  std::uint32_t open(const std::filesystem::path& path, const std::string& context);
  // Adopts an open descriptor (the model file, opened by the loader).
  std::uint32_t adopt(std::filesystem::path path, UniqueFd fd, std::uint64_t size);
  // Adds bytes in memory, named `label` in errors; they must outlive these sources.
  std::uint32_t adopt_memory(std::filesystem::path label, std::span<const std::byte> bytes);

  const Source& at(std::uint32_t index) const;
  std::size_t size() const { return sources_.size(); }

  // Reads exactly `size` bytes at `offset` of source `index`; throws naming the file when it
  // has fewer (the file changed since it was loaded).
  void read(std::uint32_t index, std::uint64_t offset, char* buffer, std::size_t size) const;

 private:
  std::vector<Source> sources_;
};

}  // namespace onnx_fp16::io
