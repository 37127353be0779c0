// Reading .npz archives (numpy.savez / savez_compressed): stored or deflated .npy entries,
// each decompressed straight into its tensor's buffer.
#include <onnx_fp16/error.h>

#include <map>
#include <memory>
#include <string>

#include "io/file_descriptor.h"
#include "io/npy_format.h"
#include "io/tensor_files.h"
#include "io/zip_archive.h"

namespace onnx_fp16::io {

std::map<std::string, Tensor> read_npz(const std::filesystem::path& path) {
  const std::string file = io::quoted(path);
  int code = 0;
  std::unique_ptr<zip_t, ZipDiscarder> archive(zip_open(path.c_str(), ZIP_RDONLY, &code));
  if (!archive) throw Error("cannot read " + file + " as .npz: " + zip_error_text(code));

  std::map<std::string, Tensor> tensors;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t index = 0; index < count; ++index) {
    const char* raw_name = zip_get_name(archive.get(), static_cast<zip_uint64_t>(index), ZIP_FL_ENC_GUESS);
    if (raw_name == nullptr) throw Error("cannot read " + file + ": " + zip_error_text(archive.get()));
    const std::string entry = raw_name;
    const std::string where = file + " entry '" + entry + "'";
    if (!entry.empty() && entry.back() == '/') continue;  // a folder entry holds nothing
    // Anything else is refused rather than skipped, so a misnamed array is not silently lost.
    if (entry.size() < 4 || entry.compare(entry.size() - 4, 4, ".npy") != 0) {
      throw Error(where + " is not a .npy file (an .npz holds <name>.npy entries)");
    }
    std::unique_ptr<zip_file_t, ZipFileCloser> entry_file(zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(index), 0));
    if (!entry_file) throw Error("cannot read " + where + ": " + zip_error_text(archive.get()));
    const ByteReader read = [&](char* buffer, std::size_t size) {
      std::size_t total = 0;
      while (total < size) {
        const zip_int64_t got = zip_fread(entry_file.get(), buffer + total, size - total);
        if (got < 0) throw Error("cannot read " + where + ": " + zip_file_strerror(entry_file.get()));
        if (got == 0) break;
        total += static_cast<std::size_t>(got);
      }
      return total;
    };
    // The entry's uncompressed size as the archive states it (a reader stops short where the
    // data does): what its header and data may claim at most.
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(index), 0, &stat) != 0 || (stat.valid & ZIP_STAT_SIZE) == 0) {
      throw Error("cannot read " + where + ": " + zip_error_text(archive.get()));
    }
    tensors.emplace(entry.substr(0, entry.size() - 4), read_npy_image(read, stat.size, where));
  }
  return tensors;
}

}  // namespace onnx_fp16::io
