// The test support's own building blocks: base64, reading TensorProto values, comparing
// tensors, the known-failures list. The suites trust these to judge the library.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "support/base64.h"
#include "support/known_failures.h"
#include "support/paths.h"
#include "support/tensor_compare.h"
#include "support/tensor_data.h"

namespace test_support {
namespace {

using onnx::TensorProto;

TensorProto floats(std::vector<std::int64_t> dims, const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return make_raw_tensor("t", TensorProto::FLOAT, dims, bytes);
}

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, RoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t length = 0; length <= bytes.size(); length += 37) {
    EXPECT_EQ(base64_decode(base64_encode(bytes.substr(0, length))), bytes.substr(0, length));
  }
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_THROW(base64_decode("Zm9"), std::invalid_argument);
  EXPECT_THROW(base64_decode("Zm9*"), std::invalid_argument);
  EXPECT_THROW(base64_decode("Z=9v"), std::invalid_argument);
}

TEST(TensorData, ReadsTypedFieldsAsLittleEndianBytes) {
  TensorProto int8s;
  int8s.set_data_type(TensorProto::INT8);
  int8s.add_dims(3);
  for (const int value : {-1, 0, 127}) int8s.add_int32_data(value);
  EXPECT_EQ(raw_bytes(int8s), std::string("\xff\x00\x7f", 3));

  TensorProto halves;
  halves.set_data_type(TensorProto::FLOAT16);
  halves.add_dims(2);
  halves.add_int32_data(0x3C00);
  halves.add_int32_data(0xC000);
  EXPECT_EQ(to_doubles(halves), (std::vector<double>{1.0, -2.0}));

  TensorProto uint32s;
  uint32s.set_data_type(TensorProto::UINT32);
  uint32s.add_dims(1);
  uint32s.add_uint64_data(4000000000u);
  EXPECT_EQ(to_doubles(uint32s), std::vector<double>{4000000000.0});
}

TEST(TensorData, RejectsValueCountThatDoesNotMatchTheDims) {
  TensorProto tensor = floats({3}, {1, 2});
  EXPECT_THROW(raw_bytes(tensor), std::runtime_error);
}

TEST(TensorData, DecodesFloat16Exactly) {
  EXPECT_EQ(half_bits_to_double(0x0000), 0.0);
  EXPECT_EQ(half_bits_to_double(0x0001), std::ldexp(1.0, -24));  // smallest subnormal
  EXPECT_EQ(half_bits_to_double(0x0400), std::ldexp(1.0, -14));  // smallest normal
  EXPECT_EQ(half_bits_to_double(0x7BFF), 65504.0);
  EXPECT_EQ(half_bits_to_double(0x3555), 0.333251953125);
  EXPECT_EQ(half_bits_to_double(0xFC00), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(half_bits_to_double(0x7E00)));
}

TEST(TensorData, WidensFloat16TensorsToFloat) {
  TensorProto halves = make_raw_tensor("h", TensorProto::FLOAT16, {2}, std::string("\x00\x3c\x00\xc0", 4));
  const TensorProto floats = float16_to_float(halves);
  EXPECT_EQ(floats.data_type(), TensorProto::FLOAT);
  EXPECT_EQ(floats.name(), "h");
  EXPECT_EQ(to_doubles(floats), (std::vector<double>{1.0, -2.0}));
}

TEST(TensorCompare, AcceptsValuesWithinTolerance) {
  const auto result = compare(floats({2}, {1.0f, 100.5f}), floats({2}, {1.001f, 100.0f}),
                              {.rtol = 1e-2, .atol = 1e-3});
  EXPECT_TRUE(result.match) << result.message;
  EXPECT_NEAR(result.max_abs_error, 0.5, 1e-6);
  EXPECT_NEAR(result.max_rel_error, 0.005, 1e-6);
}

TEST(TensorCompare, ScaleTermMeasuresErrorsAgainstTheLargestValue) {
  const auto actual = floats({2}, {0.5f, 1000.0f});
  const auto expected = floats({2}, {0.0f, 1000.0f});
  EXPECT_FALSE(compare(actual, expected, {.rtol = 1e-2, .atol = 1e-2}).match);
  EXPECT_TRUE(compare(actual, expected, {.rtol = 1e-2, .atol = 1e-2, .scale = 1e-3}).match);
}

