// numpy arrays <-> evaluator tensors, for the native module. The Python side hands over arrays
// that are C-contiguous and in native byte order (onnx_fp16/_arrays.py makes them so); these
// functions copy, so no numpy buffer is held or written by C++.
#pragma once

#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/tensor.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace onnx_fp16::python {

// Throws onnx_fp16::Error naming `what` for a dtype the evaluator has no type for (complex,
// datetime, ...). Strings (numpy 'U', 'S' or object arrays of str/bytes) become STRING tensors.
Tensor tensor_from_array(const pybind11::array& array, const std::string& what);
// float16 stays numpy.float16; bfloat16, which numpy has no type for, is widened to float32;
// strings become an object array of str.
pybind11::array array_from_tensor(const Tensor& tensor);

// A dict {input name: array} as one sample.
Feeds feeds_from_dict(const pybind11::dict& feeds, const std::string& what);
pybind11::list arrays_from_tensors(const std::vector<Tensor>& tensors);

}  // namespace onnx_fp16::python
