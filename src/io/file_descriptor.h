// A POSIX file descriptor that closes itself, and the read/write loops every file user needs
// (read and write may move fewer bytes than asked, or be interrupted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace onnx_fp16::io {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  // Closes now and reports the result (close can report a delayed write error).
  int close();

 private:
  int fd_ = -1;
};

// The text of errno `error`, for messages.
std::string error_text(int error);

// How a message names a file: its path in single quotes.
std::string quoted(const std::filesystem::path& path);

// Reads up to `size` bytes at `offset` into `buffer`; fewer only at the end of the file.
// Throws onnx_fp16::Error naming `path` on a read error.
std::size_t read_at(int fd, char* buffer, std::size_t size, std::uint64_t offset, const std::filesystem::path& path);

// Writes all `size` bytes at the current position. Throws onnx_fp16::Error naming `path`.
void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& path);

}  // namespace onnx_fp16::io
