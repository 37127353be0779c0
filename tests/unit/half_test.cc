// float32 <-> float16 / bfloat16 conversion: bit-exactness against IEEE round-to-nearest-even,
// the constant clamping rule, and agreement between the portable and the F16C bulk paths.
#include <gtest/gtest.h>

#include <bit>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "half/half.h"
#include "half/half_detail.h"
#include "onnx_fp16/error.h"

namespace {

using namespace onnx_fp16::half;

float from_bits(std::uint32_t bits) { return std::bit_cast<float>(bits); }
std::uint32_t to_bits(float value) { return std::bit_cast<std::uint32_t>(value); }
bool is_half_nan(std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }

// Independent decoding of a float16 pattern, straight from the IEEE 754 definition.
double decode_half_reference(std::uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0x1f) return sign * std::numeric_limits<double>::infinity();  // NaNs are checked apart
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

// Independent encoding of a finite float as float16: scale to an integer count of float16
// units at the value's binade and round with the FPU (round to nearest even by default).
std::uint16_t encode_half_reference(float value) {
  const std::uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  const double magnitude = std::fabs(static_cast<double>(value));
  int binade = 0;
  std::frexp(magnitude, &binade);            // magnitude in [2^(binade-1), 2^binade)
  const int unit_exponent = std::max(binade - 11, -24);  // 11 significant bits; subnormals use 2^-24
  const double units = std::nearbyint(std::ldexp(magnitude, -unit_exponent));
  const double rounded = std::ldexp(units, unit_exponent);
  if (rounded >= 65536.0) return sign | 0x7c00;
  if (rounded < std::ldexp(1.0, -14)) return sign | static_cast<std::uint16_t>(units);  // subnormal or zero
  int exponent = 0;
  const double fraction = std::frexp(rounded, &exponent);  // [0.5, 1)
  const auto mantissa = static_cast<std::uint16_t>(std::ldexp(fraction, 11)) & 0x3ff;
  return sign | static_cast<std::uint16_t>((exponent + 14) << 10) | mantissa;
}

TEST(HalfScalar, EveryHalfDecodesExactlyAndRoundTrips) {
  for (std::uint32_t pattern = 0; pattern < 0x10000; ++pattern) {
    const auto h = static_cast<std::uint16_t>(pattern);
    const float f = half_to_float(h);
    const std::uint16_t back = float_to_half(f);
    if (is_half_nan(h)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << pattern;
      ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << pattern;
      // Quiet bit set, sign and payload kept.
      ASSERT_EQ(back, h | 0x200) << std::hex << pattern;
    } else {
      ASSERT_EQ(static_cast<double>(f), decode_half_reference(h)) << std::hex << pattern;
      ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << pattern;
      ASSERT_EQ(back, h) << std::hex << pattern;
    }
  }
}

struct EdgeCase {
  float input;
  std::uint16_t expected;
  const char* what;
};

TEST(HalfScalar, EdgeCasesRoundToNearestEven) {
  const EdgeCase cases[] = {
      {0.0f, 0x0000, "zero"},
      {-0.0f, 0x8000, "negative zero keeps its sign"},
      {1.0f, 0x3c00, "one"},
      {-2.0f, 0xc000, "minus two"},
      {65504.0f, 0x7bff, "largest float16"},
      {std::nextafter(65520.0f, 0.0f), 0x7bff, "just below the overflow tie"},
      {65519.99f, 0x7bff, "65519.99"},
      {65520.0f, 0x7c00, "overflow tie rounds to infinity"},
      {-65520.0f, 0xfc00, "negative overflow"},
      {1e10f, 0x7c00, "far overflow"},
      {std::numeric_limits<float>::max(), 0x7c00, "FLT_MAX"},
      {std::numeric_limits<float>::infinity(), 0x7c00, "infinity"},
      {-std::numeric_limits<float>::infinity(), 0xfc00, "minus infinity"},
      {0x1p-24f, 0x0001, "smallest subnormal"},
      {0x1p-25f, 0x0000, "half the smallest subnormal ties to even zero"},
      {-0x1p-25f, 0x8000, "negative tie to zero keeps the sign"},
      {std::nextafter(0x1p-25f, 1.0f), 0x0001, "just above the tie rounds up"},
      {3 * 0x1p-25f, 0x0002, "1.5 units ties to even 2"},
      {5 * 0x1p-25f, 0x0002, "2.5 units ties to even 2"},
      {7 * 0x1p-25f, 0x0004, "3.5 units ties to even 4"},
      {1023.5f * 0x1p-24f, 0x0400, "largest subnormal + half rounds to smallest normal"},
      {0x1p-14f, 0x0400, "smallest normal"},
      {1.0f + 0x1p-11f, 0x3c00, "normal tie to even (down)"},
      {1.0f + 3 * 0x1p-11f, 0x3c02, "normal tie to even (up)"},
      {std::nextafter(1.0f + 0x1p-11f, 2.0f), 0x3c01, "just above a normal tie"},
      {2.0f - 0x1p-12f, 0x4000, "tie on an odd mantissa carries into the exponent"},
      {std::numeric_limits<float>::denorm_min(), 0x0000, "float subnormal underflows"},
      {-std::numeric_limits<float>::denorm_min(), 0x8000, "negative float subnormal underflows to -0"},
      {from_bits(0x7fc00000), 0x7e00, "quiet NaN"},
      {from_bits(0xffc00000), 0xfe00, "negative quiet NaN keeps the sign"},
      {from_bits(0x7fc02000), 0x7e01, "NaN payload top bits kept"},
      {from_bits(0x7f800001), 0x7e00, "signalling NaN with lost payload stays NaN (quiet)"},
      {from_bits(0x7fa00000), 0x7f00, "signalling NaN gets the quiet bit"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(float_to_half(c.input), c.expected) << c.what << " (input bits 0x" << std::hex << to_bits(c.input) << ")";
  }
}

TEST(HalfScalar, MatchesIndependentRoundingOnRandomFloats) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  std::mt19937 rng(12345);
  // Exponents from below the subnormal range to above the overflow threshold.
  std::uniform_int_distribution<std::uint32_t> exponent(97, 144), mantissa(0, 0x7fffff), sign(0, 1);
  for (int i = 0; i < 1'000'000; ++i) {
    const std::uint32_t bits = (sign(rng) << 31) | (exponent(rng) << 23) | mantissa(rng);
    const float f = from_bits(bits);
    ASSERT_EQ(float_to_half(f), encode_half_reference(f)) << "input bits 0x" << std::hex << bits;
  }
}

TEST(HalfBulk, HalvesToFloatsMatchesScalarForEveryPattern) {
  std::vector<std::uint16_t> all(0x10000);
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i);
  std::vector<float> bulk(all.size());
  halves_to_floats(all, bulk);
  for (std::uint32_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(to_bits(bulk[i]), to_bits(half_to_float(all[i]))) << std::hex << i;
  }
}

