#include "io/payload_sources.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "onnx_fp16/error.h"

namespace onnx_fp16::io {

std::uint32_t PayloadSources::open(const std::filesystem::path& path, const std::string& context) {
  for (std::uint32_t i = 0; i < sources_.size(); ++i) {
    if (sources_[i].path == path) return i;
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    const int error = errno;
    if (error == ENOENT) throw Error(context + ": file '" + path.string() + "' not found");
    throw Error(context + ": cannot open '" + path.string() + "': " + error_text(error));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    throw Error(context + ": '" + path.string() + "' is not a regular file");
  }
  return adopt(path, std::move(fd), static_cast<std::uint64_t>(info.st_size));
}

std::uint32_t PayloadSources::adopt(std::filesystem::path path, UniqueFd fd, std::uint64_t size) {
  // Read once, front to back: the kernel may read ahead further and drop pages behind.
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  sources_.push_back({std::move(path), std::move(fd), size});
  return static_cast<std::uint32_t>(sources_.size() - 1);
}

std::uint32_t PayloadSources::adopt_memory(std::filesystem::path label, std::span<const std::byte> bytes) {
  sources_.push_back({std::move(label), UniqueFd(), bytes.size(), bytes.data()});
  return static_cast<std::uint32_t>(sources_.size() - 1);
}

const PayloadSources::Source& PayloadSources::at(std::uint32_t index) const {
  if (index >= sources_.size()) throw Error("deferred tensor data refers to unknown source " + std::to_string(index));
  return sources_[index];
}

void PayloadSources::read(std::uint32_t index, std::uint64_t offset, char* buffer, std::size_t size) const {
  const Source& source = at(index);
  if (source.memory != nullptr) {
    if (offset > source.size || size > source.size - offset) {
      throw Error("'" + source.path.string() + "' ends at " + std::to_string(source.size) + " bytes, before offset " +
                  std::to_string(offset) + " + " + std::to_string(size));
    }
    std::memcpy(buffer, source.memory + offset, size);
    return;
  }
  if (read_at(source.fd.get(), buffer, size, offset, source.path) != size) {
    throw Error("'" + source.path.string() + "' ended early at offset " + std::to_string(offset) +
                " (changed since it was loaded?)");
  }
}

}  // namespace onnx_fp16::io
