// Tensor files (src/io): .npy, .npz and TensorProto .pb reading and writing, round trips for
// every supported dtype, the errors for what is not supported, and files written and read by
// Debian's numpy (skipped only where /usr/bin/python3 has no numpy).

#include <gtest/gtest.h>
#include <onnx_fp16/tensor_io.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support/paths.h"
#include "support/run_cli.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using onnx_fp16::Error;
using onnx_fp16::Float16;
using onnx_fp16::Tensor;
using test_support::fresh_temp_dir;

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A .npy image with the given version and header dict, followed by `data`.
std::string npy_image(int major, const std::string& dict, const std::string& data) {
  std::string header = dict + "\n";
  std::string image = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const std::uint32_t length = static_cast<std::uint32_t>(header.size());
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) image += static_cast<char>((length >> (8 * i)) & 0xff);
  return image + header + data;
}

std::string float_bytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  auto span = t.data<T>();
  return {span.begin(), span.end()};
}

using test_support::error_of;

// One tensor of each dtype .npy holds, with values that exercise the range.
std::map<std::string, Tensor> every_dtype() {
  return {
      {"f16", Tensor::from_vector<Float16>({3}, {{0x3c00}, {0xfc00}, {0x7e00}})},  // 1, -inf, NaN
      {"f32", Tensor::from_vector<float>({2, 2}, {1.5f, -2.0f, 1e30f, 0.0f})},
      {"f64", Tensor::from_vector<double>({2}, {3.25, -1e300})},
      {"bool", Tensor::from_vector<bool>({3}, {true, false, true})},
      {"i8", Tensor::from_vector<std::int8_t>({2}, {-128, 127})},
      {"u8", Tensor::from_vector<std::uint8_t>({2}, {0, 255})},
      {"i16", Tensor::from_vector<std::int16_t>({2}, {-32768, 7})},
      {"u16", Tensor::from_vector<std::uint16_t>({2}, {65535, 7})},
      {"i32", Tensor::from_vector<std::int32_t>({1, 2}, {-5, 1 << 30})},
      {"u32", Tensor::from_vector<std::uint32_t>({2}, {4000000000u, 1})},
      {"i64", Tensor::from_vector<std::int64_t>({2}, {-(1LL << 62), 42})},
      {"u64", Tensor::from_vector<std::uint64_t>({2}, {~0ULL, 0})},
      {"scalar", Tensor::scalar<float>(2.5f)},
      {"empty", Tensor(onnx::TensorProto::FLOAT, {0, 3})},
      {"nested/name", Tensor::from_vector<std::int64_t>({1}, {9})},
  };
}

void expect_same(const Tensor& actual, const Tensor& expected, const std::string& name) {
  SCOPED_TRACE(name);
  ASSERT_EQ(actual.dtype(), expected.dtype());
  ASSERT_EQ(actual.shape(), expected.shape());
  const auto a = actual.bytes(), b = expected.bytes();
  ASSERT_EQ(a.size(), b.size());
  if (a.empty()) return;  // an empty tensor has no data pointer to compare
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0);
}

TEST(TensorIo, NpyRoundTripsEveryDtype) {
  const fs::path dir = fresh_temp_dir("npy_round_trip");
  for (const auto& [name, tensor] : every_dtype()) {
    const fs::path path = dir / "t.npy";
    onnx_fp16::write_npy(path, tensor);
    expect_same(onnx_fp16::read_npy(path), tensor, name);
    // The header is padded so the values start 64-byte aligned, as numpy writes it.
    EXPECT_EQ((fs::file_size(path) - tensor.byte_size()) % 64, 0u) << name;
    const auto read = onnx_fp16::read_tensors(path);
    ASSERT_EQ(read.size(), 1u);
    EXPECT_TRUE(read.contains(""));  // a .npy holds no name
  }
}