// Random bit patterns (mostly out of float16 range) and values drawn inside it.
std::vector<float> random_floats(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::uint32_t> any, exponent(97, 144), mantissa(0, 0x7fffff), sign(0, 1);
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t bits = (i % 2 == 0) ? any(rng) : ((sign(rng) << 31) | (exponent(rng) << 23) | mantissa(rng));
    values[i] = from_bits(bits);
  }
  return values;
}

void expect_same_halves(const std::vector<std::uint16_t>& a, const std::vector<std::uint16_t>& b,
                        const std::vector<float>& input) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i], b[i]) << "at " << i << ", input bits 0x" << std::hex << to_bits(input[i]);
  }
}

// The portable bulk path has its own branch-free conversion (for vectorisation): it must give
// float_to_half's bits for every input, in whole blocks and in the scalar tail.
TEST(HalfBulk, PortableBulkMatchesScalarOnTenMillionRandomFloats) {
  const std::vector<float> input = random_floats(10'000'000 + 517, 31337);
  std::vector<std::uint16_t> bulk(input.size()), scalar(input.size());
  detail::portable_floats_to_halves(input.data(), bulk.data(), input.size());
  for (std::size_t i = 0; i < input.size(); ++i) scalar[i] = float_to_half(input[i]);
  expect_same_halves(scalar, bulk, input);
}

