#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>
#include <string>

#include "onnx_fp16/error.h"

namespace onnx_fp16::io {
namespace {

std::filesystem::path folder_of(const std::filesystem::path& file) {
  return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
}

std::string random_suffix() {
  std::random_device device;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", device(), device());
  return text;
}

// Makes a rename durable: the folder entry must reach the disk too. Best effort, as some
// file systems do not support syncing a folder.
void sync_folder(const std::filesystem::path& folder) {
  UniqueFd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) ::fsync(fd.get());
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  if (!target_.has_filename()) throw Error("cannot write '" + target_.string() + "': not a file name");
  std::error_code error;
  if (std::filesystem::is_directory(target_, error)) {
    throw Error("cannot write '" + target_.string() + "': it is a folder");
  }
  // O_EXCL: a name collision (or a planted symlink) fails instead of writing elsewhere.
  for (int attempt = 0; attempt < 8 && !fd_.valid(); ++attempt) {
    temp_path_ = folder_of(target_) / std::string(".")
                                          .append(target_.filename().string())
                                          .append(".tmp-")
                                          .append(std::to_string(::getpid()))
                                          .append("-")
                                          .append(random_suffix());
    fd_ = UniqueFd(::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd_.valid() && errno != EEXIST) break;
  }
  if (!fd_.valid()) {
    throw Error("cannot write '" + target_.string() + "': cannot create '" + temp_path_.string() +
                "': " + error_text(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  fd_.close();
  ::unlink(temp_path_.c_str());
}

// Errors name the target: the temporary name means nothing to the user, and it is removed.
void AtomicFile::write(const char* data, std::size_t size) {
  write_all(fd_.get(), data, size, target_);
  written_ += size;
  // Start writing back what is written so far, without waiting: the disk works while the rest
  // is produced, and finish()'s fsync has only the tail left. Advisory: fsync reports errors.
  constexpr std::uint64_t kWritebackBytes = 32 << 20;
  if (written_ - written_back_ >= kWritebackBytes) {
    ::sync_file_range(fd_.get(), static_cast<off_t>(written_back_), static_cast<off_t>(written_ - written_back_),
                      SYNC_FILE_RANGE_WRITE);
    written_back_ = written_;
  }
}

void AtomicFile::finish() {
  if (::fsync(fd_.get()) != 0) throw Error("cannot write '" + target_.string() + "': fsync: " + error_text(errno));
  if (fd_.close() != 0) throw Error("cannot write '" + target_.string() + "': close: " + error_text(errno));
}

void AtomicFile::commit() {
  if (fd_.valid()) finish();
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    throw Error("cannot write '" + target_.string() + "': rename from '" + temp_path_.string() +
                "': " + error_text(errno));
  }
  committed_ = true;
  sync_folder(folder_of(target_));
}

}  // namespace onnx_fp16::io
