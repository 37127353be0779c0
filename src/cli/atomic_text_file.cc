#include "cli/atomic_text_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "onnx_fp16/error.h"

namespace onnx_fp16::cli {
namespace {

[[noreturn]] void fail(const std::filesystem::path& target, const std::string& why) {
  throw Error("cannot write '" + target.string() + "': " + why);
}

}  // namespace

AtomicTextFile::AtomicTextFile(std::filesystem::path target) : target_(std::move(target)) {
  const std::filesystem::path folder = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
  std::string pattern = (folder / std::string(".").append(target_.filename().string()).append(".XXXXXX")).string();
  fd_ = ::mkstemp(pattern.data());
  if (fd_ < 0) fail(target_, std::strerror(errno));
  temp_path_ = pattern;
  // mkstemp makes the file 0600; a report is an ordinary file, readable as the umask allows.
  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  ::fchmod(fd_, 0666 & ~umask_now);
}

AtomicTextFile::~AtomicTextFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicTextFile::commit(std::string_view text) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(target_, std::strerror(errno));
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) fail(target_, std::strerror(errno));
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail(target_, std::strerror(errno));
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) fail(target_, std::strerror(errno));
  temp_path_.clear();
}

}  // namespace onnx_fp16::cli