// Every float16 value, and the midpoints between neighbours (the ties), through the bulk path.
TEST(HalfBulk, PortableBulkRoundsEveryTieLikeScalar) {
  std::vector<float> input;
  for (std::uint32_t h = 0; h < 0x7c00; ++h) {
    const double here = decode_half_reference(static_cast<std::uint16_t>(h));
    const double next = decode_half_reference(static_cast<std::uint16_t>(h + 1));  // 0x7c00: infinity
    const double midpoint = h + 1 < 0x7c00 ? (here + next) / 2 : 65520.0;
    for (float v : {static_cast<float>(here), static_cast<float>(midpoint)}) {
      input.push_back(v);
      input.push_back(-v);
    }
  }
  std::vector<std::uint16_t> bulk(input.size()), scalar(input.size());
  detail::portable_floats_to_halves(input.data(), bulk.data(), input.size());
  for (std::size_t i = 0; i < input.size(); ++i) scalar[i] = float_to_half(input[i]);
  expect_same_halves(scalar, bulk, input);
}

// Bulk clamping (integer tests in the portable path, float compares with F16C) must agree with
// clamp_constant for any rule, including ones no caller should pass.
TEST(HalfBulk, ClampedPathsAgreeWithScalarForAnyRule) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const ClampRule rules[] = {{1e-7f, 1e4f}, {6e-8f, 65504.0f}, {0.0f, inf},  {-1e-3f, -5.0f}, {nan, nan},
                             {inf, 0.0f},   {-0.0f, -0.0f},     {1.0f, 0.5f}, {1e-30f, 1e30f}};
  std::vector<float> input = random_floats(50'000, 11);
  for (float special : {0.0f, -0.0f, inf, -inf, nan, 1e-7f, -1e4f, 65504.0f, 6e-8f, 0.5f, 1.0f}) input.push_back(special);
  for (const ClampRule& rule : rules) {
    std::vector<std::uint16_t> expected(input.size());
    std::size_t expected_changed = 0;
    for (std::size_t i = 0; i < input.size(); ++i) {
      const float clamped = clamp_constant(input[i], rule.min_positive, rule.max_finite);
      expected_changed += to_bits(clamped) != to_bits(input[i]);
      expected[i] = float_to_half(clamped);
    }
    std::vector<std::uint16_t> out(input.size());
    EXPECT_EQ(detail::portable_floats_to_halves_clamped(input.data(), out.data(), input.size(), rule), expected_changed)
        << rule.min_positive << " " << rule.max_finite;
    expect_same_halves(expected, out, input);
#if defined(ONNX_FP16_HAVE_F16C_PATH)
    if (cpu_has_f16c()) {
      EXPECT_EQ(detail::f16c_floats_to_halves_clamped(input.data(), out.data(), input.size(), rule), expected_changed)
          << rule.min_positive << " " << rule.max_finite;
      expect_same_halves(expected, out, input);
    }
#endif
  }
}

#if defined(ONNX_FP16_HAVE_F16C_PATH)
// The dispatch reads CPUID itself: it must find F16C and AVX where the kernel reports them (a
// wrong bit would silently fall back to the slow loops, or crash on a CPU without them).
TEST(HalfBulk, DetectsF16cAsTheKernelReportsIt) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  if (!cpuinfo) GTEST_SKIP() << "no /proc/cpuinfo";
  std::string line;
  bool f16c = false, avx = false;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    f16c = line.find(" f16c") != std::string::npos;
    avx = line.find(" avx") != std::string::npos;
    break;
  }
  EXPECT_EQ(cpu_has_f16c(), f16c && avx);
}

