#include "support/ort_client.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "support/base64.h"
#include "support/child_process.h"
#include "support/paths.h"
#include "support/tensor_data.h"
#include "support/test_env.h"

namespace test_support {
namespace {

using nlohmann::json;

// A server that is not ready in this time is broken; loading ORT takes well under a second.
constexpr std::chrono::seconds kStartTimeout{60};

const char* optimization_name(GraphOptimization level) {
  switch (level) {
    case GraphOptimization::Disabled: return "disabled";
    case GraphOptimization::Basic: return "basic";
    case GraphOptimization::Extended: return "extended";
    case GraphOptimization::All: return "all";
  }
  return "all";
}

json encode_tensor(const onnx::TensorProto& tensor) {
  json wire = {{"name", tensor.name()}, {"dtype", tensor.data_type()}, {"dims", json::array()}};
  for (const auto dim : tensor.dims()) wire["dims"].push_back(dim);
  if (tensor.data_type() == onnx::TensorProto::STRING) {
    wire["data"] = json::array();
    for (const auto& text : tensor.string_data()) wire["data"].push_back(base64_encode(text));
  } else {
    wire["data"] = base64_encode(raw_bytes(tensor));
  }
  return wire;
}

onnx::TensorProto decode_tensor(const json& wire) {
  const int dtype = wire.at("dtype").get<int>();
  const auto dims = wire.at("dims").get<std::vector<std::int64_t>>();
  const auto name = wire.at("name").get<std::string>();
  if (dtype == onnx::TensorProto::STRING) {
    onnx::TensorProto tensor = make_raw_tensor(name, dtype, dims, "");
    tensor.clear_raw_data();
    for (const auto& text : wire.at("data")) tensor.add_string_data(base64_decode(text.get<std::string>()));
    return tensor;
  }
  return make_raw_tensor(name, dtype, dims, base64_decode(wire.at("data").get<std::string>()));
}


}  // namespace

struct OrtClient::Reply {
  json body;          // the server's answer, on success
  std::string error;  // the request's error (from the server, or a crash/timeout)
};

OrtClient::OrtClient(Options options) : options_(options) {}
OrtClient::~OrtClient() = default;

OrtClient& OrtClient::shared() {
  static OrtClient client;
  return client;
}

void OrtClient::ensure_started() {
  if (server_ && server_->alive()) return;
  const auto availability = ort_availability();
  if (!availability.installed) throw std::runtime_error(availability.message);
  const auto script = source_dir() / "tests" / "ort" / "ort_server.js";
  try {
    server_ = std::make_unique<LineChildProcess>(std::vector<std::string>{"node", script.string()});
    const auto line = server_->read_line(LineChildProcess::Clock::now() + kStartTimeout);
    if (!line) throw ChildProcessError("was not ready within " + std::to_string(kStartTimeout.count()) + " s");
    const json hello = json::parse(*line);
    if (hello.contains("fatal")) throw ChildProcessError(hello["fatal"].get<std::string>());
    ort_version_ = hello.at("ort_version").get<std::string>();
  } catch (const std::exception& e) {
    server_.reset();
    throw std::runtime_error("cannot start the ORT server (node " + script.string() + "): " + e.what());
  }
}

OrtClient::Reply OrtClient::request(const std::string& op, const std::filesystem::path& model,
                                    GraphOptimization optimization, const std::vector<onnx::TensorProto>* inputs) {
  std::lock_guard lock(mutex_);
  ensure_started();
  const long long id = next_id_++;
  json message = {{"id", id}, {"op", op}, {"model", std::filesystem::absolute(model).string()},
                  {"optimization", optimization_name(optimization)}};
  if (inputs) {
    message["inputs"] = json::array();
    try {
      for (const auto& tensor : *inputs) message["inputs"].push_back(encode_tensor(tensor));
    } catch (const std::exception& e) {
      return {{}, std::string("cannot send the inputs: ") + e.what()};
    }
  }
  const auto deadline = LineChildProcess::Clock::now() + options_.timeout;
  try {
    server_->write_line(message.dump(), deadline);
    for (;;) {
      const auto line = server_->read_line(deadline);
      if (!line) {
        server_->kill();
        return {{}, "ORT did not answer within " + std::to_string(options_.timeout.count()) + " ms (server killed)"};
      }
      json reply = json::parse(*line, nullptr, /*allow_exceptions=*/false);
      if (reply.is_discarded() || reply.value("id", json()) != json(id)) {
        // Not ours: something in the server printed to stdout. Show it, keep waiting.
        std::cerr << "ort_server stdout: " << *line << '\n';
        continue;
      }
      if (reply.contains("error")) return {{}, reply["error"].get<std::string>()};
      return {std::move(reply), ""};
    }
  } catch (const ChildProcessError& e) {
    server_.reset();  // restarted by the next request
    return {{}, std::string("the ORT server failed: ") + e.what()};
  }
}

OrtResult OrtClient::run(const std::filesystem::path& model, const std::vector<onnx::TensorProto>& inputs) {
  return run(model, inputs, options_.optimization);
}

OrtResult OrtClient::run(const std::filesystem::path& model, const std::vector<onnx::TensorProto>& inputs,
                         GraphOptimization optimization) {
  Reply reply = request("run", model, optimization, &inputs);
  OrtResult result;
  if (!reply.error.empty()) {
    result.error = std::move(reply.error);
    return result;
  }
  try {
    for (const auto& wire : reply.body.at("outputs")) result.outputs.push_back(decode_tensor(wire));
  } catch (const std::exception& e) {
    result.outputs.clear();
    result.error = std::string("malformed reply from the ORT server: ") + e.what();
  }
  return result;
}

std::optional<std::string> OrtClient::load(const std::filesystem::path& model) {
  return load(model, options_.optimization);
}

std::optional<std::string> OrtClient::load(const std::filesystem::path& model, GraphOptimization optimization) {
  Reply reply = request("load", model, optimization, nullptr);
  if (!reply.error.empty()) return reply.error;
  return std::nullopt;
}

std::string OrtClient::ort_version() {
  std::lock_guard lock(mutex_);
  ensure_started();
  return ort_version_;
}

void OrtClient::set_timeout(std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  options_.timeout = timeout;
}

OrtAvailability ort_availability() {
  OrtAvailability availability;
  const auto package = source_dir() / "node_modules" / "onnxruntime-node";
  availability.installed = std::filesystem::exists(package / "package.json");
  availability.required = env_flag("ONNX_FP16_REQUIRE_ORT");
  if (!availability.installed) {
    availability.message = "ONNX Runtime is not installed (no " + package.string() + "); run `npm ci --onnxruntime-node-install=skip` in " +
                           source_dir().string() +
                           (availability.required ? " (ONNX_FP16_REQUIRE_ORT is set, so this is a failure)" : "");
  }
  return availability;
}

}  // namespace test_support
