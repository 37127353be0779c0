// Fuzz target: the model loader (external data resolution included) and the float16 conversion,
// then the writer. Input: the bytes of an .onnx file.
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/model_io.h>

#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onnx_fp16;
  try {
    onnx::ModelProto model = load_model(fuzz::write_input("model.onnx", data, size));
    Float16Options options;
    options.keep_io_types = size % 2 == 1;  // both ways, chosen by the input
    convert_float_to_float16(model, options);
    save_model(model, fuzz::scratch_folder() / "converted.onnx");
  } catch (const Error&) {
    // a clear refusal: the expected answer to a bad model
  }
  return 0;
}
