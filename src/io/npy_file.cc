// Single-tensor .npy files.
#include <fcntl.h>
#include <sys/stat.h>

#include <onnx_fp16/tensor_io.h>

#include <cerrno>

#include "io/atomic_file.h"
#include "io/file_descriptor.h"
#include "io/npy_format.h"

namespace onnx_fp16 {

Tensor read_npy(const std::filesystem::path& path) {
  const std::string where = io::quoted(path);
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw Error("cannot read " + where + ": " + io::error_text(errno));
  std::uint64_t offset = 0;
  const io::ByteReader read = [&](char* buffer, std::size_t size) {
    const std::size_t got = io::read_at(fd.get(), buffer, size, offset, path);  // short only at the end
    offset += got;
    return got;
  };
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) throw Error("cannot read " + where + ": " + io::error_text(errno));
  return io::read_npy_image(read, static_cast<std::uint64_t>(status.st_size), where);
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  const Tensor storable = io::npy_storable(tensor, io::quoted(path));
  io::AtomicFile file(path);
  const std::string header = io::npy_header(storable);
  file.write(header.data(), header.size());
  const auto bytes = storable.bytes();
  file.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  file.commit();
}

}  // namespace onnx_fp16
