#include "frontend/output_paths.h"

#include <vector>

#include "onnx_fp16/error.h"

namespace onnx_fp16::frontend {
namespace fs = std::filesystem;

namespace {

fs::path folder_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

// Same file on disk (hard links and symbolic links included) or, for files that do not exist
// yet, the same path once made absolute and normalised.
bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code error;
  if (fs::exists(a, error) && fs::exists(b, error)) return fs::equivalent(a, b, error);
  return fs::weakly_canonical(a, error) == fs::weakly_canonical(b, error);
}

void require_folder(const fs::path& file, const std::string& what) {
  const fs::path folder = folder_of(file);
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    throw Error("cannot write " + what + " '" + file.string() + "': folder '" + folder.string() + "' does not exist");
  }
}

struct Target {
  std::string what;
  fs::path path;
};

}  // namespace

void check_output_paths(const OutputPaths& paths) {
  std::vector<Target> targets{{"the output model", paths.output}};
  if (paths.external_data_file) {
    const fs::path name(*paths.external_data_file);
    if (paths.external_data_file->empty() || name.has_parent_path() || name == "." || name == "..") {
      throw Error("--external-data '" + *paths.external_data_file +
                  "' must be a plain file name: the data file is stored beside the output model");
    }
    targets.push_back({"the external data file", folder_of(paths.output) / name});
  }
  if (paths.report) targets.push_back({"the report", *paths.report});

  std::error_code error;
  // A missing input is load_model's to report (with its own message); there is nothing to protect.
  const bool input_exists = fs::exists(paths.input, error);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (input_exists && same_file(targets[i].path, paths.input)) {
      throw Error(targets[i].what + " '" + targets[i].path.string() + "' is the input model '" + paths.input.string() +
                  "'; the input is never overwritten: choose another output path");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (same_file(targets[i].path, targets[j].path)) {
        throw Error(targets[i].what + " and " + targets[j].what + " are the same file '" + targets[i].path.string() + "'");
      }
    }
    require_folder(targets[i].path, targets[i].what);
    if (fs::is_directory(targets[i].path, error)) {
      throw Error("cannot write " + targets[i].what + " '" + targets[i].path.string() + "': it is a folder");
    }
  }
}

void check_not_input_data(const OutputPaths& paths, const std::vector<fs::path>& input_data_files) {
  std::vector<Target> targets{{"the output model", paths.output}};
  if (paths.external_data_file) {
    targets.push_back({"the external data file", folder_of(paths.output) / *paths.external_data_file});
  }
  // save_model's automatic data file for outputs over 2 GB.
  targets.push_back({"the output's automatic data file", fs::path(paths.output.string() + ".data")});
  if (paths.report) targets.push_back({"the report", *paths.report});
  for (const auto& target : targets) {
    for (const auto& data_file : input_data_files) {
      if (same_file(target.path, data_file)) {
        throw Error(target.what + " '" + target.path.string() + "' is the external data file '" + data_file.string() +
                    "' of the input model; the input is never overwritten: choose another name");
      }
    }
  }
}

}  // namespace onnx_fp16::frontend
