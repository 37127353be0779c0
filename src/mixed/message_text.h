// Numbers in the search's messages (errors, screen triggers, tolerances): 4 significant digits.
#pragma once

#include <sstream>
#include <string>

namespace onnx_fp16::mixed {

inline std::string message_number(double value) {
  std::ostringstream text;
  text.precision(4);
  text << value;
  return text.str();
}

}  // namespace onnx_fp16::mixed
