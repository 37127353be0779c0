// The .npy format (numpy/lib/format.py's documented layout), shared by .npy files and the .npy
// entries of .npz archives: a magic string, a version, a Python-literal header dict, the values.
#pragma once

#include <onnx_fp16/tensor.h>

#include <cstddef>
#include <functional>
#include <string>

namespace onnx_fp16::io {

// Reads up to `size` bytes of a sequential source into `buffer`; fewer only at its end.
using ByteReader = std::function<std::size_t(char* buffer, std::size_t size)>;

// Reads one .npy image of `image_size` bytes from `read`, the values straight into the tensor's
// buffer. `where` names the source in messages ("'x.npy'", "'a.npz' entry 'x.npy'"). Nothing is
// allocated for a header or data the image is too short to hold (a 146-byte file declaring a
// 1.7 GB header: found by fuzz_tensor_files). Throws onnx_fp16::Error.
Tensor read_npy_image(const ByteReader& read, std::uint64_t image_size, const std::string& where);

// What a tensor is stored as: BFLOAT16 widened to FLOAT (numpy has no bfloat16), others as they
// are. Throws onnx_fp16::Error naming `where` for a type .npy cannot hold (strings).
Tensor npy_storable(const Tensor& tensor, const std::string& where);

// The header (magic through padding) numpy.save writes for a tensor of `npy_storable` form:
// version 1.0 unless the dict needs 2.0's longer length field, padded to a multiple of 64.
std::string npy_header(const Tensor& storable);

}  // namespace onnx_fp16::io
