#include "modelgen/external_chain_model.h"

#include <onnx_fp16/model_io.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

#include "modelgen/builder.h"
#include "modelgen/weights.h"

namespace modelgen {

ExternalChainModel write_external_chain_model(const std::filesystem::path& model_path, const std::string& data_name,
                                              const ExternalChainSpec& spec) {
  const std::uint64_t w = static_cast<std::uint64_t>(spec.width);
  const std::uint64_t layer_bytes = w * w * sizeof(float);
  ExternalChainModel result;
  result.layers = static_cast<int>((spec.weight_bytes + layer_bytes - 1) / layer_bytes);
  result.weight_bytes = layer_bytes * static_cast<std::uint64_t>(result.layers);

  onnx::ModelProto model = make_model();
  GraphBuilder g(model.mutable_graph());
  g.input("X", onnx::TensorProto::FLOAT, {1, spec.width});
  const std::filesystem::path data_path = model_path.parent_path() / data_name;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> data(std::fopen(data_path.c_str(), "wb"), &std::fclose);
  if (!data) throw std::runtime_error("cannot write " + data_path.string());

  // One row block of 4 MiB at a time: memory stays flat whatever the size.
  std::vector<float> block(1 << 20);
  std::string previous = "X";
  for (int layer = 0; layer < result.layers; ++layer) {
    const std::string name = "W" + std::to_string(layer);
    onnx::TensorProto& tensor = *model.mutable_graph()->add_initializer();
    tensor.set_name(name);
    tensor.set_data_type(onnx::TensorProto::FLOAT);
    tensor.add_dims(spec.width);
    tensor.add_dims(spec.width);
    tensor.set_data_location(onnx::TensorProto::EXTERNAL);
    const auto add = [&](const char* key, const std::string& value) {
      auto* entry = tensor.add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    };
    add("location", data_name);
    add("offset", std::to_string(layer_bytes * static_cast<std::uint64_t>(layer)));
    add("length", std::to_string(layer_bytes));
    const std::uint64_t seed = seed_for(name, spec.seed);
    for (std::uint64_t done = 0, index = 0; done < layer_bytes; ++index) {
      const std::size_t values = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), (layer_bytes - done) / 4));
      // Scaled so activations neither vanish nor explode along the chain.
      fill_uniform(std::span<float>(block.data(), values), seed + index, 1.7f / static_cast<float>(spec.width));
      if (std::fwrite(block.data(), sizeof(float), values, data.get()) != values) {
        throw std::runtime_error("cannot write " + data_path.string() + " (disk full?)");
      }
      done += values * sizeof(float);
    }
    const std::string out = layer + 1 == result.layers ? "Y" : "h" + std::to_string(layer);
    g.node("MatMul", {previous, name}, {out}, "matmul_" + std::to_string(layer));
    previous = out;
  }
  g.output("Y", onnx::TensorProto::FLOAT, {1, spec.width});
  if (std::fflush(data.get()) != 0) throw std::runtime_error("cannot write " + data_path.string() + " (disk full?)");
  onnx_fp16::save_model(model, model_path);  // the tensors are external already: a small file
  return result;
}

}  // namespace modelgen
