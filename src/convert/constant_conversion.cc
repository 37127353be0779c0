#include "convert/constant_conversion.h"

#include <onnx_fp16/error.h>

#include "io/deferred_tensor.h"

#include <cstring>
#include <vector>

namespace onnx_fp16::convert {

namespace {

std::vector<float> read_floats(const onnx::TensorProto& tensor) {
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    throw Error("tensor '" + tensor.name() + "' keeps its data in an external file that was not loaded");
  }
  std::vector<float> values;
  if (!tensor.raw_data().empty()) {
    values.resize(tensor.raw_data().size() / sizeof(float));
    std::memcpy(values.data(), tensor.raw_data().data(), values.size() * sizeof(float));
  } else {
    values.assign(tensor.float_data().begin(), tensor.float_data().end());
  }
  return values;
}

}  // namespace

std::size_t ConstantConverter::convert(onnx::TensorProto& tensor) const {
  if (tensor.data_type() != onnx::TensorProto::FLOAT) return 0;
  if (io::is_deferred(tensor)) {
    // Its bytes are still in the file: the save converts them on the way out, and counts
    // the values it clamps then.
    io::defer_conversion(tensor, target, clamp);
    return 0;
  }
  std::size_t clamped = 0;
  std::string converted;
  if (!tensor.raw_data().empty() && tensor.raw_data().size() % sizeof(float) == 0 &&
      reinterpret_cast<std::uintptr_t>(tensor.raw_data().data()) % alignof(float) == 0) {
    // The common, large case: convert straight from the raw bytes, no intermediate copy.
    const std::string& raw = tensor.raw_data();
    std::span<const float> in(reinterpret_cast<const float*>(raw.data()), raw.size() / sizeof(float));
    converted.resize(in.size() * sizeof(std::uint16_t));
    std::span<std::uint16_t> out(reinterpret_cast<std::uint16_t*>(converted.data()), in.size());
    if (target == onnx::TensorProto::FLOAT16) {
      clamped = half::floats_to_halves_clamped(in, out, clamp);
    } else {
      half::floats_to_bfloat16s(in, out);
    }
  } else {
    std::vector<float> values = read_floats(tensor);
    converted.resize(values.size() * sizeof(std::uint16_t));
    std::span<std::uint16_t> out(reinterpret_cast<std::uint16_t*>(converted.data()), values.size());
    if (target == onnx::TensorProto::FLOAT16) {
      clamped = half::floats_to_halves_clamped(values, out, clamp);
    } else {
      half::floats_to_bfloat16s(values, out);
    }
  }
  tensor.clear_float_data();
  tensor.set_data_type(target);
  tensor.mutable_raw_data()->swap(converted);
  return clamped;
}

std::size_t ConstantConverter::convert_constant_node(onnx::NodeProto& node) const {
  for (auto& attribute : *node.mutable_attribute()) {
    if (attribute.name() == "value" && attribute.has_t()) return convert(*attribute.mutable_t());
    if (attribute.name() == "value_float" || attribute.name() == "value_floats") {
      // The float attribute forms have no float16 spelling: becomes a `value` tensor.
      onnx::TensorProto tensor;
      tensor.set_data_type(onnx::TensorProto::FLOAT);
      if (attribute.name() == "value_float") {
        tensor.add_float_data(attribute.f());
      } else {
        tensor.add_dims(attribute.floats_size());
        for (float f : attribute.floats()) tensor.add_float_data(f);
      }
      std::size_t clamped = convert(tensor);
      attribute.Clear();
      attribute.set_name("value");
      attribute.set_type(onnx::AttributeProto::TENSOR);
      *attribute.mutable_t() = std::move(tensor);
      return clamped;
    }
  }
  return 0;
}

}  // namespace onnx_fp16::convert
