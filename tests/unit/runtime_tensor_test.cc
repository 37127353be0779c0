// The evaluator's Tensor: storage, sharing, and conversions to and from TensorProto.
#include <gtest/gtest.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/tensor.h>

#include <cstring>

#include "runtime/tensor.h"

namespace {

using onnx_fp16::BFloat16;
using onnx_fp16::Float16;
using onnx_fp16::Tensor;

TEST(RuntimeTensor, NewTensorsAreZeroAndSized) {
  Tensor t(onnx::TensorProto::INT32, {2, 3});
  EXPECT_TRUE(t.defined());
  EXPECT_EQ(t.size(), 6u);
  EXPECT_EQ(t.rank(), 2u);
  EXPECT_EQ(t.byte_size(), 24u);
  for (const auto v : t.data<std::int32_t>()) EXPECT_EQ(v, 0);
  EXPECT_FALSE(Tensor().defined());
  EXPECT_EQ(Tensor(onnx::TensorProto::FLOAT, {}).size(), 1u);  // a scalar
  EXPECT_EQ(Tensor(onnx::TensorProto::FLOAT, {4, 0}).size(), 0u);
}

TEST(RuntimeTensor, TypedAccessChecksTheElementType) {
  Tensor t(onnx::TensorProto::FLOAT16, {2});
  EXPECT_NO_THROW(t.data<Float16>());
  EXPECT_THROW(t.data<std::uint16_t>(), onnx_fp16::Error);  // float16 is not uint16
  EXPECT_THROW(t.data<BFloat16>(), onnx_fp16::Error);
  EXPECT_THROW(t.data<float>(), onnx_fp16::Error);
}

TEST(RuntimeTensor, CopiesShareUntilOneWrites) {
  auto a = Tensor::from_vector<float>({3}, {1, 2, 3});
  Tensor b = a;
  EXPECT_TRUE(a.shares_storage_with(b));
  b.mutable_data<float>()[0] = 42;
  EXPECT_FALSE(a.shares_storage_with(b));
  EXPECT_EQ(a.data<float>()[0], 1.0f);
  EXPECT_EQ(b.data<float>()[0], 42.0f);
}

TEST(RuntimeTensor, ReshapedSharesAndChecksTheCount) {
  auto a = Tensor::from_vector<std::int64_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = a.reshaped({3, 2});
  EXPECT_TRUE(a.shares_storage_with(b));
  EXPECT_EQ(b.shape(), (onnx_fp16::Shape{3, 2}));
  EXPECT_THROW(a.reshaped({4}), onnx_fp16::Error);
}

TEST(RuntimeTensor, FromVectorChecksTheCount) {
  EXPECT_THROW(Tensor::from_vector<float>({2, 2}, {1, 2, 3}), onnx_fp16::Error);
  EXPECT_THROW(Tensor(onnx::TensorProto::FLOAT, {-1}), onnx_fp16::Error);
}

TEST(RuntimeTensor, ReadsRawData) {
  onnx::TensorProto proto;
  proto.set_data_type(onnx::TensorProto::FLOAT);
  proto.add_dims(2);
  const float values[] = {1.5f, -2.0f};
  proto.set_raw_data(std::string(reinterpret_cast<const char*>(values), sizeof values));
  const Tensor t = Tensor::from_proto(proto);
  EXPECT_EQ(t.shape(), (onnx_fp16::Shape{2}));
  EXPECT_EQ(t.data<float>()[1], -2.0f);
}

TEST(RuntimeTensor, ReadsEveryTypedField) {
  onnx::TensorProto f16;
  f16.set_data_type(onnx::TensorProto::FLOAT16);
  f16.add_dims(2);
  f16.add_int32_data(0x3c00);  // 1.0
  f16.add_int32_data(0xfc00);  // -inf
  const Tensor h = Tensor::from_proto(f16);
  EXPECT_EQ(h.data<Float16>()[0].bits, 0x3c00);
  EXPECT_EQ(h.data<Float16>()[1].bits, 0xfc00);

  onnx::TensorProto u32;
  u32.set_data_type(onnx::TensorProto::UINT32);
  u32.add_dims(1);
  u32.add_uint64_data(4000000000u);
  EXPECT_EQ(Tensor::from_proto(u32).data<std::uint32_t>()[0], 4000000000u);

  onnx::TensorProto strings;
  strings.set_data_type(onnx::TensorProto::STRING);
  strings.add_dims(2);
  strings.add_string_data("a");
  strings.add_string_data("bc");
  EXPECT_EQ(Tensor::from_proto(strings).data<std::string>()[1], "bc");

  onnx::TensorProto int8;
  int8.set_data_type(onnx::TensorProto::INT8);
  int8.add_int32_data(-5);  // a scalar
  EXPECT_EQ(Tensor::from_proto(int8).data<std::int8_t>()[0], -5);
}

TEST(RuntimeTensor, RawBoolBytesBecomeValidBools) {
  onnx::TensorProto proto;
  proto.set_data_type(onnx::TensorProto::BOOL);
  proto.add_dims(3);
  proto.set_raw_data(std::string("\x00\x01\x07", 3));
  const Tensor tensor = Tensor::from_proto(proto);
  const auto values = tensor.data<bool>();
  EXPECT_FALSE(values[0]);
  EXPECT_TRUE(values[1]);
  std::uint8_t byte = 0;
  std::memcpy(&byte, &values[2], 1);
  EXPECT_EQ(byte, 1);
}

TEST(RuntimeTensor, RejectsMismatchedCountsAndExternalData) {
  onnx::TensorProto proto;
  proto.set_name("w");
  proto.set_data_type(onnx::TensorProto::FLOAT);
  proto.add_dims(3);
  proto.set_raw_data(std::string(8, '\0'));
  try {
    Tensor::from_proto(proto);
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
  }
  proto.clear_raw_data();
  proto.add_float_data(1);
  EXPECT_THROW(Tensor::from_proto(proto), onnx_fp16::Error);
  proto.set_data_location(onnx::TensorProto::EXTERNAL);
  EXPECT_THROW(Tensor::from_proto(proto), onnx_fp16::Error);
}

// A huge declared shape without the data is refused before anything is allocated (a 56-byte
// .pb asked for 8.6 GB: found by fuzz_tensor_files). Under ASan an 8 GB allocation would fail
// the test by itself.
TEST(RuntimeTensor, RefusesAShapeItsDataCannotFillBeforeAllocating) {
  onnx::TensorProto proto;
  proto.set_name("huge");
  proto.set_data_type(onnx::TensorProto::FLOAT);
  proto.add_dims(2147483648);
  proto.add_dims(4);
  proto.add_float_data(1.0f);
  try {
    Tensor::from_proto(proto);
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'huge' declares shape [2147483648,4] (8589934592 elements) but holds data for "
                                         "at most 1"),
              std::string::npos)
        << e.what();
  }
  onnx::TensorProto empty;
  empty.set_data_type(onnx::TensorProto::FLOAT);
  empty.add_dims(0);
  EXPECT_EQ(Tensor::from_proto(empty).size(), 0u);
}

