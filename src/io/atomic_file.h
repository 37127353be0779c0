// A file that appears under its name complete or not at all: written under a temporary name
// in the same folder (".<name>.tmp-<pid>-<random>"), flushed to disk, then renamed over the
// target. Destroyed before commit(), it removes the temporary file, so a failure leaves
// nothing behind and an existing target untouched.
#pragma once

#include <cstdint>
#include <filesystem>

#include "io/file_descriptor.h"

namespace onnx_fp16::io {

class AtomicFile {
 public:
  // Creates the temporary file. Throws onnx_fp16::Error naming `target` if it cannot.
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Open for writing until finish().
  int fd() const { return fd_.get(); }
  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

  void write(const char* data, std::size_t size);
  // Flushes the contents to disk and closes the file, still under its temporary name.
  void finish();
  // Renames the finished file over the target and syncs the folder.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_path_;
  UniqueFd fd_;
  std::uint64_t written_ = 0;       // bytes written so far
  std::uint64_t written_back_ = 0;  // bytes whose writeback has been started
  bool committed_ = false;
};

}  // namespace onnx_fp16::io
