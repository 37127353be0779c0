#include "modelgen/weights.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace modelgen {
namespace {

static_assert(std::endian::native == std::endian::little,
              "raw_data is little-endian; the float bytes are copied as they lie in memory");

// splitmix64's finaliser: a strong 64-bit mix, so consecutive counters give independent bits.
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// 23 random bits as the mantissa of a float in [1, 2): no division, no int-to-float conversion.
float unit_from_bits(std::uint32_t bits) {
  return std::bit_cast<float>((bits >> 9) | 0x3F800000u) - 1.5f;  // [-0.5, 0.5)
}

std::int64_t element_count(const std::vector<std::int64_t>& dims) {
  std::int64_t count = 1;
  for (auto d : dims) count *= d;
  return count;
}

onnx::TensorProto& new_tensor(onnx::GraphProto& graph, const std::string& name,
                              const std::vector<std::int64_t>& dims, int data_type) {
  auto* tensor = graph.add_initializer();
  tensor->set_name(name);
  tensor->set_data_type(data_type);
  for (auto d : dims) tensor->add_dims(d);
  return *tensor;
}

// Writes `count` floats produced by `next` into `raw` through a small stack buffer: the string's
// storage is chars, so it is written with memcpy rather than through a float pointer.
template <typename Next>
void write_floats(std::string& raw, std::int64_t count, Next next) {
  raw.resize(static_cast<std::size_t>(count) * sizeof(float));
  std::array<float, 4096> chunk;
  std::size_t offset = 0;
  for (std::int64_t done = 0; done < count;) {
    const auto n = static_cast<std::size_t>(std::min<std::int64_t>(chunk.size(), count - done));
    next(std::span<float>(chunk.data(), n), done);
    std::memcpy(raw.data() + offset, chunk.data(), n * sizeof(float));
    offset += n * sizeof(float);
    done += static_cast<std::int64_t>(n);
  }
}

// Elements [first, first + out.size()) of the value stream of `seed`; `first` must be even
// (values come in pairs). Filling a tensor chunk by chunk thus gives the same values as one call.
void fill_stream(std::span<float> out, std::uint64_t seed, std::uint64_t first, float scale) {
  const float width = 2.0f * scale;
  const std::uint64_t base = mix64(seed);
  const std::uint64_t first_pair = first / 2;
  std::size_t i = 0;
  // One 64-bit mix gives two floats.
  for (; i + 1 < out.size(); i += 2) {
    const std::uint64_t bits = mix64(base + first_pair + i / 2);
    out[i] = unit_from_bits(static_cast<std::uint32_t>(bits)) * width;
    out[i + 1] = unit_from_bits(static_cast<std::uint32_t>(bits >> 32)) * width;
  }
  if (i < out.size()) {
    out[i] = unit_from_bits(static_cast<std::uint32_t>(mix64(base + first_pair + i / 2))) * width;
  }
}

}  // namespace

void fill_uniform(std::span<float> out, std::uint64_t seed, float scale) {
  fill_stream(out, seed, 0, scale);
}

std::uint64_t seed_for(std::string_view name, std::uint64_t model_seed) {
  std::uint64_t hash = 0xCBF29CE484222325ull;  // FNV-1a
  for (unsigned char c : name) hash = (hash ^ c) * 0x100000001B3ull;
  return mix64(hash ^ model_seed);
}

onnx::TensorProto& add_random_initializer(onnx::GraphProto& graph, const std::string& name,
                                          const std::vector<std::int64_t>& dims, float scale,
                                          std::uint64_t model_seed) {
  auto& tensor = new_tensor(graph, name, dims, onnx::TensorProto::FLOAT);
  const std::uint64_t seed = seed_for(name, model_seed);
  write_floats(*tensor.mutable_raw_data(), element_count(dims), [&](std::span<float> chunk, std::int64_t first) {
    fill_stream(chunk, seed, static_cast<std::uint64_t>(first), scale);  // chunks are even-sized
  });
  return tensor;
}

onnx::TensorProto& add_filled_initializer(onnx::GraphProto& graph, const std::string& name,
                                          const std::vector<std::int64_t>& dims, float value) {
  auto& tensor = new_tensor(graph, name, dims, onnx::TensorProto::FLOAT);
  write_floats(*tensor.mutable_raw_data(), element_count(dims),
               [&](std::span<float> chunk, std::int64_t) { std::fill(chunk.begin(), chunk.end(), value); });
  return tensor;
}

onnx::TensorProto& add_int64_initializer(onnx::GraphProto& graph, const std::string& name,
                                         const std::vector<std::int64_t>& dims,
                                         const std::vector<std::int64_t>& values) {
  auto& tensor = new_tensor(graph, name, dims, onnx::TensorProto::INT64);
  for (auto v : values) tensor.add_int64_data(v);
  return tensor;
}

onnx::TensorProto& add_scalar_initializer(onnx::GraphProto& graph, const std::string& name, float value) {
  return add_filled_initializer(graph, name, {}, value);
}

}  // namespace modelgen
