#include "io/file_descriptor.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "onnx_fp16/error.h"

namespace onnx_fp16::io {

// One system call moves at most this much: Linux caps a single read/write near 2 GiB anyway.
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() { close(); }

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

int UniqueFd::close() {
  if (fd_ < 0) return 0;
  return ::close(release());
}

std::string error_text(int error) { return std::strerror(error); }

std::string quoted(const std::filesystem::path& path) { return std::string("'").append(path.string()).append("'"); }

std::size_t read_at(int fd, char* buffer, std::size_t size, std::uint64_t offset, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, buffer + done, std::min(size - done, kMaxChunk), static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot read '" + path.string() + "': " + error_text(errno));
    }
    if (n == 0) break;  // end of file
    done += static_cast<std::size_t>(n);
  }
  return done;
}

void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, std::min(size - done, kMaxChunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write '" + path.string() + "': " + error_text(errno));
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace onnx_fp16::io
