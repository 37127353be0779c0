// The benchmark's scratch folder: generated models and converted outputs (gigabytes), removed
// at the end unless the user wants to look at them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace bench {

class WorkFolder {
 public:
  // A new folder under `parent` (or the system's temporary folder when empty).
  WorkFolder(const std::filesystem::path& parent, bool keep);
  ~WorkFolder();
  WorkFolder(const WorkFolder&) = delete;
  WorkFolder& operator=(const WorkFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A subfolder, created if missing.
  std::filesystem::path folder(const std::string& name) const;

 private:
  std::filesystem::path path_;
  bool keep_;
};

// Bytes of all regular files under `folder`: a model plus any external data files beside it.
std::uint64_t folder_bytes(const std::filesystem::path& folder);

// The last `lines` lines of a text file (a child's log), for error messages.
std::string tail_of_file(const std::filesystem::path& file, int lines);

}  // namespace bench
