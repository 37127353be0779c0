// Where the tests find the project's files and the CLI binary.
#pragma once

#include <filesystem>
#include <string>

namespace test_support {

std::filesystem::path source_dir();
std::filesystem::path cli_path();
// A fresh, empty folder for one test, under the build tree's temporary area.
std::filesystem::path fresh_temp_dir(const std::string& label);

}  // namespace test_support
