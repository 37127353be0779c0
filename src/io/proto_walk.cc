#include "io/proto_walk.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace onnx_fp16::io {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

bool search_can_contain(const Descriptor* container, const Descriptor* target) {
  // Breadth-first over message-typed fields; message types are cyclic (graph -> node ->
  // attribute -> graph), hence the seen set.
  std::unordered_set<const Descriptor*> seen{container};
  std::vector<const Descriptor*> pending{container};
  while (!pending.empty()) {
    const Descriptor* type = pending.back();
    pending.pop_back();
    if (type == target) return true;
    for (int i = 0; i < type->field_count(); ++i) {
      const Descriptor* child = type->field(i)->message_type();
      if (child != nullptr && seen.insert(child).second) pending.push_back(child);
    }
  }
  return false;
}

// Mutable and const access to a child message, so one walk serves both forms.
Message& child(Message& parent, const Reflection* reflection, const FieldDescriptor* field, int index) {
  return index < 0 ? *reflection->MutableMessage(&parent, field) : *reflection->MutableRepeatedMessage(&parent, field, index);
}
const Message& child(const Message& parent, const Reflection* reflection, const FieldDescriptor* field, int index) {
  return index < 0 ? reflection->GetMessage(parent, field) : reflection->GetRepeatedMessage(parent, field, index);
}

// After `visit`, the message's fields are read again: a visit that changed them is followed.
template <typename M, typename Visit>
void walk(M& message, ContainmentIndex& index, const Visit& visit) {
  if (message.GetDescriptor() == index.target()) visit(message);
  const Reflection* reflection = message.GetReflection();
  for (const FieldDescriptor* field : index.fields_to_search(message.GetDescriptor())) {
    if (field->is_repeated()) {
      const int count = reflection->FieldSize(message, field);
      for (int i = 0; i < count; ++i) walk(child(message, reflection, field, i), index, visit);
    } else if (reflection->HasField(message, field)) {
      walk(child(message, reflection, field, -1), index, visit);
    }
  }
}

}  // namespace

bool ContainmentIndex::can_contain(const Descriptor* container) {
  const auto found = answers_.find(container);
  if (found != answers_.end()) return found->second;
  const bool answer = search_can_contain(container, target_);
  answers_.emplace(container, answer);
  return answer;
}

const std::vector<const FieldDescriptor*>& ContainmentIndex::fields_to_search(const Descriptor* type) {
  const auto found = fields_.find(type);
  if (found != fields_.end()) return found->second;
  std::vector<const FieldDescriptor*> fields;
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && can_contain(field->message_type())) {
      fields.push_back(field);
    }
  }
  // In field-number order, the order of Reflection::ListFields, which the walk used before: the
  // order of visits decides, for one, where tensors land in an external data file.
  std::sort(fields.begin(), fields.end(),
            [](const FieldDescriptor* a, const FieldDescriptor* b) { return a->number() < b->number(); });
  return fields_.emplace(type, std::move(fields)).first->second;
}

void for_each_nested(Message& root, const Descriptor* type, const std::function<void(Message&)>& visit) {
  ContainmentIndex index(type);
  walk(root, index, visit);
}

void for_each_nested(const Message& root, const Descriptor* type, const std::function<void(const Message&)>& visit) {
  ContainmentIndex index(type);
  walk(root, index, visit);
}

}  // namespace onnx_fp16::io
