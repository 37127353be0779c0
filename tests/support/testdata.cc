#include "support/testdata.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace test_support {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return std::move(bytes).str();
}

// The N of "<prefix>N<suffix>", or -1 when `name` has another form.
long numbered(const std::string& name, const std::string& prefix, const std::string& suffix) {
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix)) return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) return -1;
  return std::stol(digits);
}

// The files or folders in `dir` named <prefix>N<suffix>, ordered by N (so that 10 follows 9).
std::vector<fs::path> numbered_entries(const fs::path& dir, const std::string& prefix, const std::string& suffix) {
  std::vector<std::pair<long, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const long n = numbered(entry.path().filename().string(), prefix, suffix);
    if (n >= 0) found.emplace_back(n, entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> paths;
  for (auto& [n, path] : found) paths.push_back(std::move(path));
  return paths;
}

}  // namespace

fs::path testdata_root() {
  if (const char* dir = std::getenv("ONNX_FP16_TESTDATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  return "/usr/share/libonnx-testdata/data";
}

const std::vector<std::string>& testdata_folders() {
  static const std::vector<std::string> folders = {"node", "simple", "pytorch-converted", "pytorch-operator"};
  return folders;
}

std::vector<std::string> fed_input_names(const onnx::GraphProto& graph) {
  std::vector<std::string> names;
  for (const auto& input : graph.input()) {
    const bool has_initializer = std::any_of(graph.initializer().begin(), graph.initializer().end(),
                                             [&](const auto& init) { return init.name() == input.name(); });
    if (!has_initializer) names.push_back(input.name());
  }
  return names;
}

std::vector<TestDataCase> list_testdata_cases(const std::string& folder) {
  std::vector<TestDataCase> cases;
  const fs::path root = testdata_root() / folder;
  if (!fs::is_directory(root)) return cases;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!fs::exists(entry.path() / "model.onnx")) continue;
    cases.push_back({folder, entry.path().filename().string(), entry.path(),
                     numbered_entries(entry.path(), "test_data_set_", "")});
  }
  std::sort(cases.begin(), cases.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return cases;
}

TestDataSample read_test_data_set(const fs::path& data_set) {
  TestDataSample sample;
  for (const auto& path : numbered_entries(data_set, "input_", ".pb")) sample.inputs.push_back(read_tensor_file(path));
  for (const auto& path : numbered_entries(data_set, "output_", ".pb")) sample.outputs.push_back(read_tensor_file(path));
  return sample;
}

onnx::TensorProto read_tensor_file(const fs::path& path) {
  onnx::TensorProto tensor;
  if (!tensor.ParseFromString(read_file(path))) throw std::runtime_error(path.string() + " is not a TensorProto");
  return tensor;
}

onnx::ModelProto read_model_file(const fs::path& path) {
  onnx::ModelProto model;
  if (!model.ParseFromString(read_file(path))) throw std::runtime_error(path.string() + " is not an ONNX model");
  return model;
}

}  // namespace test_support
