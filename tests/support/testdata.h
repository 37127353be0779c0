// Debian's libonnx-testdata: ONNX's backend test cases, each a folder with model.onnx and
// test_data_set_N/{input_K.pb, output_K.pb} (TensorProto files).
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <string>
#include <vector>

namespace test_support {

// /usr/share/libonnx-testdata/data, or $ONNX_FP16_TESTDATA_DIR when set.
std::filesystem::path testdata_root();
// The folders of small cases: node, simple, pytorch-converted, pytorch-operator.
const std::vector<std::string>& testdata_folders();

struct TestDataCase {
  std::string folder;              // "node"
  std::string name;                // "test_add"
  std::filesystem::path dir;       // the case's folder
  std::vector<std::filesystem::path> data_sets;  // test_data_set_0, _1, ... in numeric order

  std::filesystem::path model() const { return dir / "model.onnx"; }
  std::string id() const { return folder + "/" + name; }  // "node/test_add"
};

// The cases of one folder, sorted by name; empty when the folder does not exist.
std::vector<TestDataCase> list_testdata_cases(const std::string& folder);

struct TestDataSample {
  std::vector<onnx::TensorProto> inputs;   // input_0.pb, input_1.pb, ...: the graph inputs in order
  std::vector<onnx::TensorProto> outputs;  // output_0.pb, ...: the graph outputs in order
};
// Reads a test_data_set_N folder. Throws std::runtime_error for a file that is not a TensorProto.
TestDataSample read_test_data_set(const std::filesystem::path& data_set);

// The graph inputs test data feeds, in order: those without an initializer of their name
// (input_<N>.pb files number only these).
std::vector<std::string> fed_input_names(const onnx::GraphProto& graph);

onnx::TensorProto read_tensor_file(const std::filesystem::path& path);
// The model as stored, parsed with protobuf only: for harness checks that must not depend on
// the library's own loader.
onnx::ModelProto read_model_file(const std::filesystem::path& path);

}  // namespace test_support