TEST(TensorCompare, NanMatchesOnlyNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(compare(floats({1}, {nan}), floats({1}, {nan}), {}).match);
  EXPECT_FALSE(compare(floats({1}, {nan}), floats({1}, {1.0f}), {.rtol = 1, .atol = 1}).match);
  EXPECT_FALSE(compare(floats({1}, {1.0f}), floats({1}, {nan}), {.rtol = 1, .atol = 1}).match);
}

TEST(TensorCompare, InfinityMatchesOnlyTheSameInfinity) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(compare(floats({1}, {-inf}), floats({1}, {-inf}), {}).match);
  EXPECT_FALSE(compare(floats({1}, {inf}), floats({1}, {-inf}), {}).match);
  EXPECT_FALSE(compare(floats({1}, {65504.0f}), floats({1}, {inf}), {.rtol = 1, .atol = 1}).match);
}

TEST(TensorCompare, ShapesAndTypesMustBeEqual) {
  EXPECT_FALSE(compare(floats({2, 1}, {1, 2}), floats({2}, {1, 2}), {}).match);
  TensorProto doubles = make_raw_tensor("t", TensorProto::DOUBLE, {1}, std::string(8, '\0'));
  EXPECT_FALSE(compare(floats({1}, {0}), doubles, {}).match);
}

TEST(TensorCompare, IntegersMustBeExactEvenBeyondDoublePrecision) {
  const std::int64_t big = (std::int64_t{1} << 60);
  const std::int64_t next = big + 1;  // the same double as `big`
  TensorProto a = make_raw_tensor("t", TensorProto::INT64, {1}, std::string(reinterpret_cast<const char*>(&big), 8));
  TensorProto b = make_raw_tensor("t", TensorProto::INT64, {1}, std::string(reinterpret_cast<const char*>(&next), 8));
  EXPECT_TRUE(compare(a, a, {}).match);
  EXPECT_FALSE(compare(a, b, {.rtol = 1, .atol = 1}).match);
}

TEST(TensorCompare, StringsMustBeEqual) {
  TensorProto a;
  a.set_data_type(TensorProto::STRING);
  a.add_dims(2);
  a.add_string_data("x");
  a.add_string_data("y");
  TensorProto b = a;
  EXPECT_TRUE(compare(a, b, {}).match);
  b.set_string_data(1, "z");
  EXPECT_FALSE(compare(a, b, {}).match);
}

std::filesystem::path write_list(const std::string& text) {
  const auto path = fresh_temp_dir("known_failures") / "list.txt";
  std::ofstream(path) << text;
  return path;
}

TEST(KnownFailures, ReadsEntriesAndSkipsComments) {
  const auto list = KnownFailures::read(write_list(
      "# header\n\nfloat32 node/test_a ORT lacks it # not a comment\n  # indented comment\n"
      "default node/test_b [unstable] needs a locale\nfloat32 simple/test_c reason\n"));
  const auto* a = list.find("float32", "node/test_a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->reason, "ORT lacks it # not a comment");
  EXPECT_EQ(a->line, 3);
  EXPECT_FALSE(a->unstable());
  ASSERT_NE(list.find("default", "node/test_b"), nullptr);
  EXPECT_TRUE(list.find("default", "node/test_b")->unstable());
  EXPECT_EQ(list.find("default", "node/test_a"), nullptr);
  EXPECT_EQ(list.entries("float32", "node").size(), 1u);
  EXPECT_EQ(list.entries("float32", "simple").size(), 1u);
}

TEST(KnownFailures, RejectsMalformedAndRepeatedEntries) {
  EXPECT_THROW(KnownFailures::read(write_list("float32 node/test_a\n")), std::runtime_error);
  EXPECT_THROW(KnownFailures::read(write_list("float32 test_a reason\n")), std::runtime_error);
  EXPECT_THROW(KnownFailures::read(write_list("float32 node/a r\nfloat32 node/a r\n")), std::runtime_error);
}

TEST(KnownFailures, FormatsUpdateLinesFromTheFirstLineOfTheError) {
  EXPECT_EQ(known_failure_line("default", "node/test_a", "ort: bad\nmore"), "default node/test_a ort: bad");
}

}  // namespace
}  // namespace test_support
