#include "support/ort_timer.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "support/child_process.h"
#include "support/work_folder.h"

namespace bench {

std::filesystem::path write_ort_feeds(const std::filesystem::path& folder, const std::map<std::string, onnx_fp16::Tensor>& feeds) {
  std::filesystem::create_directories(folder);
  nlohmann::json description = {{"inputs", nlohmann::json::array()}};
  int index = 0;
  for (const auto& [name, tensor] : feeds) {
    const auto file = folder / (std::to_string(index++) + ".bin");
    std::ofstream out(file, std::ios::binary);
    const auto bytes = tensor.bytes();
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    description["inputs"].push_back({{"name", name}, {"dtype", tensor.dtype()}, {"dims", tensor.shape()},
                                     {"file", std::filesystem::absolute(file).string()}});
  }
  const auto json_path = folder / "feeds.json";
  std::ofstream(json_path) << description.dump() << '\n';
  return json_path;
}

OrtTiming time_in_ort(const std::filesystem::path& script, const std::filesystem::path& model,
                      const std::filesystem::path& feeds_json, int threads, int runs, int warmup,
                      const std::filesystem::path& log) {
  OrtTiming timing;
  // node from PATH is not what run_program takes (it execs a path): the usual Debian place first.
  const std::string node = std::filesystem::exists("/usr/bin/node") ? "/usr/bin/node" : "/usr/local/bin/node";
  const ChildUsage usage = run_program({node, script.string(), model.string(), feeds_json.string(), "--threads",
                                        std::to_string(threads), "--runs", std::to_string(runs), "--warmup",
                                        std::to_string(warmup)},
                                       log, std::nullopt);
  // The result is the last line of the log that parses as JSON (ORT may print warnings first).
  std::ifstream in(log);
  std::string line;
  nlohmann::json result;
  while (std::getline(in, line)) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) result = std::move(parsed);
  }
  if (result.contains("error")) {
    timing.error = result["error"].get<std::string>();
  } else if (!usage.succeeded() || !result.contains("median_ms")) {
    timing.error = "ort_time.js " + usage.describe_failure() + "; end of its output:\n" + tail_of_file(log, 10);
  } else {
    for (const auto& ms : result["run_ms"]) timing.run_seconds.push_back(ms.get<double>() / 1000);
    timing.median_seconds = result["median_ms"].get<double>() / 1000;
    timing.load_seconds = result["load_ms"].get<double>() / 1000;
    timing.first_seconds = result.value("first_ms", 0.0) / 1000;
    timing.ort_version = result.value("ort_version", "");
  }
  return timing;
}

}  // namespace bench
