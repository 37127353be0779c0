// Tensor files: numpy's .npy/.npz (what Python users have) and ONNX TensorProto .pb files
// (what ONNX test data uses), read into and written from onnx_fp16::Tensor.
//
//   auto feeds = onnx_fp16::read_tensors("sample.npz");       // {"input_ids": ..., "mask": ...}
//   onnx_fp16::write_npz("out.npz", outputs);                  // numpy.load("out.npz") reads it
//
// .npy: format versions 1.0, 2.0 and 3.0; little-endian (or single-byte) dtypes <f2 <f4 <f8 |b1
// |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8, C order. Anything else (big-endian, fortran_order True,
// strings, objects, structured dtypes) is an error naming the file. Every error names the file
// (and the .npz entry).
#pragma once

#include <onnx_fp16/error.h>
#include <onnx_fp16/tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace onnx_fp16 {

// Reads the tensors of one file or folder, by name:
// - "x.npz": one tensor per entry, named as the entry without ".npy" (what numpy.savez does);
// - "x.npy": one tensor under the empty name "" (a .npy file holds no name);
// - "x.pb": one TensorProto, under its own name ("" when it has none);
// - a folder of "input_<N>.pb" files (ONNX test data, e.g. test_data_set_0): each under the
//   name its TensorProto holds or, when that is empty, positional_names[N] (the model's inputs
//   in order); an unnamed tensor without a positional name is an error.
// Throws onnx_fp16::Error naming the file (and entry).
std::map<std::string, Tensor> read_tensors(const std::filesystem::path& path,
                                           const std::vector<std::string>& positional_names = {});

enum class NpzCompression { Stored, Deflate };

// Writes `tensors` as an .npz numpy.load reads (entries "<name>.npy"), atomically: to a
// temporary file beside `path`, renamed over it once complete, so a failure leaves nothing
// behind. BFLOAT16 tensors are written as float32 (exactly: numpy has no bfloat16); STRING
// tensors are an error naming the tensor. Stored is numpy.savez, Deflate numpy.savez_compressed.
void write_npz(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
               NpzCompression compression = NpzCompression::Stored);

// One tensor in one .npy file (write_npy is atomic like write_npz; BFLOAT16 as float32).
Tensor read_npy(const std::filesystem::path& path);
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace onnx_fp16
