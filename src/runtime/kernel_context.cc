#include "runtime/kernel.h"

#include "onnx_fp16/error.h"

namespace onnx_fp16::runtime {

namespace {

using Attr = onnx::AttributeProto;

// Models written before IR version 3 may leave `type` unset; the field that holds the value
// says what it is.
Attr::AttributeType effective_type(const Attr& attribute) {
  if (attribute.type() != Attr::UNDEFINED) return attribute.type();
  if (attribute.has_f()) return Attr::FLOAT;
  if (attribute.has_i()) return Attr::INT;
  if (attribute.has_s()) return Attr::STRING;
  if (attribute.has_t()) return Attr::TENSOR;
  if (attribute.has_g()) return Attr::GRAPH;
  if (attribute.floats_size() > 0) return Attr::FLOATS;
  if (attribute.ints_size() > 0) return Attr::INTS;
  if (attribute.strings_size() > 0) return Attr::STRINGS;
  if (attribute.tensors_size() > 0) return Attr::TENSORS;
  if (attribute.graphs_size() > 0) return Attr::GRAPHS;
  return Attr::UNDEFINED;
}

std::string type_name(Attr::AttributeType type) { return Attr::AttributeType_Name(type); }

}  // namespace

const onnx::AttributeProto* KernelContext::find_attribute(std::string_view name) const {
  for (const auto& attribute : node().attribute()) {
    if (attribute.name() == name) return &attribute;
  }
  return nullptr;
}

bool KernelContext::has_attribute(std::string_view name) const { return find_attribute(name) != nullptr; }

const onnx::AttributeProto* KernelContext::attribute_of_type(std::string_view name, Attr::AttributeType type,
                                                             bool required) const {
  const auto* attribute = find_attribute(name);
  if (attribute == nullptr) {
    if (required) fail("missing required attribute '" + std::string(name) + "'");
    return nullptr;
  }
  const auto actual = effective_type(*attribute);
  // An empty list attribute carries no field to infer from; treat it as the list asked for.
  const bool empty_list = actual == Attr::UNDEFINED &&
                          (type == Attr::INTS || type == Attr::FLOATS || type == Attr::STRINGS);
  if (actual != type && !empty_list) {
    fail("attribute '" + std::string(name) + "' is " + type_name(actual) + ", expected " + type_name(type));
  }
  return attribute;
}

std::int64_t KernelContext::attr_int(std::string_view name) const {
  return attribute_of_type(name, Attr::INT, true)->i();
}
std::int64_t KernelContext::attr_int(std::string_view name, std::int64_t fallback) const {
  const auto* a = attribute_of_type(name, Attr::INT, false);
  return a != nullptr ? a->i() : fallback;
}
std::vector<std::int64_t> KernelContext::attr_ints(std::string_view name) const {
  const auto* a = attribute_of_type(name, Attr::INTS, true);
  return {a->ints().begin(), a->ints().end()};
}
std::vector<std::int64_t> KernelContext::attr_ints(std::string_view name, std::vector<std::int64_t> fallback) const {
  const auto* a = attribute_of_type(name, Attr::INTS, false);
  return a != nullptr ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : std::move(fallback);
}
float KernelContext::attr_float(std::string_view name) const {
  return attribute_of_type(name, Attr::FLOAT, true)->f();
}
float KernelContext::attr_float(std::string_view name, float fallback) const {
  const auto* a = attribute_of_type(name, Attr::FLOAT, false);
  return a != nullptr ? a->f() : fallback;
}
std::vector<float> KernelContext::attr_floats(std::string_view name) const {
  const auto* a = attribute_of_type(name, Attr::FLOATS, true);
  return {a->floats().begin(), a->floats().end()};
}
std::vector<float> KernelContext::attr_floats(std::string_view name, std::vector<float> fallback) const {
  const auto* a = attribute_of_type(name, Attr::FLOATS, false);
  return a != nullptr ? std::vector<float>(a->floats().begin(), a->floats().end()) : std::move(fallback);
}
std::string KernelContext::attr_string(std::string_view name) const {
  return attribute_of_type(name, Attr::STRING, true)->s();
}
std::string KernelContext::attr_string(std::string_view name, std::string fallback) const {
  const auto* a = attribute_of_type(name, Attr::STRING, false);
  return a != nullptr ? a->s() : std::move(fallback);
}
std::vector<std::string> KernelContext::attr_strings(std::string_view name) const {
  const auto* a = attribute_of_type(name, Attr::STRINGS, true);
  return {a->strings().begin(), a->strings().end()};
}
std::vector<std::string> KernelContext::attr_strings(std::string_view name, std::vector<std::string> fallback) const {
  const auto* a = attribute_of_type(name, Attr::STRINGS, false);
  return a != nullptr ? std::vector<std::string>(a->strings().begin(), a->strings().end()) : std::move(fallback);
}

Tensor KernelContext::attr_tensor(std::string_view name) const {
  attribute_of_type(name, Attr::TENSOR, true);
  if (parts_.attribute_tensors != nullptr) {
    const auto it = parts_.attribute_tensors->find(std::string(name));
    if (it != parts_.attribute_tensors->end()) return it->second;
  }
  return Tensor::from_proto(find_attribute(name)->t());
}

const onnx::GraphProto& KernelContext::attr_graph(std::string_view name) const {
  return attribute_of_type(name, Attr::GRAPH, true)->g();
}

const Tensor& KernelContext::input(std::size_t i) const {
  if (!has_input(i)) {
    fail("input " + std::to_string(i) + " is required but " +
         (i < parts_.inputs.size() ? std::string("empty") : "not given (the node lists " +
                                                                 std::to_string(parts_.inputs.size()) + ")"));
  }
  return *parts_.inputs[i];
}

bool KernelContext::output_wanted(std::size_t i) const {
  return i < static_cast<std::size_t>(node().output_size()) && !node().output(static_cast<int>(i)).empty();
}

void KernelContext::set_output(std::size_t i, Tensor value) {
  if (i >= parts_.outputs->size()) {
    fail("output " + std::to_string(i) + " does not exist (the node lists " + std::to_string(parts_.outputs->size()) +
         ")");
  }
  if (!value.defined()) fail("output " + std::to_string(i) + " set to no value");
  (*parts_.outputs)[i] = std::move(value);
}

std::vector<Tensor> KernelContext::run_subgraph(std::string_view attribute, std::vector<Tensor> inputs) const {
  if (parts_.subgraphs == nullptr) fail("cannot run subgraph '" + std::string(attribute) + "' here");
  return parts_.subgraphs->run(attribute, std::move(inputs));
}

void KernelContext::fail(const std::string& message) const { throw Error(message); }

bool KernelContext::inputs_are_constant(std::span<const std::size_t> inputs) const {
  if (parts_.input_slots == nullptr || parts_.constant_slots == nullptr) return false;
  for (const std::size_t i : inputs) {
    if (has_input(i)) {
      // Read rounded: other values than the constant's, which must not be kept as its.
      if (i >= parts_.input_slots->size() || input_rounding(i) != nullptr) return false;
      const int slot = (*parts_.input_slots)[i];
      if (slot < 0 || static_cast<std::size_t>(slot) >= parts_.constant_slots->size() || !(*parts_.constant_slots)[slot]) {
        return false;
      }
    } else if (i < static_cast<std::size_t>(node().input_size()) && !node().input(static_cast<int>(i)).empty()) {
      return false;  // listed but not given: a preparer's non-constant input
    }
  }
  return true;
}

bool KernelContext::same_sources(std::span<const std::size_t> inputs, const std::vector<Tensor>& sources) const {
  if (sources.size() != inputs.size()) return false;
  std::size_t k = 0;
  for (const std::size_t i : inputs) {
    const Tensor& source = sources[k++];
    if (!has_input(i)) {
      if (source.defined()) return false;
      continue;
    }
    // The source is held, so its buffer cannot have been freed and reused for another tensor.
    const Tensor& given = *parts_.inputs[i];
    if (!source.defined() || source.dtype() != given.dtype() || source.shape() != given.shape() ||
        source.bytes().data() != given.bytes().data()) {
      return false;
    }
  }
  return true;
}

}  // namespace onnx_fp16::runtime
