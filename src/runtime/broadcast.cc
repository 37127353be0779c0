#include "runtime/broadcast.h"

#include <algorithm>

#include "onnx_fp16/error.h"

namespace onnx_fp16::runtime {

namespace {

std::string shapes_text(std::span<const Shape> shapes) {
  std::string text;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    if (i > 0) text += i + 1 == shapes.size() ? " and " : ", ";
    text += shape_to_string(shapes[i]);
  }
  return text;
}

// Input dimension d of `shape` right-aligned to `rank` dimensions (1 where it has none).
std::int64_t aligned_dim(const Shape& shape, std::size_t rank, std::size_t d) {
  const std::size_t pad = rank - shape.size();
  return d < pad ? 1 : shape[d - pad];
}

}  // namespace

Shape broadcast_shapes(std::span<const Shape> shapes) {
  std::size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  Shape result(rank, 1);
  for (std::size_t d = 0; d < rank; ++d) {
    for (const auto& s : shapes) {
      const std::int64_t dim = aligned_dim(s, rank, d);
      if (dim == 1) continue;
      if (result[d] == 1) {
        result[d] = dim;
      } else if (result[d] != dim) {
        throw Error("shapes " + shapes_text(shapes) + " cannot be broadcast together");
      }
    }
  }
  return result;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const Shape shapes[] = {a, b};
  return broadcast_shapes(shapes);
}

Shape legacy_broadcast_shape(const Shape& a, const Shape& b, bool broadcast, std::optional<std::int64_t> axis) {
  if (!broadcast) {
    if (a != b) {
      throw Error("shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                  " differ and the node does not set broadcast=1 (opset < 7)");
    }
    return b;
  }
  if (b.size() > a.size()) {
    throw Error("cannot broadcast " + shape_to_string(b) + " onto " + shape_to_string(a) + " (opset < 7)");
  }
  const auto start = axis.has_value() ? (*axis < 0 ? *axis + static_cast<std::int64_t>(a.size()) : *axis)
                                      : static_cast<std::int64_t>(a.size() - b.size());
  if (start < 0 || start + b.size() > a.size()) {
    throw Error("broadcast axis " + std::to_string(axis.value_or(start)) + " does not place " + shape_to_string(b) +
                " inside " + shape_to_string(a));
  }
  Shape padded(a.size(), 1);
  for (std::size_t i = 0; i < b.size(); ++i) {
    const std::int64_t dim = b[i];
    if (dim != 1 && dim != a[start + i]) {
      throw Error("cannot broadcast " + shape_to_string(b) + " onto " + shape_to_string(a) + " at axis " +
                  std::to_string(start));
    }
    padded[start + i] = dim;
  }
  return padded;
}

BroadcastLayout::BroadcastLayout(std::span<const Shape> inputs) : output_shape_(broadcast_shapes(inputs)) {
  plan(inputs);
}

BroadcastLayout::BroadcastLayout(std::span<const Shape> inputs, const Shape& output) : output_shape_(output) {
  for (const auto& s : inputs) {
    const Shape pair[] = {s, output};
    if (s.size() > output.size() || broadcast_shapes(pair) != output) {
      throw Error("shape " + shape_to_string(s) + " cannot be broadcast to " + shape_to_string(output));
    }
  }
  plan(inputs);
}

void BroadcastLayout::plan(std::span<const Shape> inputs) {
  output_size_ = element_count(output_shape_);
  const std::size_t rank = output_shape_.size();
  const std::size_t count = inputs.size();
  // Keep the output dimensions that are not 1, each with which inputs repeat along it; merge
  // neighbours that every input treats alike (both repeated or both read), since those walk
  // like one longer dimension.
  std::vector<std::int64_t> dims;
  std::vector<std::vector<bool>> repeated;  // per merged dim, per input
  for (std::size_t d = 0; d < rank; ++d) {
    const std::int64_t dim = output_shape_[d];
    if (dim == 1) continue;
    std::vector<bool> repeats(count);
    for (std::size_t k = 0; k < count; ++k) repeats[k] = aligned_dim(inputs[k], rank, d) == 1;
    if (!dims.empty() && repeated.back() == repeats) {
      dims.back() *= dim;
    } else {
      dims.push_back(dim);
      repeated.push_back(std::move(repeats));
    }
  }
  dims_ = dims;
  strides_.assign(count, std::vector<std::int64_t>(dims.size(), 0));
  for (std::size_t k = 0; k < count; ++k) {
    std::int64_t stride = 1;
    for (std::size_t d = dims.size(); d-- > 0;) {
      if (repeated[d][k]) continue;
      strides_[k][d] = stride;
      stride *= dims[d];
    }
  }
}

}  // namespace onnx_fp16::runtime
