#include "runtime/tensor_cast.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

#include "half/half.h"
#include "onnx_fp16/error.h"
#include "runtime/element_types.h"
#include "runtime/float_compute.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

namespace {

// Decimal digits "d1d2d3..." meaning 0.d1d2d3... * 10^(exponent + 1), written as numpy does:
// positional for 1e-4 <= |x| < 1e16 (with ".0" for whole numbers), scientific otherwise.
std::string numpy_style(bool negative, const std::string& digits, int exponent) {
  std::string text = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      const auto whole = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= whole) {
        text += digits + std::string(whole - digits.size(), '0') + ".0";
      } else {
        text += digits.substr(0, whole) + "." + digits.substr(whole);
      }
    } else {
      text.append("0.").append(static_cast<std::size_t>(-exponent - 1), '0').append(digits);
    }
    return text;
  }
  text += digits.substr(0, 1);
  if (digits.size() > 1) text.append(".").append(digits, 1);
  char exponent_text[16];
  std::snprintf(exponent_text, sizeof exponent_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return text + exponent_text;
}

// Splits scientific text "-6.048455e-01" into sign, digits "6048455" and exponent -1, with
// trailing zeros of the digits dropped.
std::string from_scientific(std::string_view scientific) {
  const bool negative = scientific.starts_with('-');
  if (negative) scientific.remove_prefix(1);
  const auto e = scientific.find('e');
  std::string digits;
  for (const char c : scientific.substr(0, e)) {
    if (c != '.') digits += c;
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int exponent = std::atoi(std::string(scientific.substr(e + 1)).c_str());
  return numpy_style(negative, digits, exponent);
}

template <typename F>
std::string special_or_empty(F value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  return {};
}

template <typename F>
std::string shortest_text(F value) {
  if (auto special = special_or_empty(value); !special.empty()) return special;
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  return from_scientific(std::string_view(buffer, result.ptr));
}

// The shortest text whose float16 (or bfloat16) rounding gives the same bits back.
template <typename Round>
std::string shortest_16bit_text(float value, std::uint16_t bits, Round round) {
  if (auto special = special_or_empty(value); !special.empty()) return special;
  char buffer[64];
  for (int precision = 0; precision < 9; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision, static_cast<double>(value));
    if (round(std::strtof(buffer, nullptr)) == bits) return from_scientific(buffer);
  }
  return shortest_text(value);
}

template <typename S>
std::string to_text(const S& value) {
  if constexpr (std::is_same_v<S, bool>) {
    return value ? "True" : "False";
  } else if constexpr (std::is_same_v<S, Float16>) {
    return half_to_text(value);
  } else if constexpr (std::is_same_v<S, BFloat16>) {
    return bfloat16_to_text(value);
  } else if constexpr (std::is_floating_point_v<S>) {
    return float_to_text(value);
  } else {
    return std::to_string(value);
  }
}

[[noreturn]] void not_a_number(const std::string& text, DataType to) {
  throw Error("cannot cast string '" + text + "' to " + data_type_name(to));
}

template <typename S>
S from_text(const std::string& text) {
  constexpr DataType to = data_type_of<S>;
  if constexpr (std::is_same_v<S, bool>) {
    if (text == "True" || text == "true" || text == "1") return true;
    if (text == "False" || text == "false" || text == "0" || text.empty()) return false;
    not_a_number(text, to);
  } else if constexpr (is_float_storage_v<S>) {
    // strtod reads "1e-5", "NaN", "INF", "+INF", "-inf" (ONNX's test data uses all of them).
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) not_a_number(text, to);
    return convert_value<S>(value);
  } else {
    S value{};
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
    if (result.ec != std::errc() || result.ptr != text.data() + text.size()) not_a_number(text, to);
    return value;
  }
}

}  // namespace

