// load_model: the protobuf, then its external data.
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>

#include "io/external_data.h"
#include "io/file_descriptor.h"
#include "onnx_fp16/error.h"
#include "onnx_fp16/model_io.h"

namespace onnx_fp16 {
namespace {

// Large buffered reads: the default 8 KiB block means a system call per 8 KiB of weights.
constexpr int kReadBlockBytes = 1 << 20;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& why) {
  throw Error("cannot load model '" + path.string() + "': " + why);
}

io::UniqueFd open_model_file(const std::filesystem::path& path, std::uint64_t& size) {
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) fail(path, errno == ENOENT ? std::string("file not found") : io::error_text(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) fail(path, io::error_text(errno));
  if (S_ISDIR(info.st_mode)) fail(path, "it is a folder");
  size = static_cast<std::uint64_t>(info.st_size);
  if (size == 0) fail(path, "the file is empty");
  return fd;
}

onnx::ModelProto parse_model(int fd, std::uint64_t size, const std::filesystem::path& path) {
  google::protobuf::io::FileInputStream file_stream(fd, kReadBlockBytes);
  onnx::ModelProto model;
  bool parsed = false;
  {
    google::protobuf::io::CodedInputStream coded(&file_stream);
    // Protobuf refuses messages over 64 MiB by default; ONNX allows up to the format's 2 GB.
    coded.SetTotalBytesLimit(INT_MAX);
    parsed = model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
  }
  if (file_stream.GetErrno() != 0) fail(path, io::error_text(file_stream.GetErrno()));
  if (!parsed) {
    if (size > static_cast<std::uint64_t>(INT_MAX)) {
      fail(path, "larger than protobuf's 2 GB limit (" + std::to_string(size) + " bytes); store tensors as external data");
    }
    fail(path, "not an ONNX model, or truncated (protobuf parsing failed)");
  }
  // Random bytes can parse as a protobuf message; a model needs at least these.
  if (model.ir_version() <= 0) fail(path, "not an ONNX model (no ir_version)");
  if (!model.has_graph()) fail(path, "not an ONNX model (no graph)");
  return model;
}

}  // namespace

onnx::ModelProto load_model(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> ignored;
  return load_model(path, ignored);
}

onnx::ModelProto load_model(const std::filesystem::path& path, std::vector<std::filesystem::path>& data_files_read) {
  std::uint64_t size = 0;
  onnx::ModelProto model;
  {
    io::UniqueFd fd = open_model_file(path, size);
    model = parse_model(fd.get(), size, path);
  }
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  try {
    data_files_read = io::load_external_data(model, folder);
  } catch (const Error& error) {
    fail(path, error.what());
  }
  return model;
}

}  // namespace onnx_fp16
