// Fuzz target: the model loaders (external data resolution included), the float16 conversion
// and the writers, both ways the library offers: the whole-model path (load_model,
// convert_float_to_float16, save_model) and the streamed path the CLI takes
// (load_model_streamed, which leaves payloads in the file, and the streaming save). Input: the
// bytes of an .onnx file.
//
// Besides crashes and sanitizer reports, a disagreement is a finding: the two paths must both
// refuse the model, or both write the same bytes (the streamed path's contract).
//
// The same input as serialized bytes in memory (the Python package's way): parsed by protobuf
// whole, or streamed from the bytes (load_model_streamed over memory, then serialize_streamed),
// which must agree the same way.
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/model_io.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>

#include "fuzz_input.h"
#include "io/model_save.h"
#include "io/streamed_model.h"

namespace {

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// The converted file's bytes, or nothing when the path refused the model.
template <typename Convert>
std::optional<std::string> converted(Convert&& convert) {
  try {
    return convert();
  } catch (const onnx_fp16::Error&) {
    return std::nullopt;  // a clear refusal: the expected answer to a bad model
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onnx_fp16;
  const std::filesystem::path input = fuzz::write_input("model.onnx", data, size);
  Float16Options options;
  options.keep_io_types = size % 2 == 1;  // both ways, chosen by the input
  const std::optional<std::string> whole = converted([&] {
    onnx::ModelProto model = load_model(input);
    convert_float_to_float16(model, options);
    save_model(model, fuzz::scratch_folder() / "whole.onnx");
    return file_bytes(fuzz::scratch_folder() / "whole.onnx");
  });
  const std::optional<std::string> streamed = converted([&] {
    // A low threshold defers even small payloads, so that the fuzzer reaches the deferral.
    io::StreamedModel loaded = io::load_model_streamed(input, 16);
    convert_float_to_float16(loaded.model, options);
    io::save_model_with_limit(loaded.model, fuzz::scratch_folder() / "streamed.onnx", {},
                              io::kAutomaticExternalDataLimit, &loaded.sources);
    return file_bytes(fuzz::scratch_folder() / "streamed.onnx");
  });
  if (whole.has_value() != streamed.has_value() || (whole && *whole != *streamed)) {
    std::fprintf(stderr, "the streamed path %s where the whole-model path %s\n",
                 streamed ? "converted" : "refused", whole ? (streamed ? "wrote other bytes" : "converted") : "refused");
    std::abort();
  }

  const std::span<const std::byte> memory(reinterpret_cast<const std::byte*>(data), size);
  const std::optional<std::string> parsed = converted([&] {
    onnx::ModelProto model;
    if (size > 1'000'000'000 || !model.ParseFromArray(data, static_cast<int>(size))) throw Error("not a model");
    convert_float_to_float16(model, options);
    save_model(model, fuzz::scratch_folder() / "parsed.onnx");
    return file_bytes(fuzz::scratch_folder() / "parsed.onnx");
  });
  const std::optional<std::string> from_memory = converted([&] {
    io::StreamedModel loaded = io::load_model_streamed(memory, "<fuzz input>", 16);
    convert_float_to_float16(loaded.model, options);
    std::string bytes;
    io::serialize_streamed(loaded.model, loaded.sources, [&](std::uint64_t length) {
      bytes.resize(length);
      return std::span<std::byte>(reinterpret_cast<std::byte*>(bytes.data()), bytes.size());
    });
    return bytes;
  });
  if (parsed.has_value() != from_memory.has_value() || (parsed && *parsed != *from_memory)) {
    std::fprintf(stderr, "the bytes streamed from memory %s where the parsed bytes %s\n",
                 from_memory ? "converted" : "refused",
                 parsed ? (from_memory ? "wrote other bytes" : "converted") : "refused");
    std::abort();
  }
  return 0;
}
