#include "io/external_data.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>

#include "io/deferred_tensor.h"
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

void load_tensor(onnx::TensorProto& tensor, const fs::path& model_folder, PayloadSources& sources) {
  const ExternalSlice slice = locate_external_data(tensor, model_folder, sources);
  std::string* bytes = tensor.mutable_raw_data();
  bytes->resize(slice.length);
  sources.read(slice.source, slice.offset, bytes->data(), slice.length);
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

ExternalSlice locate_external_data(const onnx::TensorProto& tensor, const fs::path& model_folder,
                                   PayloadSources& sources) {
  const ExternalReference reference = read_reference(tensor);
  const fs::path path = resolve_external_location(reference.location, model_folder, tensor.name());
  const std::uint32_t source = sources.open(path, tensor_context(tensor));
  const std::uint64_t size = sources.at(source).size;
  if (reference.offset > size) {
    throw Error(tensor_context(tensor) + ": offset " + std::to_string(reference.offset) + " is past the end of '" +
                path.string() + "' (" + std::to_string(size) + " bytes)");
  }
  const std::uint64_t available = size - reference.offset;
  const std::uint64_t length = reference.length.value_or(available);
  if (length > available) {
    throw Error(tensor_context(tensor) + ": '" + path.string() + "' is too short: needs " + std::to_string(length) +
                " bytes at offset " + std::to_string(reference.offset) + ", has " + std::to_string(available));
  }
  return {source, reference.offset, length};
}

std::vector<fs::path> load_external_data(onnx::ModelProto& model, const fs::path& model_folder) {
  PayloadSources files;
  for_each_nested<onnx::TensorProto>(model, [&](onnx::TensorProto& tensor) {
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL && !is_deferred(tensor)) {
      load_tensor(tensor, model_folder, files);
    }
  });
  std::vector<fs::path> paths;
  for (std::uint32_t i = 0; i < files.size(); ++i) paths.push_back(files.at(i).path);
  return paths;
}

}  // namespace onnx_fp16::io
