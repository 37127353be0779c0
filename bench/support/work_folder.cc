#include "support/work_folder.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace bench {

WorkFolder::WorkFolder(const std::filesystem::path& parent, bool keep) : keep_(keep) {
  const std::filesystem::path base = parent.empty() ? std::filesystem::temp_directory_path() : parent;
  std::filesystem::create_directories(base);
  std::string pattern = (base / "onnx-fp16-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a work folder in " + base.string() + ": " + std::strerror(errno));
  }
  path_ = pattern;
}

WorkFolder::~WorkFolder() {
  if (keep_) return;
  std::error_code ignored;  // a failed clean-up must not turn a finished run into a crash
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path WorkFolder::folder(const std::string& name) const {
  const auto folder = path_ / name;
  std::filesystem::create_directories(folder);
  return folder;
}

std::uint64_t folder_bytes(const std::filesystem::path& folder) {
  std::uint64_t total = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder, error)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

std::string tail_of_file(const std::filesystem::path& file, int lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string text;
  for (const auto& line : last) text += "    " + line + "\n";
  return text;
}

}  // namespace bench