TEST(TensorIo, NpzRoundTripsStoredAndCompressed) {
  const fs::path dir = fresh_temp_dir("npz_round_trip");
  for (const auto compression : {onnx_fp16::NpzCompression::Stored, onnx_fp16::NpzCompression::Deflate}) {
    const fs::path path = dir / "t.npz";
    const auto tensors = every_dtype();
    onnx_fp16::write_npz(path, tensors, compression);
    const auto read = onnx_fp16::read_tensors(path);
    ASSERT_EQ(read.size(), tensors.size());
    for (const auto& [name, tensor] : tensors) {
      ASSERT_TRUE(read.contains(name)) << name;
      expect_same(read.at(name), tensor, name);
    }
  }
  // Only the target appears in the folder: the temporary file was renamed, not left.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(TensorIo, EmptyNpzRoundTrips) {
  const fs::path path = fresh_temp_dir("npz_empty") / "empty.npz";
  onnx_fp16::write_npz(path, {});
  EXPECT_TRUE(onnx_fp16::read_tensors(path).empty());
}

TEST(TensorIo, Bfloat16IsWrittenAsFloat32) {
  const fs::path path = fresh_temp_dir("npz_bf16") / "b.npz";
  onnx_fp16::write_npz(path, {{"b", Tensor::from_vector<onnx_fp16::BFloat16>({2}, {{0x3fc0}, {0xc000}})}});
  const Tensor read = onnx_fp16::read_tensors(path).at("b");
  EXPECT_EQ(values_of<float>(read), (std::vector<float>{1.5f, -2.0f}));
}

