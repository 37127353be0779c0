// Visiting every message of one type inside a model, wherever it sits: tensors in initializers,
// Constant attributes, sparse tensors, functions, training info, and sub-graphs of any depth.
// The walk follows protobuf reflection rather than a hand-written list of places, so a place
// that can hold a tensor cannot be forgotten.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <unordered_map>
#include <vector>

namespace onnx_fp16::io {

// Calls `visit` for every message of type `type` inside `root` (root included), parents before
// children. `visit` may change the message it is given; the walk then looks at its new fields.
void for_each_nested(google::protobuf::Message& root, const google::protobuf::Descriptor* type,
                     const std::function<void(google::protobuf::Message&)>& visit);
void for_each_nested(const google::protobuf::Message& root, const google::protobuf::Descriptor* type,
                     const std::function<void(const google::protobuf::Message&)>& visit);

// Typed forms: for_each_nested<onnx::TensorProto>(model, [](onnx::TensorProto& t) { ... }).
template <typename T, typename Visit>
void for_each_nested(google::protobuf::Message& root, Visit&& visit) {
  for_each_nested(root, T::descriptor(), [&](google::protobuf::Message& m) { visit(static_cast<T&>(m)); });
}
template <typename T, typename Visit>
void for_each_nested(const google::protobuf::Message& root, Visit&& visit) {
  for_each_nested(root, T::descriptor(), [&](const google::protobuf::Message& m) { visit(static_cast<const T&>(m)); });
}

// Answers "can a message of this type hold a `target` at some depth (or is it one)?", keeping
// the answers: walks ask it for every field they meet, and most types (TypeProto, value infos,
// opset ids...) can be skipped whole.
class ContainmentIndex {
 public:
  explicit ContainmentIndex(const google::protobuf::Descriptor* target) : target_(target) {}
  bool can_contain(const google::protobuf::Descriptor* container);
  // The message-typed fields of `type` that can hold a `target`, by field number. A walk
  // looks only at these, instead of listing every field a message has set: of a node, only its
  // attributes (listing the set fields of 16,000 nodes and their attributes through reflection
  // was 5% of converting a graph of that many small nodes, per walk).
  const std::vector<const google::protobuf::FieldDescriptor*>& fields_to_search(const google::protobuf::Descriptor* type);
  const google::protobuf::Descriptor* target() const { return target_; }

 private:
  const google::protobuf::Descriptor* target_;
  std::unordered_map<const google::protobuf::Descriptor*, bool> answers_;
  // References to the vectors stay valid as the map grows (its nodes never move).
  std::unordered_map<const google::protobuf::Descriptor*, std::vector<const google::protobuf::FieldDescriptor*>> fields_;
};

}  // namespace onnx_fp16::io
