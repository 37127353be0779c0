#include "io/npy_format.h"

#include <onnx_fp16/error.h>

#include <bit>
#include <charconv>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

namespace onnx_fp16::io {
namespace {

// The values are copied to and from the file as they lie in memory; numpy's '<' is ours.
static_assert(std::endian::native == std::endian::little, ".npy values are read as little-endian bytes");

constexpr std::string_view kMagic = "\x93NUMPY";

struct NpyType {
  const char* kind;  // type code and size: "f2", "i8", "b1"
  DataType type;
};
constexpr NpyType kTypes[] = {
    {"f2", onnx::TensorProto::FLOAT16}, {"f4", onnx::TensorProto::FLOAT},  {"f8", onnx::TensorProto::DOUBLE},
    {"b1", onnx::TensorProto::BOOL},    {"i1", onnx::TensorProto::INT8},   {"u1", onnx::TensorProto::UINT8},
    {"i2", onnx::TensorProto::INT16},   {"u2", onnx::TensorProto::UINT16}, {"i4", onnx::TensorProto::INT32},
    {"u4", onnx::TensorProto::UINT32},  {"i8", onnx::TensorProto::INT64},  {"u8", onnx::TensorProto::UINT64},
};

// numpy's dtype.str: byte order, then kind and size. '|' means byte order does not apply.
DataType type_of_descr(const std::string& descr, const std::string& where) {
  const std::string supported = "(supported: <f2 <f4 <f8 |b1 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8)";
  if (descr.size() == 3) {
    const char order = descr[0];
    const std::string kind = descr.substr(1);
    for (const NpyType& t : kTypes) {
      if (kind != t.kind) continue;
      const bool single_byte = kind[1] == '1';
      if (order == '<' || order == '=' || order == '|' || (single_byte && order == '>')) return t.type;
      if (order == '>') {
        throw Error(where + ": big-endian dtype '" + descr +
                    "' is not supported; save it little-endian (array.astype('<" + kind + "'))");
      }
    }
  }
  throw Error(where + ": unsupported dtype '" + descr + "' " + supported);
}

std::string descr_of_type(DataType type) {
  for (const NpyType& t : kTypes) {
    if (t.type == type) return std::string(t.kind[1] == '1' ? "|" : "<") + t.kind;
  }
  throw Error("no .npy dtype for " + data_type_name(type));
}

// A parser for the header: a Python dict literal of string keys and values that are strings,
// True/False, or tuples of integers (what numpy writes; older files wrote "3L" for longs).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& where) : text_(text), where_(where) {}

  struct Fields {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<Shape> shape;
  };

