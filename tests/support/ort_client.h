// The tests' way to run a model in ONNX Runtime: a client of tests/ort/ort_server.js, one node
// process that serves every request of a test binary (starting node per model would cost far
// more than running it). See that script for the protocol.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace test_support {

class LineChildProcess;

enum class GraphOptimization { Disabled, Basic, Extended, All };

struct OrtResult {
  std::vector<onnx::TensorProto> outputs;  // every graph output, in graph order, in raw_data
  std::string error;                       // why the model did not load or run; empty on success
  bool ok() const { return error.empty(); }
};

class OrtClient {
 public:
  struct Options {
    GraphOptimization optimization = GraphOptimization::All;
    // A request that takes longer kills the server (it is restarted for the next request).
    std::chrono::milliseconds timeout = std::chrono::minutes(2);
  };

  explicit OrtClient(Options options);
  OrtClient() : OrtClient(Options{}) {}
  ~OrtClient();
  OrtClient(const OrtClient&) = delete;
  OrtClient& operator=(const OrtClient&) = delete;

  // Runs `model` on `inputs` (matched by TensorProto name to the graph inputs). Problems of the
  // model, its inputs or ORT come back in OrtResult::error, and so does a server crash or
  // timeout; only a server that cannot be started at all throws std::runtime_error.
  OrtResult run(const std::filesystem::path& model, const std::vector<onnx::TensorProto>& inputs);
  OrtResult run(const std::filesystem::path& model, const std::vector<onnx::TensorProto>& inputs,
                GraphOptimization optimization);
  // Creates (and releases) a session for `model`: the error, or nullopt when ORT accepts it.
  std::optional<std::string> load(const std::filesystem::path& model);
  std::optional<std::string> load(const std::filesystem::path& model, GraphOptimization optimization);

  // The onnxruntime-node version the server reports (starts the server).
  std::string ort_version();
  // For requests from now on: bigger models may need more than the default.
  void set_timeout(std::chrono::milliseconds timeout);

  // One client per test process, started on first use.
  static OrtClient& shared();

 private:
  struct Reply;
  Reply request(const std::string& op, const std::filesystem::path& model, GraphOptimization optimization,
                const std::vector<onnx::TensorProto>* inputs);
  void ensure_started();

  Options options_;
  std::mutex mutex_;
  std::unique_ptr<LineChildProcess> server_;
  std::string ort_version_;
  long long next_id_ = 1;
};

// Whether the tests can use ORT: it is installed (node_modules/onnxruntime-node in the source
// tree, from `npm ci --onnxruntime-node-install=skip`). Missing ORT is a skip, unless the
// environment sets ONNX_FP16_REQUIRE_ORT (to anything but "" or "0"), as CI does: then it is a
// failure.
struct OrtAvailability {
  bool installed = false;
  bool required = false;
  std::string message;  // why it is not usable, with the command that fixes it
};
OrtAvailability ort_availability();

}  // namespace test_support

// Put at the top of a test that needs ORT.
#define ONNX_FP16_REQUIRE_ORT_OR_SKIP()                                  \
  do {                                                                   \
    const auto ort_availability_ = ::test_support::ort_availability();   \
    if (!ort_availability_.installed) {                                  \
      if (ort_availability_.required) FAIL() << ort_availability_.message; \
      GTEST_SKIP() << ort_availability_.message;                         \
    }                                                                    \
  } while (false)
