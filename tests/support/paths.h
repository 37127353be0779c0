// Where the tests find the project's files and the CLI binary.
#pragma once

#include <filesystem>
#include <string>

namespace test_support {

std::filesystem::path source_dir();
std::filesystem::path cli_path();
// A fresh, empty folder for one test, in a folder of this process under the system's temporary
// folder; removed with everything in it when the process exits (ONNX_FP16_KEEP_TEST_FILES=1 keeps it).
std::filesystem::path fresh_temp_dir(const std::string& label);

}  // namespace test_support
