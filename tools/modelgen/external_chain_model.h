// A model larger than memory: a chain of MatMuls (X[1,w] @ W_i[w,w]) whose float32 weights are
// written straight to an external data file, block by block, as they are generated. The model
// proto itself is a few kilobytes, so a 30 GB model is written with a few MB of memory: the
// test material for conversion in bounded memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace modelgen {

struct ExternalChainSpec {
  std::uint64_t weight_bytes = 8'000'000'000;
  int width = 4096;  // each weight is width x width float32 (64 MB at 4096)
  std::uint64_t seed = 1;
};

struct ExternalChainModel {
  int layers = 0;
  std::uint64_t weight_bytes = 0;  // whole layers: the target rounded up
};

// Writes `model_path` and `data_name` beside it (both replaced if present).
ExternalChainModel write_external_chain_model(const std::filesystem::path& model_path, const std::string& data_name,
                                              const ExternalChainSpec& spec);

}  // namespace modelgen