std::string float_to_text(double value) { return shortest_text(value); }
std::string float_to_text(float value) { return shortest_text(value); }
std::string half_to_text(Float16 value) {
  return shortest_16bit_text(half::half_to_float(value.bits), value.bits, [](float f) { return half::float_to_half(f); });
}
std::string bfloat16_to_text(BFloat16 value) {
  return shortest_16bit_text(half::bfloat16_to_float(value.bits), value.bits,
                             [](float f) { return half::float_to_bfloat16(f); });
}

namespace {

// The casts between float32 and float16 / bfloat16 in bulk (F16C where the CPU has it), and a
// float16 / bfloat16 tensor to double through float32 (exact) in chunks: the bits of the element
// loop below, whose conversions the bulk ones are tested against (HalfBulk, BFloat16 tests:
// every float16 pattern, millions of floats, NaNs included). A converted model's Casts and the
// search's acceptance (its outputs to float16, then to double to judge them) make these casts on
// every run; one element at a time they were 10% of PaddleOCR rec's attempts (2026-12-07).
// nullopt: not one of these casts.
std::optional<Tensor> cast_16bit_floats_in_bulk(const Tensor& input, DataType to) {
  const DataType from = input.dtype();
  auto widened = [&]<typename S>(std::type_identity<S>) {
    Tensor output = Tensor::uninitialized(to, input.shape());
    const auto in = input.data<S>();
    if (to == onnx::TensorProto::FLOAT) {
      widen_to_float(in, output.mutable_data<float>());
      return output;
    }
    const auto out = output.mutable_data<double>();
    constexpr std::size_t kChunk = 4096;
    float chunk[kChunk];
    for (std::size_t begin = 0; begin < in.size(); begin += kChunk) {
      const std::size_t count = std::min(kChunk, in.size() - begin);
      widen_to_float(in.subspan(begin, count), std::span<float>(chunk, count));
      for (std::size_t i = 0; i < count; ++i) out[begin + i] = chunk[i];
    }
    return output;
  };
  if (from == onnx::TensorProto::FLOAT && to == onnx::TensorProto::FLOAT16) {
    Tensor output = Tensor::uninitialized(to, input.shape());
    round_from_float(input.data<float>(), output.mutable_data<Float16>());
    return output;
  }
  if (from == onnx::TensorProto::FLOAT && to == onnx::TensorProto::BFLOAT16) {
    Tensor output = Tensor::uninitialized(to, input.shape());
    round_from_float(input.data<float>(), output.mutable_data<BFloat16>());
    return output;
  }
  if (to != onnx::TensorProto::FLOAT && to != onnx::TensorProto::DOUBLE) return std::nullopt;
  if (from == onnx::TensorProto::FLOAT16) return widened(std::type_identity<Float16>{});
  if (from == onnx::TensorProto::BFLOAT16) return widened(std::type_identity<BFloat16>{});
  return std::nullopt;
}

}  // namespace

Tensor cast_tensor(const Tensor& input, DataType to) {
  if (input.dtype() == to) return input;
  if (std::optional<Tensor> bulk = cast_16bit_floats_in_bulk(input, to)) return std::move(*bulk);
  Tensor output = Tensor::uninitialized(to, input.shape());
  dispatch<AllTypes>(input.dtype(), [&]<typename From>(std::type_identity<From>) {
    const auto in = input.data<From>();
    dispatch<AllTypes>(to, [&]<typename To>(std::type_identity<To>) {
      auto out = output.mutable_data<To>();
      for (std::size_t i = 0; i < in.size(); ++i) {
        if constexpr (std::is_same_v<To, From>) {
          out[i] = in[i];  // not reached (same type returns above), but instantiated
        } else if constexpr (std::is_same_v<To, std::string>) {
          out[i] = to_text(in[i]);
        } else if constexpr (std::is_same_v<From, std::string>) {
          out[i] = from_text<To>(in[i]);
        } else {
          out[i] = convert_value<To>(in[i]);
        }
      }
    });
  });
  return output;
}

}  // namespace onnx_fp16::runtime
