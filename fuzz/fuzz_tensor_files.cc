// Fuzz target: the tensor file readers (.npy, .npz with its zip container, .pb TensorProto). The
// same bytes go to each reader, under the extension it expects.
#include <onnx_fp16/error.h>
#include <onnx_fp16/tensor_io.h>

#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace onnx_fp16;
  for (const char* name : {"input.npy", "input.npz", "input.pb"}) {
    try {
      read_tensors(fuzz::write_input(name, data, size));
    } catch (const Error&) {
      // a clear refusal: the expected answer to a bad file
    }
  }
  return 0;
}