  Fields parse() {
    Fields fields;
    expect('{');
    while (!accept('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        // A list here is a structured dtype, which has no tensor equivalent.
        skip_space();
        if (peek() == '[') fail("structured dtypes are not supported");
        fields.descr = string_literal();
      } else if (key == "fortran_order") {
        fields.fortran_order = boolean();
      } else if (key == "shape") {
        fields.shape = int_tuple();
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    return fields;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where_ + ": invalid .npy header (" + what + "): " + std::string(text_));
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool accept(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    fail("expected True or False");
  }
  Shape int_tuple() {
    expect('(');
    Shape shape;
    while (!accept(')')) {
      skip_space();
      const std::size_t start = pos_;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
      if (pos_ == start) fail("expected a dimension");
      std::int64_t dim = 0;
      const char* const first = text_.data() + start;
      if (std::from_chars(first, text_.data() + pos_, dim).ec != std::errc()) {
        fail("dimension " + std::string(text_.substr(start, pos_ - start)) + " is too large");
      }
      shape.push_back(dim);
      if (peek() == 'L') ++pos_;
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  std::string_view text_;
  const std::string& where_;
  std::size_t pos_ = 0;
};

void read_exactly(const ByteReader& read, char* buffer, std::size_t size, const std::string& where, const char* what) {
  const std::size_t got = read(buffer, size);
  if (got != size) {
    throw Error(where + ": truncated .npy " + what + " (expected " + std::to_string(size) + " bytes, found " +
                std::to_string(got) + ")");
  }
}

std::uint32_t little_endian(const unsigned char* bytes, int count) {
  std::uint32_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::string shape_literal(const Shape& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  // A one-element Python tuple needs its trailing comma.
  return text + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

Tensor read_npy_image(const ByteReader& read, std::uint64_t image_size, const std::string& where) {
  unsigned char preamble[8];
  read_exactly(read, reinterpret_cast<char*>(preamble), sizeof preamble, where, "preamble");
  if (std::memcmp(preamble, kMagic.data(), kMagic.size()) != 0) throw Error(where + ": not a .npy file (no \\x93NUMPY magic)");
  const int major = preamble[6];
  if (major < 1 || major > 3) {
    throw Error(where + ": unsupported .npy format version " + std::to_string(major) + "." +
                std::to_string(preamble[7]) + " (supported: 1.0, 2.0, 3.0)");
  }
  // 1.0 has a 2-byte header length; 2.0 and 3.0 (3.0: the header is UTF-8) a 4-byte one.
  const int length_bytes = major == 1 ? 2 : 4;
  unsigned char length[4];
  read_exactly(read, reinterpret_cast<char*>(length), length_bytes, where, "header length");
  const std::uint64_t header_start = sizeof preamble + static_cast<std::uint64_t>(length_bytes);
  const std::uint64_t header_length = little_endian(length, length_bytes);
  if (header_length > image_size - std::min(image_size, header_start)) {
    throw Error(where + ": the header length says " + std::to_string(header_length) + " bytes, but only " +
                std::to_string(image_size - std::min(image_size, header_start)) + " follow");
  }
  std::string header(header_length, '\0');
  read_exactly(read, header.data(), header.size(), where, "header");

  const HeaderParser::Fields fields = HeaderParser(header, where).parse();
  if (!fields.descr || !fields.fortran_order || !fields.shape) {
    throw Error(where + ": invalid .npy header (needs 'descr', 'fortran_order' and 'shape'): " + header);
  }
  if (*fields.fortran_order) {
    throw Error(where + ": fortran_order True (column-major) arrays are not supported; save a C-order array "
                        "(numpy.ascontiguousarray)");
  }
  const DataType type = type_of_descr(*fields.descr, where);
  const std::size_t elements = element_count(*fields.shape);
  const std::uint64_t data_available = image_size - std::min(image_size, header_start + header_length);
  if (elements > data_available / element_size(type)) {
    throw Error(where + ": shape " + shape_to_string(*fields.shape) + " of " + data_type_name(type) + " needs more than the " +
                std::to_string(data_available) + " bytes of data the file holds");
  }
  Tensor tensor = Tensor::uninitialized(type, *fields.shape);
  auto bytes = tensor.mutable_bytes();
  read_exactly(read, reinterpret_cast<char*>(bytes.data()), bytes.size(), where, "data");
  if (tensor.dtype() == onnx::TensorProto::BOOL) {
    // A bool must hold 0 or 1; numpy writes only those, but a stray byte must not become UB.
    for (std::byte& b : bytes) b = b != std::byte{0} ? std::byte{1} : std::byte{0};
  }
  return tensor;
}

Tensor npy_storable(const Tensor& tensor, const std::string& where) {
  if (tensor.dtype() == onnx::TensorProto::BFLOAT16) {
    // bfloat16 is the top half of a float32, so widening is exact.
    Tensor wide = Tensor::uninitialized(onnx::TensorProto::FLOAT, tensor.shape());
    auto in = tensor.data<BFloat16>();
    auto out = wide.mutable_data<float>();
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = std::bit_cast<float>(std::uint32_t{in[i].bits} << 16);
    return wide;
  }
  if (tensor.dtype() == onnx::TensorProto::STRING) throw Error(where + ": STRING tensors cannot be written to .npy");
  if (!tensor.defined()) throw Error(where + ": the tensor has no value");
  descr_of_type(tensor.dtype());  // throws for a type numpy's fixed set lacks
  return tensor;
}

std::string npy_header(const Tensor& storable) {
  std::string dict = "{'descr': '" + descr_of_type(storable.dtype()) +
                     "', 'fortran_order': False, 'shape': " + shape_literal(storable.shape()) + ", }";
  // Padded with spaces and ended by '\n' so the values start 64-byte aligned (as numpy does).
  const auto padded_length = [&](std::size_t preamble) { return (preamble + dict.size() + 1 + 63) / 64 * 64 - preamble; };
  const bool version1 = padded_length(10) <= 65535;
  dict.append(padded_length(version1 ? 10 : 12) - dict.size() - 1, ' ');
  dict += '\n';
  std::string header(kMagic);
  header += static_cast<char>(version1 ? 1 : 2);
  header += '\0';
  const std::uint32_t length = static_cast<std::uint32_t>(dict.size());
  for (std::size_t i = 0; i < (version1 ? 2u : 4u); ++i) header += static_cast<char>((length >> (8 * i)) & 0xff);
  return header + dict;
}

}  // namespace onnx_fp16::io