TEST(HalfBulk, F16cAgreesWithPortableOnTenMillionRandomFloats) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "this CPU has no F16C";
  const std::vector<float> input = random_floats(10'000'000, 2024);
  std::vector<std::uint16_t> portable(input.size()), f16c(input.size());
  detail::portable_floats_to_halves(input.data(), portable.data(), input.size());
  detail::f16c_floats_to_halves(input.data(), f16c.data(), input.size());
  expect_same_halves(portable, f16c, input);

  const ClampRule rule;
  const std::size_t portable_changed =
      detail::portable_floats_to_halves_clamped(input.data(), portable.data(), input.size(), rule);
  const std::size_t f16c_changed = detail::f16c_floats_to_halves_clamped(input.data(), f16c.data(), input.size(), rule);
  EXPECT_GT(portable_changed, 0u);
  EXPECT_EQ(portable_changed, f16c_changed);
  expect_same_halves(portable, f16c, input);
}

TEST(HalfBulk, F16cHalvesToFloatsAgreesWithPortableIncludingNaNs) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "this CPU has no F16C";
  std::vector<std::uint16_t> all(0x10000);
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i);
  std::vector<float> portable(all.size()), f16c(all.size());
  detail::portable_halves_to_floats(all.data(), portable.data(), all.size());
  detail::f16c_halves_to_floats(all.data(), f16c.data(), all.size());
  for (std::uint32_t i = 0; i < all.size(); ++i) ASSERT_EQ(to_bits(portable[i]), to_bits(f16c[i])) << std::hex << i;
}

// The vector path of largest_finite_magnitude against the portable loop, bit for bit: every
// length up to past two whole steps (the tail), and the special values (infinities, NaNs of
// both signs, subnormals, float32's largest) at every position of a step.
TEST(HalfBulk, AvxLargestFiniteMagnitudeAgreesWithPortable) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "this CPU has no F16C";
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float specials[] = {inf, -inf, nan, -nan, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::max()};
  const std::vector<float> input = random_floats(80, 11);
  for (std::size_t n = 0; n <= input.size(); ++n) {
    ASSERT_EQ(to_bits(detail::avx_largest_finite_magnitude(input.data(), n)),
              to_bits(detail::portable_largest_finite_magnitude(input.data(), n))) << "n=" << n;
  }
  for (const float special : specials) {
    for (std::size_t at = 0; at < 40; ++at) {
      std::vector<float> values(64, 0.5f);
      values[at] = special;
      ASSERT_EQ(to_bits(detail::avx_largest_finite_magnitude(values.data(), values.size())),
                to_bits(detail::portable_largest_finite_magnitude(values.data(), values.size())))
          << "special " << special << " at " << at;
    }
  }
  std::vector<float> tiny(100, -std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(detail::avx_largest_finite_magnitude(tiny.data(), tiny.size()), std::numeric_limits<float>::denorm_min());
  const std::vector<float> many = random_floats(100'003, 5);
  EXPECT_EQ(to_bits(largest_finite_magnitude(many)), to_bits(detail::portable_largest_finite_magnitude(many.data(), many.size())));
}

TEST(HalfBulk, F16cTailsOfEveryLengthMatchScalar) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "this CPU has no F16C";
  const std::vector<float> input = random_floats(40, 7);
  for (std::size_t n = 0; n <= input.size(); ++n) {
    std::vector<std::uint16_t> out(n, 0xdead);
    detail::f16c_floats_to_halves(input.data(), out.data(), n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], float_to_half(input[i])) << "n=" << n << " i=" << i;
    std::vector<float> back(n);
    detail::f16c_halves_to_floats(out.data(), back.data(), n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(to_bits(back[i]), to_bits(half_to_float(out[i]))) << "n=" << n;
  }
}
#endif

