#include "io/zip_archive.h"

namespace onnx_fp16::io {

std::string zip_error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

std::string zip_error_text(zip_t* archive) { return zip_error_strerror(zip_get_error(archive)); }

}  // namespace onnx_fp16::io
