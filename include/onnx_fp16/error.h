// The one exception type of the library: its message names the file, tensor or node at fault,
// so the CLI can print it as it is.
#pragma once

#include <stdexcept>
#include <string>

namespace onnx_fp16 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace onnx_fp16
