// save_model: inline, or with tensors in an external data file; both files written atomically.
#include "io/model_save.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <algorithm>
#include <optional>
#include <string>

#include "io/atomic_file.h"
#include "io/external_data_writer.h"
#include "io/proto_copy.h"
#include "onnx_fp16/error.h"

namespace onnx_fp16::io {
namespace fs = std::filesystem;

namespace {

constexpr int kWriteBlockBytes = 1 << 20;

[[noreturn]] void fail(const fs::path& path, const std::string& why) {
  throw Error("cannot save model '" + path.string() + "': " + why);
}

// Serialises `model` into `file`: field order is fixed and deterministic mode is on, so the
// same model always gives the same bytes.
void write_protobuf(const google::protobuf::Message& model, AtomicFile& file) {
  google::protobuf::io::FileOutputStream file_stream(file.fd(), kWriteBlockBytes);
  bool written = false;
  {
    google::protobuf::io::CodedOutputStream coded(&file_stream);
    coded.SetSerializationDeterministic(true);
    written = model.SerializePartialToCodedStream(&coded) && !coded.HadError();
  }
  written = file_stream.Flush() && written;
  if (!written) {
    const int error = file_stream.GetErrno();
    fail(file.target(), error != 0 ? error_text(error) : std::string("protobuf serialisation failed"));
  }
}

// The data file's name must sit beside the model: the model refers to it by that name.
void check_data_file_name(const std::string& name, const fs::path& model_path) {
  const fs::path as_path(name);
  if (name.empty() || as_path.has_parent_path() || name == "." || name == "..") {
    fail(model_path, "external data file '" + name + "' must be a plain file name (it is stored beside the model)");
  }
  if (as_path == model_path.filename()) fail(model_path, "external data file '" + name + "' is the model file itself");
}

void save_inline(const onnx::ModelProto& model, const fs::path& path) {
  AtomicFile file(path);
  write_protobuf(model, file);
  file.commit();
}

void save_with_external_data(const onnx::ModelProto& model, const fs::path& path, const std::string& data_name,
                             std::size_t threshold, std::uint64_t size_limit) {
  check_data_file_name(data_name, path);
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  AtomicFile data_file(folder / data_name);
  ExternalDataWriter writer(data_file, data_name);

  // The saved model is a copy without the big raw_data, whose bytes go straight from `model`
  // to the data file: peak memory stays the input model plus its small structure.
  const std::size_t min_bytes = std::max<std::size_t>(threshold, 1);
  RawDataFilter filter{
      [&](const onnx::TensorProto& tensor) {
        return tensor.data_location() != onnx::TensorProto::EXTERNAL && tensor.raw_data().size() >= min_bytes;
      },
      [&](const onnx::TensorProto& original, onnx::TensorProto& copy) { writer.append(original.raw_data(), copy); },
  };
  onnx::ModelProto stripped;
  copy_with_raw_data_filter(model, stripped, filter);

  const std::uint64_t stripped_size = stripped.ByteSizeLong();
  if (stripped_size > size_limit) {
    fail(path, "the model is still " + std::to_string(stripped_size) + " bytes with tensors of " +
                   std::to_string(min_bytes) + "+ bytes in '" + data_name +
                   "' (limit " + std::to_string(size_limit) + "); lower the external data threshold");
  }
  AtomicFile model_file(path);
  write_protobuf(stripped, model_file);

  // Both complete on disk before either takes its name; the data goes first so the new model
  // never refers to a data file that is not there.
  data_file.finish();
  model_file.finish();
  data_file.commit();
  model_file.commit();
}

}  // namespace

void save_model_with_limit(const onnx::ModelProto& model, const fs::path& path, const SaveOptions& options,
                           std::uint64_t protobuf_size_limit) {
  if (!path.has_filename()) fail(path, "not a file name");
  std::optional<std::string> data_name = options.external_data_file;
  if (!data_name && model.ByteSizeLong() > protobuf_size_limit) data_name = path.filename().string() + ".data";
  if (data_name) {
    save_with_external_data(model, path, *data_name, options.external_data_threshold, protobuf_size_limit);
  } else {
    save_inline(model, path);
  }
}

}  // namespace onnx_fp16::io

namespace onnx_fp16 {

void save_model(const onnx::ModelProto& model, const std::filesystem::path& path, const SaveOptions& options) {
  io::save_model_with_limit(model, path, options, io::kAutomaticExternalDataLimit);
}

}  // namespace onnx_fp16
