#include "io/external_data.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>

#include "io/file_descriptor.h"
#include "io/proto_walk.h"
#include "onnx_fp16/error.h"

namespace onnx_fp16::io {
namespace fs = std::filesystem;

namespace {

std::string tensor_context(const onnx::TensorProto& tensor) {
  return "external data of tensor '" + tensor.name() + "'";
}

// Whether `inner` is `folder` or below it, comparing whole path components.
bool is_inside(const fs::path& folder, const fs::path& inner) {
  auto f = folder.begin(), i = inner.begin();
  for (; f != folder.end(); ++f, ++i) {
    if (f->empty()) continue;  // a trailing separator
    if (i == inner.end() || *f != *i) return false;
  }
  return true;
}

struct ExternalReference {
  std::string location;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  // absent: to the end of the file
};

std::uint64_t parse_size(const std::string& text, const char* key, const onnx::TensorProto& tensor) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw Error(tensor_context(tensor) + ": '" + key + "' is not a byte count: '" + text + "'");
  }
  return value;
}

ExternalReference read_reference(const onnx::TensorProto& tensor) {
  ExternalReference reference;
  bool has_location = false;
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == "location") {
      reference.location = entry.value();
      has_location = true;
    } else if (entry.key() == "offset") {
      reference.offset = parse_size(entry.value(), "offset", tensor);
    } else if (entry.key() == "length") {
      reference.length = parse_size(entry.value(), "length", tensor);
    }  // "checksum" and unknown keys carry nothing we need
  }
  if (!has_location) throw Error(tensor_context(tensor) + ": no 'location' entry");
  return reference;
}

struct DataFile {
  UniqueFd fd;
  std::uint64_t size = 0;
};

// The data files of one model, each opened once however many tensors it holds.
class DataFiles {
 public:
  DataFile& open(const fs::path& path, const onnx::TensorProto& tensor) {
    const auto found = files_.find(path);
    if (found != files_.end()) return found->second;
    DataFile file;
    file.fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.fd.valid()) {
      const int error = errno;
      if (error == ENOENT) throw Error(tensor_context(tensor) + ": file '" + path.string() + "' not found");
      throw Error(tensor_context(tensor) + ": cannot open '" + path.string() + "': " + error_text(error));
    }
    struct stat info {};
    if (::fstat(file.fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
      throw Error(tensor_context(tensor) + ": '" + path.string() + "' is not a regular file");
    }
    file.size = static_cast<std::uint64_t>(info.st_size);
    return files_.emplace(path, std::move(file)).first->second;
  }

  std::vector<fs::path> paths() const {
    std::vector<fs::path> result;
    for (const auto& [path, file] : files_) result.push_back(path);
    return result;
  }

 private:
  std::map<fs::path, DataFile> files_;
};

void load_tensor(onnx::TensorProto& tensor, const fs::path& model_folder, DataFiles& files) {
  const ExternalReference reference = read_reference(tensor);
  const fs::path path = resolve_external_location(reference.location, model_folder, tensor.name());
  DataFile& file = files.open(path, tensor);
  if (reference.offset > file.size) {
    throw Error(tensor_context(tensor) + ": offset " + std::to_string(reference.offset) + " is past the end of '" +
                path.string() + "' (" + std::to_string(file.size) + " bytes)");
  }
  const std::uint64_t available = file.size - reference.offset;
  const std::uint64_t length = reference.length.value_or(available);
  if (length > available) {
    throw Error(tensor_context(tensor) + ": '" + path.string() + "' is too short: needs " + std::to_string(length) +
                " bytes at offset " + std::to_string(reference.offset) + ", has " + std::to_string(available));
  }
  std::string* bytes = tensor.mutable_raw_data();
  bytes->resize(length);
  if (read_at(file.fd.get(), bytes->data(), length, reference.offset, path) != length) {
    throw Error(tensor_context(tensor) + ": '" + path.string() + "' ended early (changed while reading?)");
  }
  tensor.clear_external_data();
  // Cleared rather than set: data_location() now reads DEFAULT, and a model saved with
  // external data and loaded back serialises to the same bytes as the original.
  tensor.clear_data_location();
}

}  // namespace

fs::path resolve_external_location(const std::string& location, const fs::path& model_folder,
                                   const std::string& tensor_name) {
  const std::string context = "external data of tensor '" + tensor_name + "': location '" + location + "'";
  const fs::path relative(location);
  if (location.empty()) throw Error("external data of tensor '" + tensor_name + "': empty location");
  if (relative.has_root_path()) throw Error(context + " is an absolute path; it must be relative to the model's folder");

  // Lexically first: "a/../../x" escapes whatever the disk holds.
  const fs::path normal = relative.lexically_normal();
  if (normal.empty() || normal == ".") throw Error(context + " names the model's folder, not a file");
  if (*normal.begin() == "..") throw Error(context + " leads out of the model's folder '" + model_folder.string() + "'");
  // Then on disk: a symbolic link inside the folder may point anywhere.
  const fs::path path = model_folder / normal;
  std::error_code error;
  const fs::path real_folder = fs::weakly_canonical(model_folder, error);
  const fs::path real_path = error ? fs::path() : fs::weakly_canonical(path, error);
  if (error) throw Error(context + ": cannot resolve '" + path.string() + "': " + error.message());
  if (!is_inside(real_folder, real_path) || real_path == real_folder) {
    throw Error(context + " resolves to '" + real_path.string() + "', outside the model's folder '" +
                real_folder.string() + "'");
  }
  return real_path;
}

std::vector<fs::path> load_external_data(onnx::ModelProto& model, const fs::path& model_folder) {
  DataFiles files;
  for_each_nested<onnx::TensorProto>(model, [&](onnx::TensorProto& tensor) {
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL) load_tensor(tensor, model_folder, files);
  });
  return files.paths();
}

}  // namespace onnx_fp16::io
