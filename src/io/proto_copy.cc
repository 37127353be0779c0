#include "io/proto_copy.h"

#include <vector>

#include "io/proto_walk.h"

namespace onnx_fp16::io {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

// Copies one non-message field (singular or repeated) through reflection.
void copy_plain_field(const Message& source, Message& target, const FieldDescriptor* field) {
  const Reflection* from = source.GetReflection();
  const Reflection* to = target.GetReflection();
  if (!field->is_repeated()) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: to->SetInt32(&target, field, from->GetInt32(source, field)); break;
      case FieldDescriptor::CPPTYPE_INT64: to->SetInt64(&target, field, from->GetInt64(source, field)); break;
      case FieldDescriptor::CPPTYPE_UINT32: to->SetUInt32(&target, field, from->GetUInt32(source, field)); break;
      case FieldDescriptor::CPPTYPE_UINT64: to->SetUInt64(&target, field, from->GetUInt64(source, field)); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: to->SetDouble(&target, field, from->GetDouble(source, field)); break;
      case FieldDescriptor::CPPTYPE_FLOAT: to->SetFloat(&target, field, from->GetFloat(source, field)); break;
      case FieldDescriptor::CPPTYPE_BOOL: to->SetBool(&target, field, from->GetBool(source, field)); break;
      case FieldDescriptor::CPPTYPE_ENUM: to->SetEnumValue(&target, field, from->GetEnumValue(source, field)); break;
      case FieldDescriptor::CPPTYPE_STRING: to->SetString(&target, field, from->GetString(source, field)); break;
      case FieldDescriptor::CPPTYPE_MESSAGE: break;  // handled by the caller
    }
    return;
  }
  const int count = from->FieldSize(source, field);
  for (int i = 0; i < count; ++i) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: to->AddInt32(&target, field, from->GetRepeatedInt32(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_INT64: to->AddInt64(&target, field, from->GetRepeatedInt64(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_UINT32: to->AddUInt32(&target, field, from->GetRepeatedUInt32(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_UINT64: to->AddUInt64(&target, field, from->GetRepeatedUInt64(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: to->AddDouble(&target, field, from->GetRepeatedDouble(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_FLOAT: to->AddFloat(&target, field, from->GetRepeatedFloat(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_BOOL: to->AddBool(&target, field, from->GetRepeatedBool(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_ENUM: to->AddEnumValue(&target, field, from->GetRepeatedEnumValue(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_STRING: to->AddString(&target, field, from->GetRepeatedString(source, field, i)); break;
      case FieldDescriptor::CPPTYPE_MESSAGE: break;  // handled by the caller
    }
  }
}

class FilteredCopier {
 public:
  explicit FilteredCopier(const RawDataFilter& filter)
      : filter_(filter), tensors_(onnx::TensorProto::descriptor()),
        raw_data_field_(onnx::TensorProto::descriptor()->FindFieldByName("raw_data")) {}

  void copy(const Message& source, Message& target) {
    if (source.GetDescriptor() == tensors_.target()) {
      copy_tensor(source, target);
    } else if (!tensors_.can_contain(source.GetDescriptor())) {
      target.CopyFrom(source);  // holds no tensor anywhere (types, value infos...): the fast way
    } else {
      copy_fields(source, target, nullptr);
    }
  }

 private:
  void copy_tensor(const Message& source, Message& target) {
    const auto& original = static_cast<const onnx::TensorProto&>(source);
    if (!filter_.leave_out(original)) {
      target.CopyFrom(source);
      return;
    }
    auto& tensor_copy = static_cast<onnx::TensorProto&>(target);
    copy_fields(source, target, raw_data_field_);
    filter_.on_left_out(original, tensor_copy);
  }

  // Every set field of `source` but `skipped`, recursing into messages; unknown fields too
  // (fields of a newer ONNX than ours survive the copy).
  void copy_fields(const Message& source, Message& target, const FieldDescriptor* skipped) {
    const Reflection* from = source.GetReflection();
    const Reflection* to = target.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    from->ListFields(source, &fields);
    for (const FieldDescriptor* field : fields) {
      if (field == skipped) continue;
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        copy_plain_field(source, target, field);
      } else if (field->is_repeated()) {
        const int count = from->FieldSize(source, field);
        for (int i = 0; i < count; ++i) copy(from->GetRepeatedMessage(source, field, i), *to->AddMessage(&target, field));
      } else {
        copy(from->GetMessage(source, field), *to->MutableMessage(&target, field));
      }
    }
    to->MutableUnknownFields(&target)->MergeFrom(from->GetUnknownFields(source));
  }

  const RawDataFilter& filter_;
  ContainmentIndex tensors_;
  const FieldDescriptor* raw_data_field_;
};

}  // namespace

void copy_with_raw_data_filter(const Message& source, Message& target, const RawDataFilter& filter) {
  FilteredCopier(filter).copy(source, target);
}

}  // namespace onnx_fp16::io