TEST(HalfBulk, DispatchedFloatsToHalvesMatchesScalar) {
  const std::vector<float> input = random_floats(100'003, 99);
  std::vector<std::uint16_t> bulk(input.size()), scalar(input.size());
  floats_to_halves(input, bulk);
  for (std::size_t i = 0; i < input.size(); ++i) scalar[i] = float_to_half(input[i]);
  expect_same_halves(scalar, bulk, input);
}

TEST(HalfBulk, SizeMismatchIsAnError) {
  std::vector<float> in(4);
  std::vector<std::uint16_t> out(3);
  EXPECT_THROW(floats_to_halves(in, out), onnx_fp16::Error);
  EXPECT_THROW(floats_to_halves_clamped(in, out, {}), onnx_fp16::Error);
  EXPECT_THROW(floats_to_bfloat16s(in, out), onnx_fp16::Error);
}

TEST(BFloat16, RoundsToNearestEvenAndKeepsNaN) {
  struct Case {
    std::uint32_t input;
    std::uint16_t expected;
    const char* what;
  };
  const Case cases[] = {
      {0x3f800000, 0x3f80, "one"},
      {0x80000000, 0x8000, "negative zero"},
      {0x3f808000, 0x3f80, "tie rounds to even (down)"},
      {0x3f818000, 0x3f82, "tie rounds to even (up)"},
      {0x3f808001, 0x3f81, "just above a tie rounds up"},
      {0x3f807fff, 0x3f80, "just below a tie rounds down"},
      {0x7f7fffff, 0x7f80, "FLT_MAX rounds to infinity"},
      {0x7f7f7fff, 0x7f7f, "largest value that stays finite"},
      {0x7f800000, 0x7f80, "infinity"},
      {0xff800000, 0xff80, "minus infinity"},
      {0x7fc00000, 0x7fc0, "quiet NaN"},
      {0x7f800001, 0x7fc0, "signalling NaN with only low payload stays NaN"},
      {0xffffffff, 0xffff, "all-ones NaN must not round into a carry"},
      {0xff800001, 0xffc0, "negative NaN keeps its sign"},
      {0x00000001, 0x0000, "float subnormal rounds to zero"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(float_to_bfloat16(from_bits(c.input)), c.expected) << c.what;
  }
  EXPECT_EQ(bfloat16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(to_bits(bfloat16_to_float(0xc049)), 0xc0490000u);
}

TEST(BFloat16, BulkMatchesScalar) {
  const std::vector<float> input = random_floats(10'001, 5);
  std::vector<std::uint16_t> bulk(input.size());
  floats_to_bfloat16s(input, bulk);
  std::vector<float> back(input.size());
  bfloat16s_to_floats(bulk, back);
  for (std::size_t i = 0; i < input.size(); ++i) {
    ASSERT_EQ(bulk[i], float_to_bfloat16(input[i])) << i;
    ASSERT_EQ(to_bits(back[i]), std::uint32_t{bulk[i]} << 16) << i;
  }
}

TEST(Clamp, FollowsTheSpecRule) {
  const float min_positive = 1e-7f, max_finite = 1e4f;
  const float inf = std::numeric_limits<float>::infinity();
  auto clamp = [&](float v) { return clamp_constant(v, min_positive, max_finite); };
  EXPECT_EQ(clamp(1e-8f), 1e-7f);
  EXPECT_EQ(clamp(-1e-8f), -1e-7f);
  EXPECT_EQ(clamp(std::numeric_limits<float>::denorm_min()), 1e-7f);
  EXPECT_EQ(clamp(std::nextafter(1e-7f, 0.0f)), 1e-7f);
  EXPECT_EQ(clamp(1e-7f), 1e-7f);
  EXPECT_EQ(clamp(2e-7f), 2e-7f);
  EXPECT_EQ(to_bits(clamp(0.0f)), 0u);
  EXPECT_EQ(to_bits(clamp(-0.0f)), 0x80000000u);
  EXPECT_EQ(clamp(2e4f), 1e4f);
  EXPECT_EQ(clamp(-2e4f), -1e4f);
  EXPECT_EQ(clamp(std::numeric_limits<float>::max()), 1e4f);
  EXPECT_EQ(clamp(std::nextafter(1e4f, inf)), 1e4f);
  EXPECT_EQ(clamp(1e4f), 1e4f);
  EXPECT_EQ(clamp(-9999.0f), -9999.0f);
  EXPECT_EQ(clamp(inf), inf);
  EXPECT_EQ(clamp(-inf), -inf);
  EXPECT_EQ(to_bits(clamp(from_bits(0xffc00123))), 0xffc00123u);
  EXPECT_EQ(to_bits(clamp(from_bits(0x7f800001))), 0x7f800001u);
}

// The bulk clamped conversion on a crafted array: counts and bits, with the clamped values
// in the vector body and in the tail. Run on whichever paths this CPU has.
TEST(Clamp, BulkClampedCountsAndConverts) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> input = {1e-8f,  -1e-8f, 0.0f, -0.0f, 2e4f, -2e4f, inf,    -inf,   from_bits(0x7fc00001),
                                    1.0f,   1e-7f,  1e4f, 3e-9f, 5e5f, 0.5f,  -1e-30f, 65520.0f};
  std::size_t manual = 0;
  std::vector<std::uint16_t> expected(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) {
    const float clamped = clamp_constant(input[i], 1e-7f, 1e4f);
    manual += to_bits(clamped) != to_bits(input[i]);
    expected[i] = float_to_half(clamped);
  }
  ASSERT_EQ(manual, 8u);  // 1e-8, -1e-8, 2e4, -2e4, 3e-9, 5e5, -1e-30, 65520

  std::vector<std::uint16_t> out(input.size());
  EXPECT_EQ(detail::portable_floats_to_halves_clamped(input.data(), out.data(), input.size(), {}), manual);
  EXPECT_EQ(out, expected);
  EXPECT_EQ(floats_to_halves_clamped(input, out, {}), manual);
  EXPECT_EQ(out, expected);
  EXPECT_EQ(out[0], float_to_half(1e-7f));
  EXPECT_EQ(out[4], float_to_half(1e4f));
  EXPECT_EQ(out[5], float_to_half(-1e4f));
  EXPECT_EQ(out[16], float_to_half(1e4f));  // 65520 would have become inf without clamping
#if defined(ONNX_FP16_HAVE_F16C_PATH)
  if (cpu_has_f16c()) {
    std::fill(out.begin(), out.end(), 0);
    EXPECT_EQ(detail::f16c_floats_to_halves_clamped(input.data(), out.data(), input.size(), {}), manual);
    EXPECT_EQ(out, expected);
  }
#endif
  // A custom rule is honoured.
  const float custom_input[] = {0.5f, 3.0f};
  std::uint16_t custom_out[2];
  EXPECT_EQ(floats_to_halves_clamped(custom_input, custom_out, ClampRule{1.0f, 2.0f}), 2u);
  EXPECT_EQ(custom_out[0], 0x3c00);
  EXPECT_EQ(custom_out[1], 0x4000);
}

}  // namespace

// The largest finite |x|, from the bits: infinities and NaN (of either sign) left out, -0 and
// subnormals counted by magnitude, 0 for nothing finite. It decides whether clamp_constant's
// upper bound changes a constant (the incremental engine) and whether float16 holds a value
// (the range screen).
TEST(HalfClamp, LargestFiniteMagnitudeLeavesOutInfinityAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values{-3.0f, inf, -inf, nan, -65504.5f, 2.0f, -nan};
  EXPECT_EQ(onnx_fp16::half::largest_finite_magnitude(values), 65504.5f);
  EXPECT_EQ(onnx_fp16::half::largest_finite_magnitude(std::vector<float>{inf, nan, -inf}), 0.0f);
  EXPECT_EQ(onnx_fp16::half::largest_finite_magnitude(std::vector<float>{}), 0.0f);
  const float subnormal = std::numeric_limits<float>::denorm_min();
  EXPECT_EQ(onnx_fp16::half::largest_finite_magnitude(std::vector<float>{-0.0f, -subnormal}), subnormal);
  EXPECT_EQ(onnx_fp16::half::largest_finite_magnitude(std::vector<float>{-std::numeric_limits<float>::max()}),
            std::numeric_limits<float>::max());
}
