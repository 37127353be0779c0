// The libzip handles the .npz reader and writer share: closed (or discarded) on every path.
#pragma once

#include <zip.h>

#include <string>

namespace onnx_fp16::io {

// libzip's text for an error code from zip_open.
std::string zip_error_text(int code);
// libzip's text for the last error on an archive.
std::string zip_error_text(zip_t* archive);

struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
// An archive opened for reading: discarded (nothing is written) when the handle goes.
struct ZipDiscarder {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};

}  // namespace onnx_fp16::io
