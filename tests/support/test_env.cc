#include "support/test_env.h"

#include <onnx_fp16/error.h>

#include <cstdlib>
#include <cstring>

namespace test_support {

bool env_flag(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const onnx_fp16::Error& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace test_support
