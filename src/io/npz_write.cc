// Writing .npz archives. Each entry is streamed to libzip from its tensor's own buffer (a
// zip_source_function over the .npy header and the values), so writing copies no tensor.
// libzip writes the archive under AtomicFile's temporary name; the commit renames it into place.
#include <fcntl.h>
#include <unistd.h>

#include <onnx_fp16/tensor_io.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "io/atomic_file.h"
#include "io/file_descriptor.h"
#include "io/npy_format.h"
#include "io/zip_archive.h"

namespace onnx_fp16 {
namespace {

// One entry's bytes: the .npy header, then the tensor's values. Owned by libzip once added.
struct EntrySource {
  std::string header;
  Tensor values;
  zip_uint64_t position = 0;
  zip_error_t error{};

  zip_uint64_t size() const { return header.size() + values.byte_size(); }

  zip_uint64_t read(char* out, zip_uint64_t wanted) {
    const zip_uint64_t count = std::min(wanted, size() - position);
    const auto values_bytes = values.bytes();
    for (zip_uint64_t done = 0; done < count;) {
      const zip_uint64_t at = position + done;
      std::size_t n;
      if (at < header.size()) {
        n = std::min<std::size_t>(count - done, header.size() - at);
        std::memcpy(out + done, header.data() + at, n);
      } else {
        n = count - done;
        std::memcpy(out + done, values_bytes.data() + (at - header.size()), n);
      }
      done += n;
    }
    position += count;
    return count;
  }
};

// The libzip source protocol for a readable, seekable source (deflate may rewind and store
// an entry that does not shrink).
zip_int64_t entry_callback(void* user, void* data, zip_uint64_t length, zip_source_cmd_t command) {
  auto* source = static_cast<EntrySource*>(user);
  switch (command) {
    case ZIP_SOURCE_OPEN:
      source->position = 0;
      return 0;
    case ZIP_SOURCE_READ:
      return static_cast<zip_int64_t>(source->read(static_cast<char*>(data), length));
    case ZIP_SOURCE_CLOSE:
      return 0;
    case ZIP_SOURCE_STAT: {
      auto* stat = static_cast<zip_stat_t*>(data);
      zip_stat_init(stat);
      stat->size = source->size();
      stat->mtime = std::time(nullptr);
      stat->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME;
      return sizeof(zip_stat_t);
    }
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&source->error, data, length);
    case ZIP_SOURCE_FREE:
      zip_error_fini(&source->error);
      delete source;
      return 0;
    case ZIP_SOURCE_SEEK: {
      const zip_int64_t offset = zip_source_seek_compute_offset(source->position, source->size(), data, length, &source->error);
      if (offset < 0) return -1;
      source->position = static_cast<zip_uint64_t>(offset);
      return 0;
    }
    case ZIP_SOURCE_TELL:
      return static_cast<zip_int64_t>(source->position);
    case ZIP_SOURCE_SUPPORTS:
      return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                            ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL,
                                            ZIP_SOURCE_SUPPORTS, -1);
    default:
      zip_error_set(&source->error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

// libzip deletes an archive with no entries instead of writing it; numpy.savez() writes this.
constexpr char kEmptyZip[22] = {'P', 'K', 5, 6};

void add_entry(zip_t* archive, const std::string& name, const Tensor& tensor, NpzCompression compression,
               const std::string& file) {
  const std::string where = file + " entry '" + name + ".npy'";
  auto* source = new EntrySource;
  source->values = io::npy_storable(tensor, where);
  source->header = io::npy_header(source->values);
  zip_error_init(&source->error);
  zip_source_t* zip_source = zip_source_function(archive, entry_callback, source);
  if (zip_source == nullptr) {
    zip_error_fini(&source->error);
    delete source;
    throw Error("cannot write " + where + ": " + io::zip_error_text(archive));
  }
  const zip_int64_t index = zip_file_add(archive, (name + ".npy").c_str(), zip_source, ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(zip_source);  // still ours: frees `source` through ZIP_SOURCE_FREE
    throw Error("cannot write " + where + ": " + io::zip_error_text(archive));
  }
  const zip_int32_t method = compression == NpzCompression::Deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE;
  if (zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), method, 0) != 0) {
    throw Error("cannot write " + where + ": " + io::zip_error_text(archive));
  }
}

// libzip's zip_close does not sync; the rename that follows must not expose unwritten data.
void sync_file(const std::filesystem::path& path) {
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) throw Error("cannot write '" + path.string() + "': fsync: " + io::error_text(errno));
}

}  // namespace

void write_npz(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
               NpzCompression compression) {
  const std::string file = io::quoted(path);
  io::AtomicFile temp(path);
  if (tensors.empty()) {
    temp.write(kEmptyZip, sizeof kEmptyZip);
    temp.commit();
    return;
  }
  int code = 0;
  std::unique_ptr<zip_t, io::ZipDiscarder> archive(zip_open(temp.temp_path().c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
  if (!archive) throw Error("cannot write " + file + ": " + io::zip_error_text(code));
  for (const auto& [name, tensor] : tensors) add_entry(archive.get(), name, tensor, compression, file);
  // zip_close writes the archive (reading every source) and renames it over the temporary name.
  if (zip_close(archive.get()) != 0) throw Error("cannot write " + file + ": " + io::zip_error_text(archive.get()));
  archive.release();
  sync_file(temp.temp_path());
  temp.commit();
}

}  // namespace onnx_fp16
