#include "arrays.h"

#include <onnx_fp16/error.h>

#include <cstring>

#include "half/half.h"

namespace onnx_fp16::python {
namespace py = pybind11;
using onnx::TensorProto;

namespace {

// The ONNX element type of a numpy dtype, by kind and size; UNDEFINED when there is none.
DataType data_type_of_dtype(const py::dtype& dtype) {
  const char kind = dtype.kind();
  const auto size = dtype.itemsize();
  switch (kind) {
    case 'f':
      return size == 2 ? TensorProto::FLOAT16 : size == 4 ? TensorProto::FLOAT : size == 8 ? TensorProto::DOUBLE : TensorProto::UNDEFINED;
    case 'i':
      return size == 1 ? TensorProto::INT8 : size == 2 ? TensorProto::INT16 : size == 4 ? TensorProto::INT32
           : size == 8 ? TensorProto::INT64 : TensorProto::UNDEFINED;
    case 'u':
      return size == 1 ? TensorProto::UINT8 : size == 2 ? TensorProto::UINT16 : size == 4 ? TensorProto::UINT32
           : size == 8 ? TensorProto::UINT64 : TensorProto::UNDEFINED;
    case 'b': return TensorProto::BOOL;
    case 'U': case 'S': case 'O': return TensorProto::STRING;
    default: return TensorProto::UNDEFINED;
  }
}

const char* numpy_name(DataType type) {
  switch (type) {
    case TensorProto::FLOAT: return "float32";
    case TensorProto::FLOAT16: return "float16";
    case TensorProto::DOUBLE: return "float64";
    case TensorProto::INT8: return "int8";
    case TensorProto::INT16: return "int16";
    case TensorProto::INT32: return "int32";
    case TensorProto::INT64: return "int64";
    case TensorProto::UINT8: return "uint8";
    case TensorProto::UINT16: return "uint16";
    case TensorProto::UINT32: return "uint32";
    case TensorProto::UINT64: return "uint64";
    case TensorProto::BOOL: return "bool";
    default: return nullptr;
  }
}

std::string text_of(const py::handle& item) {
  if (py::isinstance<py::bytes>(item)) return item.cast<std::string>();
  return py::str(item).cast<std::string>();
}

}  // namespace

Tensor tensor_from_array(const py::array& array, const std::string& what) {
  const DataType type = data_type_of_dtype(array.dtype());
  if (type == TensorProto::UNDEFINED) {
    throw Error(what + ": numpy dtype " + py::str(array.dtype()).cast<std::string>() + " has no ONNX tensor type");
  }
  Shape shape(array.shape(), array.shape() + array.ndim());
  if (type == TensorProto::STRING) {
    std::vector<std::string> values;
    const py::list items = array.attr("ravel")().attr("tolist")();
    values.reserve(items.size());
    for (const py::handle item : items) values.push_back(text_of(item));
    return Tensor::from_vector(std::move(shape), std::move(values));
  }
  if (!(array.flags() & py::array::c_style)) throw Error(what + ": the array is not C-contiguous");
  Tensor tensor = Tensor::uninitialized(type, std::move(shape));
  if (tensor.byte_size() > 0) std::memcpy(tensor.mutable_bytes().data(), array.data(), tensor.byte_size());
  return tensor;
}

py::array array_from_tensor(const Tensor& tensor) {
  const std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
  if (tensor.dtype() == TensorProto::STRING) {
    py::list items;
    for (const std::string& value : tensor.data<std::string>()) {
      items.append(py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(value.data(), static_cast<py::ssize_t>(value.size()), "replace")));
    }
    py::module_ numpy = py::module_::import("numpy");
    return numpy.attr("array")(items, py::arg("dtype") = "object").attr("reshape")(shape);
  }
  if (tensor.dtype() == TensorProto::BFLOAT16) {
    py::array_t<float> widened(shape);
    const auto bits = tensor.data<BFloat16>();
    std::vector<std::uint16_t> raw(bits.size());
    for (std::size_t i = 0; i < bits.size(); ++i) raw[i] = bits[i].bits;
    half::bfloat16s_to_floats(raw, {widened.mutable_data(), raw.size()});
    return widened;
  }
  const char* name = numpy_name(tensor.dtype());
  if (name == nullptr) throw Error("an output of type " + data_type_name(tensor.dtype()) + " has no numpy dtype");
  py::array array(py::dtype::from_args(py::str(name)), shape);
  if (tensor.byte_size() > 0) std::memcpy(array.mutable_data(), tensor.bytes().data(), tensor.byte_size());
  return array;
}

Feeds feeds_from_dict(const py::dict& feeds, const std::string& what) {
  Feeds result;
  for (const auto& [key, value] : feeds) {
    const std::string name = py::str(key).cast<std::string>();
    if (!py::isinstance<py::array>(value)) throw Error(what + " input '" + name + "' is not a numpy array");
    result.emplace(name, tensor_from_array(py::reinterpret_borrow<py::array>(value), what + " input '" + name + "'"));
  }
  return result;
}

py::list arrays_from_tensors(const std::vector<Tensor>& tensors) {
  py::list arrays;
  for (const Tensor& tensor : tensors) arrays.append(array_from_tensor(tensor));
  return arrays;
}

}  // namespace onnx_fp16::python