TEST(TensorIo, StringTensorFailsAndWritesNothing) {
  const fs::path dir = fresh_temp_dir("npz_string");
  const std::string message = error_of([&] {
    onnx_fp16::write_npz(dir / "s.npz", {{"a", Tensor::scalar<float>(1)}, {"words", Tensor::from_vector({1}, {"hi"})}});
  });
  EXPECT_NE(message.find("words.npy"), std::string::npos) << message;
  EXPECT_NE(message.find("STRING"), std::string::npos) << message;
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(TensorIo, ReadsVersion2And3HeadersAndOldSpellings) {
  const fs::path dir = fresh_temp_dir("npy_versions");
  const std::string data = float_bytes({1, 2, 3, 4, 5, 6});
  // Keys in another order, double quotes, Python 2 longs, extra spaces: all valid headers.
  const std::vector<std::pair<int, std::string>> images = {
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"},
      {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"},
      {3, "{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"<f4\"}"},
      {1, "{ 'fortran_order' : False , 'descr' : '=f4' , 'shape' : ( 2 , 3 ) }"},
  };
  for (const auto& [major, dict] : images) {
    write_bytes(dir / "v.npy", npy_image(major, dict, data));
    const Tensor t = onnx_fp16::read_npy(dir / "v.npy");
    EXPECT_EQ(t.shape(), (onnx_fp16::Shape{2, 3})) << dict;
    EXPECT_EQ(values_of<float>(t), (std::vector<float>{1, 2, 3, 4, 5, 6})) << dict;
  }
}

TEST(TensorIo, NpyErrorsNameTheFileAndTheProblem) {
  const fs::path dir = fresh_temp_dir("npy_errors");
  const fs::path path = dir / "bad.npy";
  const auto message_for = [&](const std::string& image) {
    write_bytes(path, image);
    return error_of([&] { onnx_fp16::read_npy(path); });
  };
  const std::string data = float_bytes({1, 2});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {npy_image(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data), "big-endian"},
      {npy_image(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data), "fortran_order"},
      {npy_image(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", data), "unsupported dtype '<c8'"},
      {npy_image(1, "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", data), "unsupported dtype"},
      {npy_image(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", data), "structured"},
      // Refused before allocating: the file cannot hold what the header declares.
      {npy_image(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data),
       "shape [3] of FLOAT needs more than the 8 bytes of data the file holds"},
      {npy_image(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,), }", data),
       "needs more than the 8 bytes"},
      // Found by libFuzzer: a dimension past int64 escaped as std::out_of_range.
      {npy_image(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 2), }", data),
       "dimension 99999999999999999999999 is too large"},
      {std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f{'descr'", 20), "the header length says 2147483647 bytes, but only 8 follow"},
      {npy_image(1, "{'descr': '<f4', 'shape': (2,), }", data), "needs 'descr', 'fortran_order' and 'shape'"},
      {npy_image(4, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data), "version 4.0"},
      {"PK\x03\x04 not numpy at all", "no \\x93NUMPY magic"},
  };
  for (const auto& [image, expected] : cases) {
    const std::string message = message_for(image);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  }
}

TEST(TensorIo, PathErrors) {
  const fs::path dir = fresh_temp_dir("tensor_path_errors");
  EXPECT_NE(error_of([&] { onnx_fp16::read_tensors(dir / "missing.npz"); }).find("no such file"), std::string::npos);
  write_bytes(dir / "x.txt", "hello");
  EXPECT_NE(error_of([&] { onnx_fp16::read_tensors(dir / "x.txt"); }).find("unknown tensor file type '.txt'"),
            std::string::npos);
  write_bytes(dir / "x.npz", "not a zip");
  EXPECT_NE(error_of([&] { onnx_fp16::read_tensors(dir / "x.npz"); }).find("x.npz"), std::string::npos);
  EXPECT_NE(error_of([&] { onnx_fp16::write_npz(dir / "no_folder" / "o.npz", {}); }).find("no_folder"),
            std::string::npos);
}

void write_proto(const fs::path& path, const onnx::TensorProto& proto) {
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(proto.SerializeToOstream(&out));
}

TEST(TensorIo, ReadsTensorProtoFilesAndTestDataFolders) {
  const fs::path dir = fresh_temp_dir("pb_folder");
  const Tensor x = Tensor::from_vector<float>({2}, {1, 2});
  write_proto(dir / "x.pb", x.to_proto("x"));
  expect_same(onnx_fp16::read_tensors(dir / "x.pb").at("x"), x, "x.pb");

  // input_10 sorts after input_2; unnamed tensors take the positional names; outputs are skipped.
  const fs::path data = dir / "test_data_set_0";
  fs::create_directory(data);
  std::vector<std::string> names;
  for (int i = 0; i <= 10; ++i) {
    write_proto(data / ("input_" + std::to_string(i) + ".pb"), Tensor::scalar<std::int64_t>(i).to_proto(i == 3 ? "named" : ""));
    names.push_back("in" + std::to_string(i));
  }
  write_proto(data / "output_0.pb", x.to_proto("y"));
  const auto tensors = onnx_fp16::read_tensors(data, names);
  ASSERT_EQ(tensors.size(), 11u);
  EXPECT_EQ(values_of<std::int64_t>(tensors.at("in10")), std::vector<std::int64_t>{10});
  EXPECT_EQ(values_of<std::int64_t>(tensors.at("named")), std::vector<std::int64_t>{3});
  EXPECT_FALSE(tensors.contains("in3"));

  const std::string message = error_of([&] { onnx_fp16::read_tensors(data, {"a", "b"}); });
  EXPECT_NE(message.find("input_2.pb' holds an unnamed tensor"), std::string::npos) << message;
  // An input number past size_t: an error naming the file, not std::out_of_range.
  const fs::path numbered = dir / "numbered";
  fs::create_directory(numbered);
  write_proto(numbered / "input_99999999999999999999999.pb", x.to_proto("x"));
  const std::string too_large = error_of([&] { onnx_fp16::read_tensors(numbered); });
  EXPECT_NE(too_large.find("input_99999999999999999999999.pb: input number 99999999999999999999999 is too large"),
            std::string::npos)
      << too_large;
  write_bytes(dir / "junk.pb", "\xff\xff\xff");
  EXPECT_NE(error_of([&] { onnx_fp16::read_tensors(dir / "junk.pb"); }).find("not an ONNX TensorProto"), std::string::npos);
}

// --- Debian's numpy -------------------------------------------------------------------------

struct PythonRun {
  int status;
  std::string output;
};

PythonRun run_python(const fs::path& dir, const std::string& script) {
  write_bytes(dir / "script.py", script);
  const std::string command = "cd '" + dir.string() + "' && /usr/bin/python3 script.py > script.out 2>&1";
  const int status = std::system(command.c_str());
  return {status, test_support::read_file(dir / "script.out")};
}

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") == 0; }

TEST(TensorIoNumpy, ReadsWhatNumpyWrites) {
  if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  const fs::path dir = fresh_temp_dir("numpy_writes");
  const PythonRun run = run_python(dir, R"(
import numpy as np
arrays = {
    'f16': np.array([1.0, -2.5, 65504.0], dtype='<f2'),
    'f32': np.arange(6, dtype='<f4').reshape(2, 3) / 7,
    'f64': np.array([[1e-300], [3.5]]),
    'bool': np.array([True, False]),
    'i8': np.array([-3, 4], dtype=np.int8), 'u8': np.array([200], dtype=np.uint8),
    'i16': np.array([-300], dtype=np.int16), 'u16': np.array([60000], dtype=np.uint16),
    'i32': np.array([-70000], dtype=np.int32), 'u32': np.array([4000000000], dtype=np.uint32),
    'i64': np.array([-(1 << 40)], dtype=np.int64), 'u64': np.array([1 << 63], dtype=np.uint64),
    'scalar': np.float32(0.25), 'empty': np.zeros((0, 2), dtype=np.float32),
}
np.savez('stored.npz', **arrays)
np.savez_compressed('compressed.npz', **arrays)
np.save('plain.npy', arrays['f32'])
for version in [(1, 0), (2, 0), (3, 0)]:
    with open('v%d.npy' % version[0], 'wb') as f:
        np.lib.format.write_array(f, arrays['f64'], version=version)
np.save('big_endian.npy', np.array([1.0], dtype='>f4'))
np.save('fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
import zipfile
with zipfile.ZipFile('extra.npz', 'w') as z:
    z.writestr('notes.txt', 'hello')
)");
  ASSERT_EQ(run.status, 0) << run.output;

  for (const char* file : {"stored.npz", "compressed.npz"}) {
    SCOPED_TRACE(file);
    const auto t = onnx_fp16::read_tensors(dir / file);
    ASSERT_EQ(t.size(), 14u);
    EXPECT_EQ(values_of<Float16>(t.at("f16"))[2].bits, 0x7bff);
    const auto f32 = values_of<float>(t.at("f32"));
    ASSERT_EQ(f32.size(), 6u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(f32[i], static_cast<float>(i) / 7.0f);
    EXPECT_EQ(t.at("f32").shape(), (onnx_fp16::Shape{2, 3}));
    EXPECT_EQ(values_of<double>(t.at("f64")), (std::vector<double>{1e-300, 3.5}));
    EXPECT_EQ(values_of<bool>(t.at("bool")), (std::vector<bool>{true, false}));
    EXPECT_EQ(values_of<std::int8_t>(t.at("i8")), (std::vector<std::int8_t>{-3, 4}));
    EXPECT_EQ(values_of<std::uint8_t>(t.at("u8"))[0], 200);
    EXPECT_EQ(values_of<std::int16_t>(t.at("i16"))[0], -300);
    EXPECT_EQ(values_of<std::uint16_t>(t.at("u16"))[0], 60000);
    EXPECT_EQ(values_of<std::int32_t>(t.at("i32"))[0], -70000);
    EXPECT_EQ(values_of<std::uint32_t>(t.at("u32"))[0], 4000000000u);
    EXPECT_EQ(values_of<std::int64_t>(t.at("i64"))[0], -(1LL << 40));
    EXPECT_EQ(values_of<std::uint64_t>(t.at("u64"))[0], 1ULL << 63);
    EXPECT_TRUE(t.at("scalar").shape().empty());
    EXPECT_EQ(values_of<float>(t.at("scalar"))[0], 0.25f);
    EXPECT_EQ(t.at("empty").shape(), (onnx_fp16::Shape{0, 2}));
  }
  EXPECT_EQ(onnx_fp16::read_npy(dir / "plain.npy").shape(), (onnx_fp16::Shape{2, 3}));
  for (const char* file : {"v1.npy", "v2.npy", "v3.npy"}) {
    EXPECT_EQ(values_of<double>(onnx_fp16::read_npy(dir / file)), (std::vector<double>{1e-300, 3.5})) << file;
  }
  EXPECT_NE(error_of([&] { onnx_fp16::read_npy(dir / "big_endian.npy"); }).find("big-endian dtype '>f4'"), std::string::npos);
  EXPECT_NE(error_of([&] { onnx_fp16::read_npy(dir / "fortran.npy"); }).find("fortran_order True"), std::string::npos);
  const std::string extra = error_of([&] { onnx_fp16::read_tensors(dir / "extra.npz"); });
  EXPECT_NE(extra.find("entry 'notes.txt' is not a .npy file"), std::string::npos) << extra;
}

TEST(TensorIoNumpy, NumpyReadsWhatWeWrite) {
  if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  const fs::path dir = fresh_temp_dir("numpy_reads");
  const auto tensors = every_dtype();
  onnx_fp16::write_npz(dir / "stored.npz", tensors);
  onnx_fp16::write_npz(dir / "compressed.npz", tensors, onnx_fp16::NpzCompression::Deflate);
  onnx_fp16::write_npy(dir / "one.npy", tensors.at("f32"));
  // numpy prints each array as name, dtype.str, shape and the values' bytes in hex; the test
  // compares that with the tensors themselves.
  const PythonRun run = run_python(dir, R"(
import numpy as np
for file in ['stored.npz', 'compressed.npz']:
    with np.load(file) as npz:
        for name in sorted(npz.files):
            a = npz[name]
            print(file, name, a.dtype.str, list(a.shape), a.tobytes().hex())
a = np.load('one.npy')
print('one.npy', '-', a.dtype.str, list(a.shape), a.tobytes().hex())
)");
  ASSERT_EQ(run.status, 0) << run.output;
  const auto hex = [](const Tensor& t) {
    std::string text;
    char byte[3];
    for (const std::byte b : t.bytes()) {
      std::snprintf(byte, sizeof byte, "%02x", static_cast<unsigned>(b));
      text += byte;
    }
    return text;
  };
  const auto shape_text = [](const Tensor& t) {
    std::string text = "[";
    for (std::size_t i = 0; i < t.rank(); ++i) text += (i ? ", " : "") + std::to_string(t.shape()[i]);
    return text + "]";
  };
  const std::map<std::string, std::string> descr = {
      {"f16", "<f2"}, {"f32", "<f4"}, {"f64", "<f8"}, {"bool", "|b1"}, {"i8", "|i1"}, {"u8", "|u1"},
      {"i16", "<i2"}, {"u16", "<u2"}, {"i32", "<i4"}, {"u32", "<u4"}, {"i64", "<i8"}, {"u64", "<u8"},
      {"scalar", "<f4"}, {"empty", "<f4"}, {"nested/name", "<i8"}};
  for (const char* file : {"stored.npz", "compressed.npz"}) {
    for (const auto& [name, tensor] : tensors) {
      const std::string line = std::string(file) + " " + name + " " + descr.at(name) + " " + shape_text(tensor) + " " + hex(tensor);
      EXPECT_NE(run.output.find(line + "\n"), std::string::npos) << line << "\nnumpy printed:\n" << run.output;
    }
  }
  const std::string one = "one.npy - <f4 [2, 2] " + hex(tensors.at("f32"));
  EXPECT_NE(run.output.find(one), std::string::npos) << run.output;
}

}  // namespace
