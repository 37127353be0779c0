// Writing a small text file (the JSON report) so that it appears complete or not at all.
//
// The temporary file is created up front, before the long conversion starts: a report path
// that cannot be written fails the command before anything is converted or saved, and a
// failure later (the model cannot be saved) removes the temporary file, so nothing is left.
// Models are not written here: they go through onnx_fp16::save_model (src/io).
#pragma once

#include <filesystem>
#include <string_view>

namespace onnx_fp16::cli {

class AtomicTextFile {
 public:
  // Creates ".<name>.XXXXXX" beside `target`. Throws onnx_fp16::Error naming `target`.
  explicit AtomicTextFile(std::filesystem::path target);
  ~AtomicTextFile();  // removes the temporary file unless commit() succeeded
  AtomicTextFile(const AtomicTextFile&) = delete;
  AtomicTextFile& operator=(const AtomicTextFile&) = delete;

  // Writes `text` as the whole content, flushes it to disk and renames it over the target.
  void commit(std::string_view text);

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
};

}  // namespace onnx_fp16::cli
