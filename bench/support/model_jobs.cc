#include "support/model_jobs.h"

#include <onnx_fp16/convert.h>
#include <onnx_fp16/model_io.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::int64_t count_nodes(const onnx::GraphProto& graph) {
  std::int64_t count = graph.node_size();
  for (const auto& node : graph.node()) {
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_g()) count += count_nodes(attribute.g());
      for (const auto& subgraph : attribute.graphs()) count += count_nodes(subgraph);
    }
  }
  return count;
}

ModelFacts facts_of(const onnx::ModelProto& model) {
  return {count_nodes(model.graph()), onnx_fp16::initializer_bytes(model)};
}

nlohmann::json facts_json(const ModelFacts& facts) {
  return {{"nodes", facts.nodes}, {"weight_bytes", facts.weight_bytes}};
}

ModelFacts facts_from_json(const nlohmann::json& json) {
  return {json.at("nodes").get<std::int64_t>(), json.at("weight_bytes").get<std::uint64_t>()};
}

// Runs `body` in a child and parses the JSON it returns; a failed child becomes an exception.
nlohmann::json run_json_job(const std::string& what, const std::function<nlohmann::json()>& body,
                            std::optional<int> cpu, ChildUsage& usage) {
  const FunctionResult result = run_function([&] { return body().dump(); }, cpu);
  usage = result.usage;
  if (!result.usage.succeeded()) throw std::runtime_error(what + " failed: " + result.usage.describe_failure());
  return nlohmann::json::parse(result.output);
}

}  // namespace

GeneratedModel generate_in_child(const std::function<onnx::ModelProto()>& build, const std::filesystem::path& path) {
  GeneratedModel generated;
  const nlohmann::json json = run_json_job("generating " + path.string(), [&] {
    const auto build_start = Clock::now();
    const onnx::ModelProto model = build();
    const double build_seconds = seconds_since(build_start);
    const auto save_start = Clock::now();
    onnx_fp16::save_model(model, path);
    return nlohmann::json{{"facts", facts_json(facts_of(model))},
                          {"build_seconds", build_seconds},
                          {"save_seconds", seconds_since(save_start)}};
  }, std::nullopt, generated.usage);
  generated.facts = facts_from_json(json.at("facts"));
  generated.build_seconds = json.at("build_seconds").get<double>();
  generated.save_seconds = json.at("save_seconds").get<double>();
  return generated;
}

ModelFacts inspect_in_child(const std::filesystem::path& path) {
  ChildUsage usage;
  const nlohmann::json json = run_json_job("inspecting " + path.string(), [&] {
    return facts_json(facts_of(onnx_fp16::load_model(path)));
  }, std::nullopt, usage);
  return facts_from_json(json);
}

InProcessSplit convert_in_child(const std::filesystem::path& input, const std::filesystem::path& output,
                                std::optional<int> cpu) {
  InProcessSplit split;
  const nlohmann::json json = run_json_job("converting " + input.string() + " in process", [&] {
    auto start = Clock::now();
    onnx::ModelProto model = onnx_fp16::load_model(input);
    const double load_seconds = seconds_since(start);
    start = Clock::now();
    const onnx_fp16::ConversionReport report = onnx_fp16::convert_float_to_float16(model);
    const double convert_seconds = seconds_since(start);
    start = Clock::now();
    onnx_fp16::save_model(model, output);
    return nlohmann::json{{"load_seconds", load_seconds},
                          {"convert_seconds", convert_seconds},
                          {"save_seconds", seconds_since(start)},
                          {"converted_nodes", report.converted_nodes},
                          {"kept_nodes", report.kept_nodes.size()},
                          {"casts_added", report.casts_added}};
  }, cpu, split.usage);
  split.load_seconds = json.at("load_seconds").get<double>();
  split.convert_seconds = json.at("convert_seconds").get<double>();
  split.save_seconds = json.at("save_seconds").get<double>();
  split.converted_nodes = json.at("converted_nodes").get<std::size_t>();
  split.kept_nodes = json.at("kept_nodes").get<std::size_t>();
  split.casts_added = json.at("casts_added").get<std::size_t>();
  return split;
}

}  // namespace bench