TEST(RuntimeTensor, RoundTripsThroughProto) {
  const auto numbers = Tensor::from_vector<std::int16_t>({2, 2}, {1, -2, 300, -32768});
  const auto proto = numbers.to_proto("n");
  EXPECT_EQ(proto.name(), "n");
  EXPECT_EQ(proto.data_type(), onnx::TensorProto::INT16);
  const Tensor back = Tensor::from_proto(proto);
  EXPECT_EQ(back.shape(), numbers.shape());
  EXPECT_EQ(back.data<std::int16_t>()[3], -32768);

  const auto text = Tensor::from_vector({2}, std::vector<std::string>{"x", ""});
  EXPECT_EQ(Tensor::from_proto(text.to_proto()).data<std::string>()[0], "x");
}

TEST(RuntimeTensor, SmallReadersTakeParameters) {
  using namespace onnx_fp16::runtime;
  EXPECT_EQ(to_int64_vector(Tensor::from_vector<std::int32_t>({2}, {3, -1})), (std::vector<std::int64_t>{3, -1}));
  EXPECT_THROW(to_int64_vector(Tensor::scalar(1.0f)), onnx_fp16::Error);
  EXPECT_EQ(scalar_to_double(Tensor::from_proto([] {
              onnx::TensorProto p;
              p.set_data_type(onnx::TensorProto::FLOAT16);
              p.add_int32_data(0x3800);  // 0.5
              return p;
            }())),
            0.5);
  EXPECT_TRUE(scalar_to_bool(Tensor::from_vector<bool>({1}, {true})));
  EXPECT_THROW(scalar_to_int64(Tensor::from_vector<std::int64_t>({2}, {1, 2})), onnx_fp16::Error);
  EXPECT_EQ(normalize_axis(-1, 3), 2u);
  EXPECT_THROW(normalize_axis(3, 3), onnx_fp16::Error);
}

}  // namespace
