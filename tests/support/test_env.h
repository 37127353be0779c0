// Small helpers every kind of test needs: switches from the environment, and the message of the
// error an action throws.
#pragma once

#include <functional>
#include <string>

namespace test_support {

// Whether environment variable `name` is set to something other than "" or "0"
// (ONNX_FP16_REQUIRE_ORT=1, ONNX_FP16_UPDATE_KNOWN_FAILURES=1, ...).
bool env_flag(const char* name);

// The message of the onnx_fp16::Error `action` throws; "(no error)" when it throws none.
std::string error_of(const std::function<void()>& action);

}  // namespace test_support
