// Model files as bytes, for tests that compare what was written: deterministic serialisation,
// byte comparison that does not print megabytes, raw parsing without the library's loader.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <set>
#include <string>

namespace test_support {

// The model's bytes as save_model writes them (deterministic protobuf serialisation).
std::string serialized(const onnx::ModelProto& model);
// Compares byte strings; on a difference, says the sizes and the first differing byte.
::testing::AssertionResult same_bytes(const std::string& actual, const std::string& expected);
std::string read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);
// The saved protobuf as it is on disk, external references unresolved.
onnx::ModelProto parse_raw(const std::filesystem::path& path);
// The names in `folder` (to see that no temporary or data file was left behind).
std::set<std::string> folder_entries(const std::filesystem::path& folder);
// The value of an external_data entry, or "<missing>".
std::string external_entry(const onnx::TensorProto& tensor, const std::string& key);

}  // namespace test_support
