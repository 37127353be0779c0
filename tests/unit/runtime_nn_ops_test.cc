// The nn kernel families through the public Evaluator: convolutions against naive loops, pooling
// indices and padding rules, Resize's modes against hand-computed samples, recurrent layers
// against scalar step-by-step references, detection and quantization ops on small cases.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "half/half.h"
#include "modelgen/builder.h"
#include "runtime/kernels/nn_im2col.h"
#include "support/run_node.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Float16;
using onnx_fp16::Tensor;
namespace half = onnx_fp16::half;
using Shape = std::vector<std::int64_t>;

// ---- running one node -------------------------------------------------------------------------

struct Input {
  std::string name;  // empty: an omitted optional input
  Tensor value;
};
using Attributes = std::function<void(onnx::NodeProto&)>;

// Runs one `op` node on the inputs (graph inputs of their own shapes) and returns its outputs.
std::map<std::string, Tensor> run_node(const std::string& op, const std::vector<Input>& inputs,
                                       const std::vector<std::string>& outputs, const Attributes& attributes = {},
                                       int opset = 17) {
  auto model = modelgen::make_model(opset);
  GraphBuilder g(model.mutable_graph());
  std::vector<std::string> names;
  std::map<std::string, Tensor> feeds;
  for (const auto& input : inputs) {
    names.push_back(input.name);
    if (input.name.empty()) continue;
    std::vector<modelgen::Dim> dims(input.value.shape().begin(), input.value.shape().end());
    g.input(input.name, input.value.dtype(), dims);
    feeds[input.name] = input.value;
  }
  for (const auto& output : outputs) {
    if (!output.empty()) g.output_untyped(output);
  }
  auto& node = g.node(op, names, outputs, "node");
  if (attributes) attributes(node);
  return onnx_fp16::Evaluator(model, {.threads = 1, .keep = {}}).run(feeds);
}

Tensor run_one(const std::string& op, const std::vector<Input>& inputs, const Attributes& attributes = {},
               int opset = 17) {
  return run_node(op, inputs, {"y"}, attributes, opset).at("y");
}

void set_floats(onnx::NodeProto& node, const std::string& name, const std::vector<float>& values) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOATS);
  for (const float v : values) a->add_floats(v);
}

void set_strings(onnx::NodeProto& node, const std::string& name, const std::vector<std::string>& values) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRINGS);
  for (const auto& v : values) a->add_strings(v);
}

// ---- values -----------------------------------------------------------------------------------

std::size_t count_of(const Shape& shape) {
  std::size_t n = 1;
  for (const auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

// Deterministic values in [-1, 1): a small linear congruential generator.
std::vector<float> pseudo_random(std::size_t n, std::uint32_t seed) {
  std::vector<float> values(n);
  for (auto& v : values) {
    seed = seed * 1664525u + 1013904223u;
    v = static_cast<float>(seed >> 8) / static_cast<float>(1u << 23) - 1.0f;
  }
  return values;
}

Tensor floats(const Shape& shape, const std::vector<float>& values) {
  return Tensor::from_vector<float>(shape, values);
}

Tensor halves(const Shape& shape, const std::vector<float>& values) {
  Tensor t = Tensor::uninitialized(onnx::TensorProto::FLOAT16, shape);
  auto out = t.mutable_data<Float16>();
  for (std::size_t i = 0; i < values.size(); ++i) out[i].bits = half::float_to_half(values[i]);
  return t;
}

std::vector<float> values_of(const Tensor& t) {
  if (t.dtype() == onnx::TensorProto::FLOAT16) {
    std::vector<float> out;
    for (const auto v : t.data<Float16>()) out.push_back(half::half_to_float(v.bits));
    return out;
  }
  const auto data = t.data<float>();
  return {data.begin(), data.end()};
}

void expect_near_all(const std::vector<float>& actual, const std::vector<float>& expected, float tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tolerance) << "at " << i;
}

// ---- naive convolution references -------------------------------------------------------------

struct ConvParams {
  Shape x, w;
  std::int64_t group = 1;
  Shape strides, dilations, pads;  // pads: begins then ends
};

// Multi-index odometer over `dims`; returns false after the last index.
bool next_index(std::vector<std::int64_t>& index, const Shape& dims) {
  for (std::size_t a = dims.size(); a-- > 0;) {
    if (++index[a] < dims[a]) return true;
    index[a] = 0;
  }
  return false;
}

// Conv by definition, in double: y[n, m, o] = b[m] + sum_{c, k} x[n, g*C/G + c, o*s - p + k*d] w[m, c, k].
std::vector<float> naive_conv(const ConvParams& p, const std::vector<float>& x, const std::vector<float>& w,
                              const std::vector<float>& b, Shape& out_shape) {
  const std::size_t rank = p.x.size() - 2;
  Shape in(p.x.begin() + 2, p.x.end()), k(p.w.begin() + 2, p.w.end()), out;
  for (std::size_t a = 0; a < rank; ++a) {
    out.push_back((in[a] + p.pads[a] + p.pads[rank + a] - (k[a] - 1) * p.dilations[a] - 1) / p.strides[a] + 1);
  }
  out_shape = {p.x[0], p.w[0]};
  out_shape.insert(out_shape.end(), out.begin(), out.end());
  const std::int64_t cg = p.x[1] / p.group, mg = p.w[0] / p.group;
  std::vector<float> y;
  for (std::int64_t n = 0; n < p.x[0]; ++n) {
    for (std::int64_t m = 0; m < p.w[0]; ++m) {
      std::vector<std::int64_t> o(rank, 0);
      do {
        double sum = b.empty() ? 0.0 : b[static_cast<std::size_t>(m)];
        for (std::int64_t c = 0; c < cg; ++c) {
          std::vector<std::int64_t> kk(rank, 0);
          do {
            std::size_t xi = static_cast<std::size_t>(n * p.x[1] + (m / mg) * cg + c);
            std::size_t wi = static_cast<std::size_t>(m * cg + c);
            bool inside = true;
            for (std::size_t a = 0; a < rank; ++a) {
              const std::int64_t coord = o[a] * p.strides[a] - p.pads[a] + kk[a] * p.dilations[a];
              inside = inside && coord >= 0 && coord < in[a];
              xi = xi * static_cast<std::size_t>(in[a]) + static_cast<std::size_t>(coord);
              wi = wi * static_cast<std::size_t>(k[a]) + static_cast<std::size_t>(kk[a]);
            }
            if (inside) sum += static_cast<double>(x[xi]) * w[wi];
          } while (next_index(kk, k));
        }
        y.push_back(static_cast<float>(sum));
      } while (next_index(o, out));
    }
  }
  return y;
}

Attributes conv_attributes(const ConvParams& p) {
  return [p](onnx::NodeProto& node) {
    modelgen::attr_int(node, "group", p.group);
    modelgen::attr_ints(node, "strides", p.strides);
    modelgen::attr_ints(node, "dilations", p.dilations);
    modelgen::attr_ints(node, "pads", p.pads);
  };
}

void check_conv_against_naive(const ConvParams& p) {
  const auto x = pseudo_random(count_of(p.x), 1);
  const auto w = pseudo_random(count_of(p.w), 2);
  const auto b = pseudo_random(static_cast<std::size_t>(p.w[0]), 3);
  Shape expected_shape;
  const auto expected = naive_conv(p, x, w, b, expected_shape);
  const Tensor y =
      run_one("Conv", {{"x", floats(p.x, x)}, {"w", floats(p.w, w)}, {"b", floats({p.w[0]}, b)}}, conv_attributes(p));
  ASSERT_EQ(y.shape(), expected_shape);
  expect_near_all(values_of(y), expected, 1e-4f);
}

TEST(RuntimeNnOps, Conv2dWithGroupsDilationsStridesAndAsymmetricPads) {
  check_conv_against_naive(
      {.x = {2, 4, 7, 6}, .w = {6, 2, 3, 2}, .group = 2, .strides = {2, 1}, .dilations = {2, 1}, .pads = {1, 0, 2, 1}});
}

TEST(RuntimeNnOps, DepthwiseConv2d) {
  check_conv_against_naive(
      {.x = {1, 3, 5, 5}, .w = {3, 1, 3, 3}, .group = 3, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}});
}

// The depthwise kernel's contract, bit for bit: each output sums its taps in kernel order
// (row, then column) into a float32 accumulator from zero, skipping taps in the padding, and
// then adds the bias (or not, without one). Widths of 70, 112, 32, 21, 16 and 3 take its blocks
// of 64 columns and of one to four vectors, the last one partial or whole, heights of 19, 9, 6
// and 3 its groups of four rows and the rows left over; strides, dilations and pads wider than
// the window take its column phases and padded rows.
TEST(RuntimeNnOps, DepthwiseConv2dSumsTapsInKernelOrderBitForBit) {
  const std::vector<ConvParams> cases = {
      {.x = {2, 3, 19, 21}, .w = {3, 1, 3, 3}, .group = 3, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}},
      {.x = {1, 4, 20, 23}, .w = {4, 1, 5, 5}, .group = 4, .strides = {2, 2}, .dilations = {1, 1}, .pads = {2, 2, 2, 2}},
      {.x = {1, 2, 17, 40}, .w = {2, 1, 3, 3}, .group = 2, .strides = {3, 2}, .dilations = {2, 3}, .pads = {0, 4, 3, 1}},
      {.x = {1, 2, 3, 3}, .w = {2, 1, 3, 3}, .group = 2, .strides = {1, 1}, .dilations = {1, 1}, .pads = {4, 4, 4, 4}},
      {.x = {1, 3, 12, 9}, .w = {3, 1, 2, 4}, .group = 3, .strides = {1, 3}, .dilations = {1, 1}, .pads = {0, 0, 1, 2}},
      {.x = {1, 2, 5, 70}, .w = {2, 1, 3, 3}, .group = 2, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}},
      {.x = {1, 2, 9, 32}, .w = {2, 1, 3, 3}, .group = 2, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}},
      {.x = {1, 2, 5, 112}, .w = {2, 1, 3, 3}, .group = 2, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}},
      {.x = {1, 2, 6, 16}, .w = {2, 1, 3, 3}, .group = 2, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}},
  };
  for (const auto& p : cases) {
    for (const bool with_bias : {true, false}) {
      SCOPED_TRACE(onnx_fp16::shape_to_string(p.x) + " kernel " + onnx_fp16::shape_to_string(p.w) +
                   (with_bias ? " with bias" : " without bias"));
      const auto x = pseudo_random(count_of(p.x), 11);
      const auto w = pseudo_random(count_of(p.w), 12);
      const auto b = pseudo_random(static_cast<std::size_t>(p.w[0]), 13);
      Shape shape;
      naive_conv(p, x, w, b, shape);
      const std::int64_t in_h = p.x[2], in_w = p.x[3], k_h = p.w[2], k_w = p.w[3];
      std::vector<float> expected;
      for (std::int64_t plane = 0; plane < p.x[0] * p.x[1]; ++plane) {
        const std::int64_t c = plane % p.x[1];
        for (std::int64_t oh = 0; oh < shape[2]; ++oh) {
          for (std::int64_t ow = 0; ow < shape[3]; ++ow) {
            float sum = 0.0f;
            for (std::int64_t kh = 0; kh < k_h; ++kh) {
              for (std::int64_t kw = 0; kw < k_w; ++kw) {
                const std::int64_t ih = oh * p.strides[0] - p.pads[0] + kh * p.dilations[0];
                const std::int64_t iw = ow * p.strides[1] - p.pads[1] + kw * p.dilations[1];
                if (ih < 0 || ih >= in_h || iw < 0 || iw >= in_w) continue;
                sum += w[static_cast<std::size_t>((c * k_h + kh) * k_w + kw)] *
                       x[static_cast<std::size_t>((plane * in_h + ih) * in_w + iw)];
              }
            }
            expected.push_back(with_bias ? sum + b[static_cast<std::size_t>(c)] : sum);
          }
        }
      }
      std::vector<Input> inputs = {{"x", floats(p.x, x)}, {"w", floats(p.w, w)}};
      if (with_bias) inputs.push_back({"b", floats({p.w[0]}, b)});
      const Tensor y = run_one("Conv", inputs, conv_attributes(p));
      ASSERT_EQ(y.shape(), shape);
      const auto got = values_of(y);
      ASSERT_EQ(got.size(), expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << "output " << i;
    }
  }
}

// A padded copy of the plane would multiply an infinite tap by a padding zero (NaN); the padding
// adds nothing instead, so outputs whose infinite tap falls in the padding stay finite.
TEST(RuntimeNnOps, DepthwiseConv2dInfiniteTapAddsNothingInThePadding) {
  const float inf = std::numeric_limits<float>::infinity();
  // Inputs of one, 3x3 taps of one with +inf top-left in the first channel, pads 1: the first
  // row and column of outputs read the infinite tap in the padding.
  std::vector<float> w(9, 1.0f);
  w[0] = inf;
  const ConvParams p{.x = {1, 2, 4, 4}, .w = {2, 1, 3, 3}, .group = 2, .strides = {1, 1}, .dilations = {1, 1},
                     .pads = {1, 1, 1, 1}};
  std::vector<float> weights = w;
  weights.insert(weights.end(), 9, 1.0f);  // the second channel is finite
  const Tensor y = run_one("Conv", {{"x", floats(p.x, std::vector<float>(32, 1.0f))}, {"w", floats(p.w, weights)}},
                           conv_attributes(p));
  const auto got = values_of(y);
  ASSERT_EQ(got.size(), 32u);
  EXPECT_EQ(got[0], 4.0f);   // corner: four taps inside, the infinite one in the padding
  EXPECT_EQ(got[1], 6.0f);   // top edge: six taps inside, the infinite one in the padding
  EXPECT_EQ(got[5], inf);    // inside: the infinite tap reads a one
  EXPECT_EQ(got[16], 4.0f);  // second channel's corner: four taps inside
  EXPECT_EQ(got[21], 9.0f);
}

TEST(RuntimeNnOps, Conv1dAndConv3d) {
  check_conv_against_naive(
      {.x = {1, 3, 9}, .w = {4, 3, 3}, .group = 1, .strides = {2}, .dilations = {3}, .pads = {2, 1}});
  check_conv_against_naive({.x = {1, 2, 4, 5, 3},
                            .w = {2, 2, 2, 3, 2},
                            .group = 1,
                            .strides = {1, 2, 1},
                            .dilations = {1, 1, 2},
                            .pads = {1, 0, 1, 0, 1, 1}});
}

// Conv builds its column matrix one band of output rows at a time, at most 4 MB each
// (convolution.cc): these column matrices are 10, 25 and 31 MB, cut into uneven bands (2-D: 50
// output rows, 40 per band; 1-D: 3,276 positions per band of 20,000; 3-D: 5 of 40 planes), with
// strides, dilations and asymmetric pads on the banded axis.
TEST(RuntimeNnOps, ConvOverManyColumnBandsMatchesTheDefinition) {
  check_conv_against_naive(
      {.x = {1, 32, 100, 90}, .w = {4, 32, 3, 3}, .group = 1, .strides = {2, 1}, .dilations = {2, 1}, .pads = {1, 0, 2, 1}});
  check_conv_against_naive({.x = {1, 64, 20000}, .w = {2, 64, 5}, .group = 1, .strides = {1}, .dilations = {1}, .pads = {3, 1}});
  check_conv_against_naive({.x = {1, 8, 40, 30, 30},
                            .w = {2, 8, 3, 3, 3},
                            .group = 1,
                            .strides = {1, 1, 1},
                            .dilations = {1, 1, 1},
                            .pads = {1, 1, 1, 1, 1, 1}});
}

TEST(RuntimeNnOps, ConvSameLowerPutsTheOddPadAtTheBeginning) {
  // in 7, kernel 4, stride 2: out 4, total padding 3 -> 2 before, 1 after.
  const ConvParams p{.x = {1, 1, 7}, .w = {1, 1, 4}, .group = 1, .strides = {2}, .dilations = {1}, .pads = {2, 1}};
  const auto x = pseudo_random(7, 4);
  const auto w = pseudo_random(4, 5);
  Shape shape;
  const auto expected = naive_conv(p, x, w, {}, shape);
  const Tensor y = run_one("Conv", {{"x", floats(p.x, x)}, {"w", floats(p.w, w)}}, [](onnx::NodeProto& node) {
    modelgen::attr_string(node, "auto_pad", "SAME_LOWER");
    modelgen::attr_ints(node, "strides", {2});
  });
  ASSERT_EQ(y.shape(), shape);
  expect_near_all(values_of(y), expected, 1e-5f);
}

TEST(RuntimeNnOps, Float16ConvAccumulatesInFloat32AndRoundsOnce) {
  // Three channels of 2048, 1 and 1 through a 1x1 kernel of ones: 2050 exactly in float32
  // (representable in float16); summed in float16 it would be 2048 twice rounded.
  const Tensor y = run_one("Conv", {{"x", halves({1, 3, 1, 1}, {2048, 1, 1})}, {"w", halves({1, 3, 1, 1}, {1, 1, 1})}});
  ASSERT_EQ(y.dtype(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(values_of(y)[0], 2050.0f);

  // And generally: the float16 result is the float32 result rounded once.
  const ConvParams p{
      .x = {1, 2, 5, 5}, .w = {3, 2, 3, 3}, .group = 1, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}};
  auto x = pseudo_random(count_of(p.x), 6);
  auto w = pseudo_random(count_of(p.w), 7);
  for (auto* v : {&x, &w}) {
    for (auto& e : *v) e = half::half_to_float(half::float_to_half(e));
  }
  Shape shape;
  const auto reference = naive_conv(p, x, w, {}, shape);
  const Tensor y16 = run_one("Conv", {{"x", halves(p.x, x)}, {"w", halves(p.w, w)}}, conv_attributes(p));
  const auto got = values_of(y16);
  for (std::size_t i = 0; i < got.size(); ++i) {
    // float32 sums in another order may differ from the double reference by a few float32 ulps,
    // which can move the float16 rounding by at most one float16 ulp.
    EXPECT_NEAR(got[i], half::half_to_float(half::float_to_half(reference[i])), std::abs(reference[i]) * 1e-3f + 1e-6f);
  }
}

// A float16 or bfloat16 Conv is, bit for bit, the float32 Conv of the same values rounded once:
// its products read X as stored (im2col copies 16-bit values, the product widens them as it
// packs them) and must give the bits of X widened first. Pointwise, padded, strided, dilated,
// grouped, depthwise, 1-D and 3-D, with a bias, and over several column bands.
TEST(RuntimeNnOps, SixteenBitConvIsTheFloat32ConvOfItsValuesRoundedOnce) {
  const std::vector<ConvParams> cases{
      {.x = {2, 40, 6, 7}, .w = {24, 40, 1, 1}, .group = 1, .strides = {1, 1}, .dilations = {1, 1}, .pads = {0, 0, 0, 0}},
      {.x = {1, 20, 9, 11}, .w = {33, 20, 3, 3}, .group = 1, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}},
      {.x = {2, 4, 7, 6}, .w = {6, 2, 3, 2}, .group = 2, .strides = {2, 1}, .dilations = {2, 1}, .pads = {1, 0, 2, 1}},
      {.x = {1, 8, 9, 9}, .w = {8, 1, 3, 3}, .group = 8, .strides = {1, 1}, .dilations = {1, 1}, .pads = {1, 1, 1, 1}},
      {.x = {1, 5, 17}, .w = {7, 5, 4}, .group = 1, .strides = {2}, .dilations = {1}, .pads = {2, 1}},
      {.x = {1, 3, 4, 5, 6}, .w = {4, 3, 2, 3, 2}, .group = 1, .strides = {1, 2, 1}, .dilations = {1, 1, 2},
       .pads = {0, 1, 1, 1, 0, 0}},
      {.x = {1, 64, 160, 160}, .w = {16, 64, 3, 3}, .group = 1, .strides = {1, 1}, .dilations = {1, 1},
       .pads = {1, 1, 1, 1}}};  // 2.4 MB of columns per output row band: several bands
  for (const bool bfloat16 : {false, true}) {
    const auto type = bfloat16 ? onnx::TensorProto::BFLOAT16 : onnx::TensorProto::FLOAT16;
    const auto narrow = [&](float v) { return bfloat16 ? half::float_to_bfloat16(v) : half::float_to_half(v); };
    const auto widen = [&](std::uint16_t v) { return bfloat16 ? half::bfloat16_to_float(v) : half::half_to_float(v); };
    auto stored = [&](const Shape& shape, const std::vector<float>& values) {
      Tensor t = Tensor::uninitialized(type, shape);
      auto bits = t.mutable_bytes();
      for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint16_t v = narrow(values[i]);
        std::memcpy(bits.data() + 2 * i, &v, 2);
      }
      return t;
    };
    for (const ConvParams& p : cases) {
      auto x = pseudo_random(count_of(p.x), 21);
      auto w = pseudo_random(count_of(p.w), 22);
      auto b = pseudo_random(static_cast<std::size_t>(p.w[0]), 23);
      for (auto* v : {&x, &w, &b}) {
        for (auto& e : *v) e = widen(narrow(e));  // the values both runs see
      }
      const Tensor y32 = run_one("Conv", {{"x", floats(p.x, x)}, {"w", floats(p.w, w)}, {"b", floats({p.w[0]}, b)}},
                                 conv_attributes(p));
      const Tensor y16 = run_one("Conv", {{"x", stored(p.x, x)}, {"w", stored(p.w, w)}, {"b", stored({p.w[0]}, b)}},
                                 conv_attributes(p));
      ASSERT_EQ(y16.dtype(), type);
      ASSERT_EQ(y16.shape(), y32.shape());
      const auto wide = y32.data<float>();
      const auto bytes = y16.bytes();
      for (std::size_t i = 0; i < wide.size(); ++i) {
        std::uint16_t got = 0;
        std::memcpy(&got, bytes.data() + 2 * i, 2);
        ASSERT_EQ(got, narrow(wide[i])) << (bfloat16 ? "bfloat16" : "float16") << ", case " << (&p - cases.data())
                                        << ", element " << i;
      }
    }
  }
}

// ConvTranspose by definition: every x[n, c, i] * w[c, m, k] lands on o = i*s - p + k*d.
std::vector<float> naive_conv_transpose(const Shape& xs, const Shape& ws, std::int64_t group, const Shape& s,
                                        const Shape& d, const Shape& pads, const Shape& out,
                                        const std::vector<float>& x, const std::vector<float>& w) {
  const std::size_t rank = xs.size() - 2;
  const std::int64_t cg = xs[1] / group, mg = ws[1], channels = mg * group;
  Shape in(xs.begin() + 2, xs.end()), k(ws.begin() + 2, ws.end());
  std::vector<double> y(static_cast<std::size_t>(xs[0] * channels) * count_of(out), 0.0);
  for (std::int64_t n = 0; n < xs[0]; ++n) {
    for (std::int64_t c = 0; c < xs[1]; ++c) {
      std::vector<std::int64_t> i(rank, 0);
      do {
        for (std::int64_t m = 0; m < mg; ++m) {
          std::vector<std::int64_t> kk(rank, 0);
          do {
            std::size_t xi = static_cast<std::size_t>(n * xs[1] + c), wi = static_cast<std::size_t>(c * mg + m);
            std::size_t yi = static_cast<std::size_t>(n * channels + (c / cg) * mg + m);
            bool inside = true;
            for (std::size_t a = 0; a < rank; ++a) {
              const std::int64_t coord = i[a] * s[a] - pads[a] + kk[a] * d[a];
              inside = inside && coord >= 0 && coord < out[a];
              xi = xi * static_cast<std::size_t>(in[a]) + static_cast<std::size_t>(i[a]);
              wi = wi * static_cast<std::size_t>(k[a]) + static_cast<std::size_t>(kk[a]);
              yi = yi * static_cast<std::size_t>(out[a]) + static_cast<std::size_t>(coord);
            }
            if (inside) y[yi] += static_cast<double>(x[xi]) * w[wi];
          } while (next_index(kk, k));
        }
      } while (next_index(i, in));
    }
  }
  return {y.begin(), y.end()};
}

TEST(RuntimeNnOps, ConvTransposeWithGroupsStridesDilationsPadsAndOutputPadding) {
  const Shape xs{1, 4, 3, 4}, ws{4, 2, 3, 2};
  const auto x = pseudo_random(count_of(xs), 8);
  const auto w = pseudo_random(count_of(ws), 9);
  // out = s * (in - 1) + output_padding + (k - 1) * d + 1 - pads: 2*2+1+3-1 = 7, 3*3+1+3-2 = 11
  const Tensor y = run_one("ConvTranspose", {{"x", floats(xs, x)}, {"w", floats(ws, w)}}, [](onnx::NodeProto& node) {
    modelgen::attr_int(node, "group", 2);
    modelgen::attr_ints(node, "strides", {2, 3});
    modelgen::attr_ints(node, "dilations", {1, 2});
    modelgen::attr_ints(node, "pads", {1, 0, 0, 2});
    modelgen::attr_ints(node, "output_padding", {1, 1});
  });
  ASSERT_EQ(y.shape(), (Shape{1, 4, 7, 11}));
  expect_near_all(values_of(y), naive_conv_transpose(xs, ws, 2, {2, 3}, {1, 2}, {1, 0}, {7, 11}, x, w), 1e-4f);
}

TEST(RuntimeNnOps, ConvTransposeOutputShapeSetsThePads) {
  // in 3, stride 2, kernel 3: natural output 7; output_shape 6 -> total padding 1, which
  // NOTSET puts at the beginning (the spec's "else" branch).
  const Shape xs{1, 1, 3}, ws{1, 1, 3};
  const std::vector<float> x{1, 2, 3}, w{1, 10, 100};
  const Tensor y = run_one("ConvTranspose", {{"x", floats(xs, x)}, {"w", floats(ws, w)}}, [](onnx::NodeProto& node) {
    modelgen::attr_ints(node, "strides", {2});
    modelgen::attr_ints(node, "output_shape", {6});
  });
  ASSERT_EQ(y.shape(), (Shape{1, 1, 6}));
  expect_near_all(values_of(y), naive_conv_transpose(xs, ws, 1, {2}, {1}, {1}, {6}, x, w), 1e-5f);
}

// ---- pooling ----------------------------------------------------------------------------------

std::vector<float> iota(std::size_t n, float first = 1) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = first + static_cast<float>(i);
  return v;
}

std::vector<std::int64_t> int64s(const Tensor& t) {
  const auto d = t.data<std::int64_t>();
  return {d.begin(), d.end()};
}

TEST(RuntimeNnOps, MaxPoolIndicesRowAndColumnMajor) {
  const Tensor x = floats({1, 2, 4, 4}, iota(32));
  const auto pool = [&](std::int64_t storage_order) {
    return run_node("MaxPool", {{"x", x}}, {"y", "i"}, [storage_order](onnx::NodeProto& node) {
      modelgen::attr_ints(node, "kernel_shape", {2, 2});
      modelgen::attr_ints(node, "strides", {2, 2});
      modelgen::attr_int(node, "storage_order", storage_order);
    });
  };
  const auto row = pool(0);
  expect_near_all(values_of(row.at("y")), {6, 8, 14, 16, 22, 24, 30, 32}, 0);
  // Flat indices into X, the channel's offset (16) included.
  EXPECT_EQ(int64s(row.at("i")), (std::vector<std::int64_t>{5, 7, 13, 15, 21, 23, 29, 31}));
  // Column-major: (h, w) -> w * H + h within the plane.
  EXPECT_EQ(int64s(pool(1).at("i")), (std::vector<std::int64_t>{5, 13, 7, 15, 21, 29, 23, 31}));
}

// Whether `a` and `b` hold the same bits, except that a NaN in one may be any NaN in the other;
// `nans` counts the NaNs.
::testing::AssertionResult same_bits_nans_aside(const Tensor& a, const Tensor& b, std::size_t& nans) {
  const auto x = a.data<float>();
  const auto y = b.data<float>();
  if (x.size() != y.size()) return ::testing::AssertionFailure() << "sizes " << x.size() << " and " << y.size();
  nans = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(y[i]) && std::isnan(x[i])) {
      ++nans;
    } else if (std::bit_cast<std::uint32_t>(x[i]) != std::bit_cast<std::uint32_t>(y[i])) {
      return ::testing::AssertionFailure() << "element " << i << ": " << x[i] << " and " << y[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// An image pool without the Indices output takes a direct row/column walk; with it, the general
// window walk. Both must give the same values: padding, ceil_mode's partial window, a NaN and
// -inf in a window, negative values only.
TEST(RuntimeNnOps, MaxPoolOverImagesGivesTheSameValuesWithAndWithoutIndices) {
  std::vector<float> values(2 * 7 * 6);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = -static_cast<float>((i * 37) % 23) - 0.5f;
  values[2] = std::numeric_limits<float>::quiet_NaN();  // a window's first tap: the NaN wins there
  values[9] = std::numeric_limits<float>::quiet_NaN();  // never a first tap: ignored by both walks
  values[50] = -std::numeric_limits<float>::infinity();
  const Tensor x = floats({1, 2, 7, 6}, values);
  auto pool = [&](const std::vector<std::string>& outputs) {
    return run_node("MaxPool", {{"x", x}}, outputs, [](onnx::NodeProto& node) {
      modelgen::attr_ints(node, "kernel_shape", {3, 3});
      modelgen::attr_ints(node, "strides", {2, 2});
      modelgen::attr_ints(node, "pads", {1, 0, 1, 1});
      modelgen::attr_int(node, "ceil_mode", 1);
    }).at("y");
  };
  const Tensor direct = pool({"y"});
  const Tensor general = pool({"y", "i"});
  ASSERT_EQ(direct.shape(), (Shape{1, 2, 4, 3}));
  ASSERT_EQ(general.shape(), direct.shape());
  std::size_t nans = 0;
  EXPECT_TRUE(same_bits_nans_aside(direct, general, nans));
  EXPECT_GT(nans, 0u) << "the NaN should reach an output";
}

// Rows wide enough for the vector path (16 windows at a time, strides 1 and 2) and the scalar
// windows beside it: the same bits as the general walk, ties between +0 and -0 and NaNs in
// every position of a window included.
TEST(RuntimeNnOps, MaxPoolOverWideRowsGivesTheSameBitsWithAndWithoutIndices) {
  struct Case {
    std::int64_t width, kernel, stride, pad;
  };
  for (const Case& c : {Case{80, 3, 2, 1}, Case{50, 3, 1, 1}, Case{67, 2, 2, 0}, Case{41, 5, 1, 2}}) {
    SCOPED_TRACE("width " + std::to_string(c.width) + " kernel " + std::to_string(c.kernel) + " stride " +
                 std::to_string(c.stride));
    const std::int64_t height = 9;
    std::vector<float> values(static_cast<std::size_t>(3 * height * c.width));
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t k = (i * 37) % 29;
      values[i] = k == 0 ? 0.0f : k == 1 ? -0.0f : k == 2 ? std::numeric_limits<float>::quiet_NaN()
                                                          : static_cast<float>(k % 7) - 3.0f;
    }
    const Tensor x = floats({1, 3, height, c.width}, values);
    auto pool = [&](const std::vector<std::string>& outputs) {
      return run_node("MaxPool", {{"x", x}}, outputs, [&](onnx::NodeProto& node) {
        modelgen::attr_ints(node, "kernel_shape", {c.kernel, c.kernel});
        modelgen::attr_ints(node, "strides", {c.stride, c.stride});
        modelgen::attr_ints(node, "pads", {c.pad, c.pad, c.pad, c.pad});
      }).at("y");
    };
    const Tensor direct = pool({"y"});
    const Tensor general = pool({"y", "i"});
    ASSERT_EQ(direct.shape(), general.shape());
    std::size_t nans = 0;
    EXPECT_TRUE(same_bits_nans_aside(direct, general, nans));
    EXPECT_GT(nans, 0u);
  }
}

TEST(RuntimeNnOps, MaxPoolDilationsAndCeilMode) {
  const Tensor y = run_one("MaxPool", {{"x", floats({1, 1, 5}, {1, 5, 2, 4, 3})}}, [](onnx::NodeProto& node) {
    modelgen::attr_ints(node, "kernel_shape", {2});
    modelgen::attr_ints(node, "dilations", {2});
  });
  expect_near_all(values_of(y), {2, 5, 3}, 0);

  // in 5, kernel 2, stride 2: floor gives 2 windows, ceil_mode 3 (the last one half outside).
  const auto ceil_pool = [](const Shape& pads) {
    return run_one("MaxPool", {{"x", floats({1, 1, 5}, {1, 5, 2, 4, 3})}}, [pads](onnx::NodeProto& node) {
      modelgen::attr_ints(node, "kernel_shape", {2});
      modelgen::attr_ints(node, "strides", {2});
      modelgen::attr_ints(node, "pads", pads);
      modelgen::attr_int(node, "ceil_mode", 1);
    });
  };
  expect_near_all(values_of(ceil_pool({0, 0})), {5, 4, 3}, 0);
  // in 5 + end pad 2: ceil((7 - 2) / 2) + 1 = 4 windows, but the fourth would start at 6, in
  // the end padding: it is dropped.
  EXPECT_EQ(ceil_pool({0, 2}).shape(), (Shape{1, 1, 3}));
}

TEST(RuntimeNnOps, AveragePoolCountIncludePad) {
  const auto pool = [](std::int64_t include) {
    return run_one("AveragePool", {{"x", floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f))}},
                   [include](onnx::NodeProto& node) {
                     modelgen::attr_ints(node, "kernel_shape", {2, 2});
                     modelgen::attr_ints(node, "pads", {1, 1, 1, 1});
                     modelgen::attr_int(node, "count_include_pad", include);
                   });
  };
  expect_near_all(values_of(pool(0)), std::vector<float>(16, 1.0f), 1e-6f);
  expect_near_all(values_of(pool(1)),
                  {0.25f, 0.5f, 0.5f, 0.25f, 0.5f, 1, 1, 0.5f, 0.5f, 1, 1, 0.5f, 0.25f, 0.5f, 0.5f, 0.25f}, 1e-6f);
}

TEST(RuntimeNnOps, Float16AveragePoolSumsInFloat32) {
  // (2048 + 1 + 1 + 2) / 4 = 513 in float32; summed in float16 the ones would vanish (2048 + 1
  // rounds to 2048) and the mean would be 512.5.
  const Tensor y = run_one("AveragePool", {{"x", halves({1, 1, 2, 2}, {2048, 1, 1, 2})}}, [](onnx::NodeProto& node) {
    modelgen::attr_ints(node, "kernel_shape", {2, 2});
  });
  ASSERT_EQ(y.dtype(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(values_of(y)[0], 513.0f);
}

TEST(RuntimeNnOps, GlobalPoolsAndLpPool) {
  const Tensor x = floats({1, 2, 2, 2}, {1, 2, 3, 4, -5, 6, 7, 8});
  expect_near_all(values_of(run_one("GlobalAveragePool", {{"x", x}})), {2.5f, 4.0f}, 1e-6f);
  expect_near_all(values_of(run_one("GlobalMaxPool", {{"x", x}})), {4, 8}, 0);
  expect_near_all(
      values_of(run_one("GlobalLpPool", {{"x", x}}, [](onnx::NodeProto& n) { modelgen::attr_int(n, "p", 1); })),
      {10, 26}, 1e-5f);
  const Tensor lp = run_one("LpPool", {{"x", floats({1, 1, 3}, {3, -4, 12})}},
                            [](onnx::NodeProto& node) { modelgen::attr_ints(node, "kernel_shape", {2}); });
  expect_near_all(values_of(lp), {5, std::sqrt(160.0f)}, 1e-5f);
}

TEST(RuntimeNnOps, MaxUnpoolScattersByIndices) {
  const Tensor y = run_one("MaxUnpool",
                           {{"x", floats({1, 1, 2, 2}, {6, 8, 14, 16})},
                            {"i", Tensor::from_vector<std::int64_t>({1, 1, 2, 2}, {5, 7, 13, 15})}},
                           [](onnx::NodeProto& node) {
                             modelgen::attr_ints(node, "kernel_shape", {2, 2});
                             modelgen::attr_ints(node, "strides", {2, 2});
                           });
  std::vector<float> expected(16, 0.0f);
  expected[5] = 6, expected[7] = 8, expected[13] = 14, expected[15] = 16;
  expect_near_all(values_of(y), expected, 0);
}

// ---- resampling -------------------------------------------------------------------------------

Tensor resize(const std::vector<float>& data, const std::vector<float>& scales, const Shape& sizes,
              const Attributes& attributes, const std::vector<float>& roi = {}) {
  const auto n = static_cast<std::int64_t>(data.size());
  std::vector<Input> inputs{{"x", floats({1, 1, 1, n}, data)}};
  inputs.push_back(roi.empty() ? Input{"", {}} : Input{"roi", floats({8}, roi)});
  inputs.push_back(scales.empty() ? Input{"", {}} : Input{"scales", floats({4}, scales)});
  if (!sizes.empty()) inputs.push_back({"sizes", Tensor::from_vector<std::int64_t>({4}, sizes)});
  return run_one("Resize", inputs, attributes, 13);
}

Attributes resize_modes(const std::string& mode, const std::string& coordinates, const std::string& nearest = "") {
  return [=](onnx::NodeProto& node) {
    modelgen::attr_string(node, "mode", mode);
    modelgen::attr_string(node, "coordinate_transformation_mode", coordinates);
    if (!nearest.empty()) modelgen::attr_string(node, "nearest_mode", nearest);
  };
}

TEST(RuntimeNnOps, ResizeNearestModes) {
  const std::vector<float> data{10, 20, 30, 40};
  const std::vector<float> twice{1, 1, 1, 2};
  // asymmetric, x2: sources 0, .5, 1, 1.5, ..., 3.5; the halves tell the modes apart.
  const auto nearest = [&](const std::string& mode) {
    return values_of(resize(data, twice, {}, resize_modes("nearest", "asymmetric", mode)));
  };
  expect_near_all(nearest("round_prefer_floor"), {10, 10, 20, 20, 30, 30, 40, 40}, 0);
  expect_near_all(nearest("round_prefer_ceil"), {10, 20, 20, 30, 30, 40, 40, 40}, 0);
  expect_near_all(nearest("floor"), {10, 10, 20, 20, 30, 30, 40, 40}, 0);
  expect_near_all(nearest("ceil"), {10, 20, 20, 30, 30, 40, 40, 40}, 0);
  // x1.5 by sizes: sources o / 1.5 = 0, .67, 1.33, 2, 2.67, 3.33.
  const auto sized = [&](const std::string& mode) {
    return values_of(resize(data, {}, {1, 1, 1, 6}, resize_modes("nearest", "asymmetric", mode)));
  };
  expect_near_all(sized("round_prefer_floor"), {10, 20, 20, 30, 40, 40}, 0);
  expect_near_all(sized("floor"), {10, 10, 20, 30, 30, 40}, 0);
  expect_near_all(sized("ceil"), {10, 20, 30, 30, 40, 40}, 0);
  // half_pixel (the default), x2: sources -0.25, 0.25, 0.75, ... 3.25.
  expect_near_all(values_of(resize(data, twice, {}, resize_modes("nearest", "half_pixel"))),
                  {10, 10, 20, 20, 30, 30, 40, 40}, 0);
  // tf_half_pixel_for_nn, x2: sources 0.25, 0.75, 1.25, ...
  expect_near_all(values_of(resize(data, twice, {}, resize_modes("nearest", "tf_half_pixel_for_nn"))),
                  {10, 20, 20, 30, 30, 40, 40, 40}, 0);
}

TEST(RuntimeNnOps, ResizeLinearCoordinateModes) {
  // half_pixel, x2 over [0, 4]: sources -0.25 (edge), 0.25, 0.75, 1.25 (edge).
  expect_near_all(values_of(resize({0, 4}, {1, 1, 1, 2}, {}, resize_modes("linear", "half_pixel"))), {0, 1, 3, 4},
                  1e-6f);
  // align_corners to 4 over [0, 3]: sources 0, 1/3, 2/3, 1.
  expect_near_all(values_of(resize({0, 3}, {}, {1, 1, 1, 4}, resize_modes("linear", "align_corners"))), {0, 1, 2, 3},
                  1e-6f);
  // asymmetric x2 over [0, 4]: sources 0, .5, 1, 1.5 (edge).
  expect_near_all(values_of(resize({0, 4}, {1, 1, 1, 2}, {}, resize_modes("linear", "asymmetric"))), {0, 2, 4, 4},
                  1e-6f);
  // pytorch_half_pixel to one output: source 0.
  expect_near_all(values_of(resize({7, 4, 1}, {}, {1, 1, 1, 1}, resize_modes("linear", "pytorch_half_pixel"))), {7},
                  1e-6f);
}

TEST(RuntimeNnOps, ResizeCubicAndExcludeOutside) {
  // asymmetric x2 over [0, 1, 0, 0]: output 1 samples 0.5 with weights (A = -0.75)
  // -0.09375, 0.59375, 0.59375, -0.09375 on inputs -1 (edge: 0), 0, 1, 2.
  const auto y = values_of(resize({0, 1, 0, 0}, {1, 1, 1, 2}, {}, resize_modes("cubic", "asymmetric")));
  ASSERT_EQ(y.size(), 8u);
  EXPECT_NEAR(y[1], 0.59375f, 1e-6f);
  EXPECT_NEAR(y[2], 1.0f, 1e-6f);
  EXPECT_NEAR(y[3], 0.59375f, 1e-6f);
  // exclude_outside drops input -1 and renormalises: 0.59375 / 1.09375.
  const auto excluded = values_of(resize({0, 1, 0, 0}, {1, 1, 1, 2}, {}, [](onnx::NodeProto& node) {
    resize_modes("cubic", "asymmetric")(node);
    modelgen::attr_int(node, "exclude_outside", 1);
  }));
  EXPECT_NEAR(excluded[1], 0.59375f / 1.09375f, 1e-6f);
}

TEST(RuntimeNnOps, ResizeTfCropAndResizeExtrapolates) {
  // The region [0.5, 1.5] of the last axis (input length 4) to 3 outputs: sources 1.5, 3, 4.5;
  // the last is outside the input and gives extrapolation_value.
  const Tensor y = resize({1, 2, 3, 4}, {}, {1, 1, 1, 3},
                          [](onnx::NodeProto& node) {
                            resize_modes("linear", "tf_crop_and_resize")(node);
                            modelgen::attr_float(node, "extrapolation_value", 10.0f);
                          },
                          {0, 0, 0, 0.5f, 1, 1, 1, 1.5f});
  expect_near_all(values_of(y), {2.5f, 4, 10}, 1e-6f);
}

TEST(RuntimeNnOps, LegacyResizeAndUpsample) {
  // Upsample-7 (scales attribute) and Resize-10: asymmetric, nearest truncates when upsampling.
  const Tensor x = floats({1, 1, 1, 2}, {1, 2});
  const Tensor up7 = run_one(
      "Upsample", {{"x", x}},
      [](onnx::NodeProto& n) {
        set_floats(n, "scales", {1, 1, 1, 3});
      },
      7);
  expect_near_all(values_of(up7), {1, 1, 1, 2, 2, 2}, 0);
  const Tensor up9 = run_one(
      "Upsample", {{"x", floats({1, 1, 1, 2}, {0, 3})}, {"s", floats({4}, {1, 1, 1, 2})}},
      [](onnx::NodeProto& n) { modelgen::attr_string(n, "mode", "linear"); }, 9);
  expect_near_all(values_of(up9), {0, 1.5f, 3, 3}, 1e-6f);
  const Tensor r10 = run_one("Resize", {{"x", x}, {"s", floats({4}, {1, 1, 1, 3})}}, {}, 10);
  expect_near_all(values_of(r10), {1, 1, 1, 2, 2, 2}, 0);
}

TEST(RuntimeNnOps, LrnNormalisesAcrossChannels) {
  // size 3 over 2 channels: each value sees both channels' squares.
  const Tensor y = run_one("LRN", {{"x", floats({1, 2, 1, 1}, {1, 2})}}, [](onnx::NodeProto& node) {
    modelgen::attr_int(node, "size", 3);
    modelgen::attr_float(node, "alpha", 3.0f);
    modelgen::attr_float(node, "beta", 0.5f);
    modelgen::attr_float(node, "bias", 1.0f);
  });
  const float denominator = std::sqrt(1.0f + 3.0f / 3.0f * 5.0f);
  expect_near_all(values_of(y), {1 / denominator, 2 / denominator}, 1e-6f);
}

// ---- recurrent --------------------------------------------------------------------------------

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

TEST(RuntimeNnOps, LstmMatchesHandComputedSteps) {
  // One input, one hidden unit, two steps, with biases and peepholes. Gates i, o, f, c.
  const float wi = 0.5f, wo = -0.3f, wf = 0.8f, wc = 1.2f;
  const float ri = 0.1f, ro = 0.2f, rf = -0.4f, rc = 0.7f;
  const float bi = 0.05f, bo = -0.1f, bf = 0.2f, bc = 0.0f;  // Wb; Rb all 0.1
  const float pi = 0.3f, po = -0.2f, pf = 0.1f;
  const std::vector<float> xs{1.0f, -2.0f};
  float h = 0.1f, c = -0.2f;  // initial states
  std::vector<float> expected_y;
  for (const float x : xs) {
    const float i = sigmoid(wi * x + ri * h + pi * c + bi + 0.1f);
    const float f = sigmoid(wf * x + rf * h + pf * c + bf + 0.1f);
    const float g = std::tanh(wc * x + rc * h + bc + 0.1f);
    c = f * c + i * g;
    const float o = sigmoid(wo * x + ro * h + po * c + bo + 0.1f);
    h = o * std::tanh(c);
    expected_y.push_back(h);
  }
  const auto out =
      run_node("LSTM",
               {{"x", floats({2, 1, 1}, xs)},
                {"w", floats({1, 4, 1}, {wi, wo, wf, wc})},
                {"r", floats({1, 4, 1}, {ri, ro, rf, rc})},
                {"b", floats({1, 8}, {bi, bo, bf, bc, 0.1f, 0.1f, 0.1f, 0.1f})},
                {"", {}},
                {"h0", floats({1, 1, 1}, {0.1f})},
                {"c0", floats({1, 1, 1}, {-0.2f})},
                {"p", floats({1, 3}, {pi, po, pf})}},
               {"y", "y_h", "y_c"}, [](onnx::NodeProto& node) { modelgen::attr_int(node, "hidden_size", 1); });
  EXPECT_EQ(out.at("y").shape(), (Shape{2, 1, 1, 1}));
  expect_near_all(values_of(out.at("y")), expected_y, 1e-6f);
  expect_near_all(values_of(out.at("y_h")), {h}, 1e-6f);
  expect_near_all(values_of(out.at("y_c")), {c}, 1e-6f);
  // An anchor for the reference itself, worked out by hand: i = s(0.6), f = s(1.04),
  // g = tanh(1.37), C = 0.41956, o = s(-0.36391), H = o * tanh(C).
  EXPECT_NEAR(expected_y[0], 0.162596f, 1e-5f);
}

// The scalar GRU step (one input, one hidden unit) of the spec's equations.
float gru_step(float x, float h, const float w[3], const float r[3], const float b[6], bool linear_before_reset) {
  const float z = sigmoid(w[0] * x + r[0] * h + b[0] + b[3]);
  const float reset = sigmoid(w[1] * x + r[1] * h + b[1] + b[4]);
  const float candidate = linear_before_reset ? std::tanh(w[2] * x + reset * (r[2] * h + b[5]) + b[2])
                                              : std::tanh(w[2] * x + r[2] * (reset * h) + b[5] + b[2]);
  return (1 - z) * candidate + z * h;
}

TEST(RuntimeNnOps, GruLinearBeforeResetBothWays) {
  const float w[3] = {0.4f, -0.6f, 0.9f}, r[3] = {0.3f, 0.5f, -0.7f}, b[6] = {0.1f, 0.2f, 0.3f, -0.1f, 0.05f, 0.4f};
  const std::vector<float> xs{0.5f, -1.0f, 2.0f};
  for (const bool lbr : {false, true}) {
    float h = 0.0f;
    std::vector<float> expected;
    for (const float x : xs) expected.push_back(h = gru_step(x, h, w, r, b, lbr));
    const auto out = run_node("GRU",
                              {{"x", floats({3, 1, 1}, xs)},
                               {"w", floats({1, 3, 1}, {w[0], w[1], w[2]})},
                               {"r", floats({1, 3, 1}, {r[0], r[1], r[2]})},
                               {"b", floats({1, 6}, {b[0], b[1], b[2], b[3], b[4], b[5]})}},
                              {"y", "y_h"}, [lbr](onnx::NodeProto& node) {
                                modelgen::attr_int(node, "hidden_size", 1);
                                modelgen::attr_int(node, "linear_before_reset", lbr ? 1 : 0);
                              });
    expect_near_all(values_of(out.at("y")), expected, 1e-6f);
    expect_near_all(values_of(out.at("y_h")), {h}, 1e-6f);
  }
}

TEST(RuntimeNnOps, BidirectionalRnnWithSequenceLengthsAndBatchMajorLayout) {
  // Batch of 2, sequences of 3 and 1 steps; forward with Tanh, reverse with Relu. Layout 1:
  // X [batch, seq, input], Y [batch, seq, dirs, hidden], Y_h [batch, dirs, hidden].
  const std::vector<float> xs{0.5f, -1.0f, 2.0f, /* batch 1: */ 3.0f, 9.0f, 9.0f};
  const float w[2] = {0.7f, -0.4f}, r[2] = {0.6f, 0.2f};
  const auto out = run_node("RNN",
                            {{"x", floats({2, 3, 1}, xs)},
                             {"w", floats({2, 1, 1}, {w[0], w[1]})},
                             {"r", floats({2, 1, 1}, {r[0], r[1]})},
                             {"", {}},
                             {"lens", Tensor::from_vector<std::int32_t>({2}, {3, 1})}},
                            {"y", "y_h"}, [](onnx::NodeProto& node) {
                              modelgen::attr_int(node, "hidden_size", 1);
                              modelgen::attr_int(node, "layout", 1);
                              modelgen::attr_string(node, "direction", "bidirectional");
                              set_strings(node, "activations", {"Tanh", "Relu"});
                            });
  // y[b][t][d]
  float expected[2][3][2] = {};
  float last[2][2] = {};
  const int lengths[2] = {3, 1};
  for (int bi = 0; bi < 2; ++bi) {
    float h = 0;
    for (int t = 0; t < lengths[bi]; ++t) expected[bi][t][0] = h = std::tanh(w[0] * xs[bi * 3 + t] + r[0] * h);
    last[bi][0] = h;
    h = 0;
    for (int t = lengths[bi] - 1; t >= 0; --t)
      expected[bi][t][1] = h = std::max(0.0f, w[1] * xs[bi * 3 + t] + r[1] * h);
    last[bi][1] = h;
  }
  EXPECT_EQ(out.at("y").shape(), (Shape{2, 3, 2, 1}));
  expect_near_all(values_of(out.at("y")), std::vector<float>(&expected[0][0][0], &expected[0][0][0] + 12), 1e-6f);
  EXPECT_EQ(out.at("y_h").shape(), (Shape{2, 2, 1}));
  expect_near_all(values_of(out.at("y_h")), std::vector<float>(&last[0][0], &last[0][0] + 4), 1e-6f);
}

// ---- detection --------------------------------------------------------------------------------

TEST(RuntimeNnOps, NonMaxSuppressionSuppressesOverlapsAndLimitsCount) {
  // The spec's example: six boxes, one class; 0.5 IoU suppresses the near-duplicates.
  const Tensor boxes = floats(
      {1, 6, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, -0.1f, 1, 0.9f, 0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100, 1, 101});
  const Tensor scores = floats({1, 1, 6}, {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f});
  const auto nms = [&](std::int64_t max_boxes) {
    return int64s(run_one("NonMaxSuppression", {{"boxes", boxes},
                                                {"scores", scores},
                                                {"max", Tensor::from_vector<std::int64_t>({1}, {max_boxes})},
                                                {"iou", floats({1}, {0.5f})},
                                                {"score", floats({1}, {0.0f})}}));
  };
  EXPECT_EQ(nms(3), (std::vector<std::int64_t>{0, 0, 3, 0, 0, 0, 0, 0, 5}));
  EXPECT_EQ(nms(2), (std::vector<std::int64_t>{0, 0, 3, 0, 0, 0}));
}

// The kernel files kept boxes in a grid over x and checks a candidate only against those that
// can intersect it; the selection must be what checking every kept box gives. 3,000 boxes
// in 30 clusters offset per class as torchvision's batched NMS does (wide and narrow, some
// degenerate, scores with ties), against a plain reference: IoU > 0.5 with any kept box.
TEST(RuntimeNnOps, NonMaxSuppressionOverManyOffsetClustersMatchesThePlainScan) {
  constexpr std::size_t kBoxes = 3000;
  std::vector<float> boxes;
  std::vector<float> scores;
  std::uint32_t state = 12345;
  const auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
  };
  for (std::size_t i = 0; i < kBoxes; ++i) {
    const float offset = static_cast<float>(i % 30) * 1001.0f;  // per-class offset
    const float y = next() * 60, x = next() * 60 + offset;
    const float h = i % 97 == 0 ? 0.0f : 20 + next() * 40, w = i % 89 == 0 ? 0.0f : (20 + next() * 40) * (i % 7 == 0 ? 8 : 1);
    boxes.insert(boxes.end(), {y, x, y + h, x + w});
    scores.push_back(std::round(next() * 64) / 64);  // ties
  }
  std::vector<std::size_t> order(kBoxes);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  const auto iou = [&](std::size_t a, std::size_t b) {
    const float* p = &boxes[a * 4];
    const float* q = &boxes[b * 4];
    const float ih = std::min(p[2], q[2]) - std::max(p[0], q[0]), iw = std::min(p[3], q[3]) - std::max(p[1], q[1]);
    const float area_p = (p[2] - p[0]) * (p[3] - p[1]), area_q = (q[2] - q[0]) * (q[3] - q[1]);
    if (ih <= 0 || iw <= 0 || area_p <= 0 || area_q <= 0) return 0.0f;
    return ih * iw / (area_p + area_q - ih * iw);
  };
  std::vector<std::int64_t> expected;
  std::vector<std::size_t> kept;
  for (const std::size_t i : order) {
    if (std::any_of(kept.begin(), kept.end(), [&](std::size_t k) { return iou(i, k) > 0.5f; })) continue;
    kept.push_back(i);
    expected.insert(expected.end(), {0, 0, static_cast<std::int64_t>(i)});
  }
  ASSERT_GT(kept.size(), 300u);
  ASSERT_LT(kept.size(), kBoxes - 300);  // both outcomes are common
  const auto selected = int64s(run_one("NonMaxSuppression",
                                       {{"boxes", floats({1, kBoxes, 4}, boxes)},
                                        {"scores", floats({1, 1, kBoxes}, scores)},
                                        {"max", Tensor::from_vector<std::int64_t>({1}, {100000})},
                                        {"iou", floats({1}, {0.5f})}}));
  EXPECT_EQ(selected, expected);
}

TEST(RuntimeNnOps, RoiAlignCoordinateModes) {
  const Tensor x = floats({1, 1, 2, 2}, {1, 2, 3, 4});
  const auto align = [&](const std::string& mode, const std::string& pooling) {
    return values_of(run_one(
        "RoiAlign",
        {{"x", x}, {"rois", floats({1, 4}, {0, 0, 1, 1})}, {"batch", Tensor::from_vector<std::int64_t>({1}, {0})}},
        [=](onnx::NodeProto& node) {
          modelgen::attr_string(node, "coordinate_transformation_mode", mode);
          modelgen::attr_string(node, "mode", pooling);
          modelgen::attr_int(node, "sampling_ratio", 1);
        },
        16));
  };
  // half_pixel: the region shifts to [-0.5, 0.5], its one sample at (0, 0).
  expect_near_all(align("half_pixel", "avg"), {1}, 1e-6f);
  // output_half_pixel: the sample at (0.5, 0.5), between all four values.
  expect_near_all(align("output_half_pixel", "avg"), {2.5f}, 1e-6f);
  // max: the largest weighted neighbour, 0.25 * 4.
  expect_near_all(align("output_half_pixel", "max"), {1}, 1e-6f);
}

TEST(RuntimeNnOps, MaxRoiPoolBinsTheRegion) {
  // The whole 4x4 image as a region ([batch, x1, y1, x2, y2] = [0, 0, 0, 3, 3]) in 2x2 bins of
  // 2x2 pixels each: their maxima.
  const Tensor y =
      run_one("MaxRoiPool", {{"x", floats({1, 1, 4, 4}, iota(16))}, {"rois", floats({1, 5}, {0, 0, 0, 3, 3})}},
              [](onnx::NodeProto& node) {
                modelgen::attr_ints(node, "pooled_shape", {2, 2});
              });
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  expect_near_all(values_of(y), {6, 8, 14, 16}, 0);
}

// ---- quantization -----------------------------------------------------------------------------

TEST(RuntimeNnOps, QuantizeLinearRoundsHalfToEvenAndSaturates) {
  const Tensor y = run_one("QuantizeLinear", {{"x", floats({6}, {0.5f, 1.5f, 2.5f, -0.5f, 300, -3})},
                                              {"s", floats({}, {1})},
                                              {"z", Tensor::from_vector<std::uint8_t>({}, {0})}});
  const auto v = y.data<std::uint8_t>();
  EXPECT_EQ(std::vector<int>(v.begin(), v.end()), (std::vector<int>{0, 2, 2, 0, 255, 0}));
  const Tensor s = run_one("QuantizeLinear", {{"x", floats({3}, {-1.5f, 100, -400})},
                                              {"s", floats({}, {2})},
                                              {"z", Tensor::from_vector<std::int8_t>({}, {-1})}});
  const auto w = s.data<std::int8_t>();
  EXPECT_EQ(std::vector<int>(w.begin(), w.end()), (std::vector<int>{-2, 49, -128}));
}

TEST(RuntimeNnOps, DequantizeLinearPerAxis) {
  const Tensor y = run_one(
      "DequantizeLinear",
      {{"x", Tensor::from_vector<std::int8_t>({2, 3}, {1, 2, 3, 4, 5, 6})},
       {"s", floats({2}, {1, 0.5f})},
       {"z", Tensor::from_vector<std::int8_t>({2}, {0, 2})}},
      [](onnx::NodeProto& node) { modelgen::attr_int(node, "axis", 0); }, 13);
  expect_near_all(values_of(y), {1, 2, 3, 1, 1.5f, 2}, 0);
}

TEST(RuntimeNnOps, DynamicQuantizeLinearSpecExample) {
  const auto out =
      run_node("DynamicQuantizeLinear", {{"x", floats({6}, {0, 2, -3, -2.5f, 1.34f, 0.5f})}}, {"y", "scale", "zero"});
  const auto y = out.at("y").data<std::uint8_t>();
  EXPECT_EQ(std::vector<int>(y.begin(), y.end()), (std::vector<int>{153, 255, 0, 26, 221, 179}));
  EXPECT_NEAR(out.at("scale").data<float>()[0], 5.0f / 255.0f, 1e-7f);
  EXPECT_EQ(out.at("zero").data<std::uint8_t>()[0], 153);
}

// Over a tensor of several shares (the range is reduced share by share, the extremes in the
// last one), every value as the spec defines it: saturate(round_half_even(x / scale) + zero), in
// float32 division; quotients at exact ties (k + 0.5) round to even, NaN gives the zero point.
TEST(RuntimeNnOps, DynamicQuantizeLinearRoundsEveryValueAsTheSpecDefines) {
  const std::size_t count = 200000;
  std::vector<float> x(count);
  for (std::size_t i = 0; i < count; ++i) x[i] = static_cast<float>(static_cast<int>(i % 2001) - 1000) / 997.0f;
  x[count - 2] = -2.55f;  // the minimum and the maximum, past the first shares
  x[count - 1] = 7.65f;   // range 10.2: scale 0.04, zero point 64 (2.55 / 0.04 = 63.75)
  x[5] = std::nanf("");
  x[6] = 0.02f;   // quotient 0.5: even (0) + 64
  x[7] = 0.06f;   // 1.5 -> 2
  x[8] = -0.1f;   // -2.5 -> -2
  const auto out = run_node("DynamicQuantizeLinear", {{"x", floats({static_cast<std::int64_t>(count)}, x)}},
                            {"y", "scale", "zero"});
  const float scale = out.at("scale").data<float>()[0];
  const int zero = out.at("zero").data<std::uint8_t>()[0];
  EXPECT_EQ(scale, (7.65f - -2.55f) / 255.0f);
  EXPECT_EQ(zero, 64);
  const auto y = out.at("y").data<std::uint8_t>();
  ASSERT_EQ(y.size(), count);
  for (std::size_t i = 0; i < count; ++i) {
    const float q = x[i] / scale;
    const double rounded = std::isnan(q) ? 0.0 : std::nearbyint(static_cast<double>(q));
    const int expected = static_cast<int>(std::clamp(rounded + zero, 0.0, 255.0));
    ASSERT_EQ(static_cast<int>(y[i]), expected) << "value " << i << " = " << x[i];
  }
}

TEST(RuntimeNnOps, QLinearMatMulRequantizes) {
  // (130-128)*(129-128) + (128-128)*(126-128) = 2; 2 * 0.5 * 0.25 / 0.125 = 2; + 10.
  const Tensor y = run_one("QLinearMatMul", {{"a", Tensor::from_vector<std::uint8_t>({1, 2}, {130, 128})},
                                             {"as", floats({}, {0.5f})},
                                             {"az", Tensor::from_vector<std::uint8_t>({}, {128})},
                                             {"b", Tensor::from_vector<std::uint8_t>({2, 1}, {129, 126})},
                                             {"bs", floats({}, {0.25f})},
                                             {"bz", Tensor::from_vector<std::uint8_t>({}, {128})},
                                             {"ys", floats({}, {0.125f})},
                                             {"yz", Tensor::from_vector<std::uint8_t>({}, {10})}});
  EXPECT_EQ(y.data<std::uint8_t>()[0], 12);
}

// QLinearMatMul sums as MatMulInteger does (float32 slices added in int64). 51,200 products of
// +32385 then 50,800 of -32640 cancel to 0 and one of 100 remains; on the way the running sums
// pass 2^24 many times over, even split across a BLAS kernel's vector lanes, and float32 cannot
// hold odd integers there: summed in float32 alone the result is off; exactly it is 100, which
// a multiplier of 1 and zero point 0 pass through.
TEST(RuntimeNnOps, QLinearMatMulIsExactOverLongSums) {
  const std::int64_t positives = 51200, negatives = 50800, k = positives + negatives + 1;
  std::vector<std::uint8_t> a(k, 255), b(k, 255);
  for (std::int64_t p = positives; p < positives + negatives; ++p) b[p] = 0;  // 0 - 128: -32640 with a's 255
  a[k - 1] = 100;
  b[k - 1] = 129;  // 129 - 128: 1
  const Tensor y = run_one("QLinearMatMul", {{"a", Tensor::from_vector<std::uint8_t>({1, k}, a)},
                                             {"as", floats({}, {1.0f})},
                                             {"az", Tensor::from_vector<std::uint8_t>({}, {0})},
                                             {"b", Tensor::from_vector<std::uint8_t>({k, 1}, b)},
                                             {"bs", floats({}, {1.0f})},
                                             {"bz", Tensor::from_vector<std::uint8_t>({}, {128})},
                                             {"ys", floats({}, {1.0f})},
                                             {"yz", Tensor::from_vector<std::uint8_t>({}, {0})}});
  EXPECT_EQ(y.data<std::uint8_t>()[0], 100);
}

// ConvInteger runs as float32 products over slices of its inner dimension, added in int64: exact
// only if no slice's sums reach 2^24. Extreme values (255 x 255 products, 576 and 288 of them per
// output: several slices) against the definition, with one group and with two, and with int8
// values and zero points; and over a map wide enough that its column matrix is built in several
// bands of output rows (576 x 1000 floats per row: one 2.3 MB row per 4 MB band, 6 bands).
TEST(RuntimeNnOps, ConvIntegerIsExactOverLongSums) {
  std::uint32_t seed = 7;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 24;
  };
  struct Case {
    std::int64_t group;
    bool signed_values;
    std::int64_t h, wd;
  };
  for (const Case& one : {Case{1, false, 5, 5}, Case{1, true, 5, 5}, Case{2, false, 5, 5}, Case{2, true, 5, 5},
                          Case{1, true, 6, 1000}}) {
    const std::int64_t group = one.group;
    const bool signed_values = one.signed_values;
    const std::int64_t c = 64, m = 4, h = one.h, wd = one.wd;
    const std::int64_t cg = c / group, mg = m / group;
    std::vector<std::int32_t> xv(static_cast<std::size_t>(c * h * wd)), wv(static_cast<std::size_t>(m * cg * 9));
    // Mostly the extremes, so that the sums are as large as they get.
    for (auto& v : xv) v = signed_values ? (next() % 4 == 0 ? -128 : 127) : (next() % 4 == 0 ? 0 : 255);
    for (auto& v : wv) v = signed_values ? (next() % 4 == 0 ? -128 : 127) : (next() % 4 == 0 ? 0 : 255);
    const std::int32_t xz = signed_values ? 5 : 0, wz = signed_values ? -3 : 0;
    auto tensor = [&](const std::vector<std::int32_t>& v, onnx_fp16::Shape shape) {
      if (signed_values) return Tensor::from_vector<std::int8_t>(std::move(shape), std::vector<std::int8_t>(v.begin(), v.end()));
      return Tensor::from_vector<std::uint8_t>(std::move(shape), std::vector<std::uint8_t>(v.begin(), v.end()));
    };
    auto scalar = [&](std::int32_t v) { return tensor({v}, {}); };
    const Tensor y = run_one("ConvInteger",
                             {{"x", tensor(xv, {1, c, h, wd})}, {"w", tensor(wv, {m, cg, 3, 3})}, {"xz", scalar(xz)},
                              {"wz", scalar(wz)}},
                             [&](onnx::NodeProto& node) {
                               modelgen::attr_ints(node, "pads", {1, 1, 1, 1});
                               modelgen::attr_int(node, "group", group);
                             });
    const auto got = y.data<std::int32_t>();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(m * h * wd));
    for (std::int64_t oc = 0; oc < m; ++oc) {
      const std::int64_t grp = oc / mg;
      for (std::int64_t oy = 0; oy < h; ++oy) {
        for (std::int64_t ox = 0; ox < wd; ++ox) {
          std::int64_t sum = 0;
          for (std::int64_t ic = 0; ic < cg; ++ic) {
            for (std::int64_t ky = 0; ky < 3; ++ky) {
              for (std::int64_t kx = 0; kx < 3; ++kx) {
                const std::int64_t iy = oy - 1 + ky, ix = ox - 1 + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const std::int64_t xval = xv[static_cast<std::size_t>(((grp * cg + ic) * h + iy) * wd + ix)] - xz;
                const std::int64_t wval = wv[static_cast<std::size_t>(((oc * cg + ic) * 3 + ky) * 3 + kx)] - wz;
                sum += xval * wval;
              }
            }
          }
          ASSERT_EQ(got[static_cast<std::size_t>((oc * h + oy) * wd + ox)], static_cast<std::int32_t>(sum))
              << "group " << group << (signed_values ? " int8" : " uint8") << " " << h << "x" << wd << " at " << oc
              << "," << oy << "," << ox;
        }
      }
    }
  }
}

// The shapes dynamically quantized exports give ConvInteger (uint8 input; uint8 or int8 weights,
// per-tensor or per-channel zero points) over the geometries that move the window: strides,
// dilations, uneven pads, channel counts that are not multiples of 4 and output channel counts
// that are not multiples of 16 (some over 64), widths that leave partial blocks of positions, a
// batch of two; and depthwise ones (group = channels, as MobileNet-style exports quantize), with
// strides, dilations and uneven pads. Against the definition, value by value. (On AVX-512 VNNI
// CPUs the one-group cases take the direct u8 x s8 path of nn_integer_conv.cc, elsewhere the
// float32 products; the depthwise ones its row-by-row path.)
TEST(RuntimeNnOps, ConvIntegerMatchesTheDefinitionOverQuantizedExportShapes) {
  struct Case {
    std::int64_t batch, c, m, h, w, kernel, stride, dilation;
    std::vector<std::int64_t> pads;
    bool int8_weights, per_channel;
    std::int64_t group = 1;
  };
  std::uint32_t seed = 11;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<int>(seed >> 24);
  };
  for (const Case& k : {Case{1, 3, 16, 9, 13, 3, 2, 1, {1, 1, 1, 1}, false, false},
                        Case{2, 5, 20, 7, 11, 3, 1, 2, {2, 0, 1, 3}, true, true},
                        Case{1, 17, 70, 6, 8, 1, 1, 1, {0, 0, 0, 0}, false, true},
                        Case{1, 8, 1, 5, 19, 3, 1, 3, {3, 3, 3, 3}, true, false},
                        Case{1, 12, 130, 4, 7, 2, 2, 1, {0, 1, 1, 0}, false, false},
                        Case{1, 16, 16, 11, 13, 3, 2, 1, {1, 1, 1, 1}, false, true, 16},
                        Case{2, 7, 7, 9, 10, 5, 1, 2, {4, 1, 3, 2}, true, false, 7},
                        Case{1, 4, 4, 6, 17, 3, 3, 1, {0, 2, 1, 0}, false, false, 4}}) {
    std::vector<std::uint8_t> x(static_cast<std::size_t>(k.batch * k.c * k.h * k.w));
    for (auto& v : x) v = static_cast<std::uint8_t>(next());
    const std::int64_t cg = k.c / k.group;  // input channels per group
    std::vector<int> w(static_cast<std::size_t>(k.m * cg * k.kernel * k.kernel));
    for (auto& v : w) v = k.int8_weights ? next() - 128 : next();
    const int x_zero = next();
    std::vector<int> w_zero(k.per_channel ? static_cast<std::size_t>(k.m) : 1);
    for (auto& v : w_zero) v = k.int8_weights ? next() - 128 : next();
    auto weights = [&](const std::vector<int>& v, onnx_fp16::Shape shape) {
      return test_support::int8_or_uint8(k.int8_weights, std::move(shape), v);
    };
    const Tensor y = run_one(
        "ConvInteger",
        {{"x", Tensor::from_vector<std::uint8_t>({k.batch, k.c, k.h, k.w}, x)},
         {"w", weights(w, {k.m, cg, k.kernel, k.kernel})},
         {"xz", Tensor::from_vector<std::uint8_t>({}, {static_cast<std::uint8_t>(x_zero)})},
         {"wz", weights(w_zero, k.per_channel ? onnx_fp16::Shape{k.m} : onnx_fp16::Shape{})}},
        [&](onnx::NodeProto& node) {
          modelgen::attr_ints(node, "pads", k.pads);
          modelgen::attr_ints(node, "strides", {k.stride, k.stride});
          modelgen::attr_ints(node, "dilations", {k.dilation, k.dilation});
          modelgen::attr_int(node, "group", k.group);
        });
    const std::int64_t extent = (k.kernel - 1) * k.dilation + 1;
    const std::int64_t oh = (k.h + k.pads[0] + k.pads[2] - extent) / k.stride + 1;
    const std::int64_t ow = (k.w + k.pads[1] + k.pads[3] - extent) / k.stride + 1;
    ASSERT_EQ(y.shape(), (onnx_fp16::Shape{k.batch, k.m, oh, ow}));
    const auto got = y.data<std::int32_t>();
    for (std::int64_t n = 0; n < k.batch; ++n) {
      for (std::int64_t oc = 0; oc < k.m; ++oc) {
        const int zw = w_zero[k.per_channel ? static_cast<std::size_t>(oc) : 0];
        for (std::int64_t oy = 0; oy < oh; ++oy) {
          for (std::int64_t ox = 0; ox < ow; ++ox) {
            std::int64_t sum = 0;
            const std::int64_t first_channel = oc / (k.m / k.group) * cg;
            for (std::int64_t ic = first_channel; ic < first_channel + cg; ++ic) {
              for (std::int64_t ky = 0; ky < k.kernel; ++ky) {
                for (std::int64_t kx = 0; kx < k.kernel; ++kx) {
                  const std::int64_t iy = oy * k.stride - k.pads[0] + ky * k.dilation;
                  const std::int64_t ix = ox * k.stride - k.pads[1] + kx * k.dilation;
                  if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
                  const int xv = x[static_cast<std::size_t>(((n * k.c + ic) * k.h + iy) * k.w + ix)] - x_zero;
                  const int wv =
                      w[static_cast<std::size_t>(((oc * cg + ic - first_channel) * k.kernel + ky) * k.kernel + kx)] - zw;
                  sum += static_cast<std::int64_t>(xv) * wv;
                }
              }
            }
            ASSERT_EQ(got[static_cast<std::size_t>(((n * k.m + oc) * oh + oy) * ow + ox)], static_cast<std::int32_t>(sum))
                << k.c << "->" << k.m << " channels, kernel " << k.kernel << ", stride " << k.stride << ", dilation "
                << k.dilation << " at " << n << "," << oc << "," << oy << "," << ox;
          }
        }
      }
    }
  }
}

TEST(RuntimeNnOps, ConvIntegerSubtractsZeroPoints) {
  // A 2x2 input with zero point 1 under a 1x1 kernel of 3 with zero point 1: (x - 1) * 2.
  const Tensor y = run_one("ConvInteger", {{"x", Tensor::from_vector<std::uint8_t>({1, 1, 2, 2}, {1, 2, 3, 4})},
                                           {"w", Tensor::from_vector<std::uint8_t>({1, 1, 1, 1}, {3})},
                                           {"xz", Tensor::from_vector<std::uint8_t>({}, {1})},
                                           {"wz", Tensor::from_vector<std::uint8_t>({}, {1})}});
  const auto v = y.data<std::int32_t>();
  EXPECT_EQ(std::vector<std::int32_t>(v.begin(), v.end()), (std::vector<std::int32_t>{0, 2, 4, 6}));
}

}  // namespace

// im2col against its definition, element by element: cols[(c * taps + tap) * outputs + o] is
// x[c] at o * stride - pad + k * dilation along each axis, or the pad value outside. Strides
// (different per axis), dilations and pads (larger than the kernel, uneven) decide where the
// copied interval of each row starts and ends; every thread count must give the same columns,
// and so must the general path (the same geometry with a leading axis of 1: three axes) that
// the two-axis path shortcuts.
namespace {

TEST(RuntimeNnOps, Im2colMatchesItsDefinitionForEveryGeometry) {
  using onnx_fp16::runtime::nn::WindowGeometry;
  int checked = 0;
  for (std::int64_t stride : {1, 2, 3}) {
    const std::int64_t stride_h = stride == 2 ? 1 : stride;  // one case strides the rows only
    for (std::int64_t dilation : {1, 2}) {
      for (std::int64_t pad : {0, 1, 4}) {
        for (std::int64_t kernel : {1, 3}) {
          WindowGeometry g;
          g.input = {5, 7};
          g.kernel = {kernel, kernel};
          g.strides = {stride_h, stride};
          g.dilations = {dilation, dilation};
          g.pads_begin = {pad, pad};
          g.pads_end = {pad + 1, pad + 1};
          for (std::size_t a = 0; a < 2; ++a) {
            const std::int64_t span = g.input[a] + g.pads_begin[a] + g.pads_end[a] - g.extent(a);
            g.output.push_back(span < 0 ? 0 : span / g.strides[a] + 1);
          }
          if (g.output[0] <= 0 || g.output[1] <= 0) continue;
          const std::size_t channels = 3;
          std::vector<float> x(channels * g.input_size());
          for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i + 1);
          const std::size_t taps = g.kernel_size();
          const std::size_t outputs = g.output_size();
          std::vector<float> expected(channels * taps * outputs);
          for (std::size_t c = 0; c < channels; ++c) {
            for (std::int64_t kh = 0; kh < kernel; ++kh) {
              for (std::int64_t kw = 0; kw < kernel; ++kw) {
                for (std::int64_t oh = 0; oh < g.output[0]; ++oh) {
                  for (std::int64_t ow = 0; ow < g.output[1]; ++ow) {
                    const std::int64_t ih = oh * stride_h - pad + kh * dilation;
                    const std::int64_t iw = ow * stride - pad + kw * dilation;
                    const bool inside = ih >= 0 && ih < g.input[0] && iw >= 0 && iw < g.input[1];
                    const std::size_t tap = static_cast<std::size_t>(kh * kernel + kw);
                    const std::size_t o = static_cast<std::size_t>(oh * g.output[1] + ow);
                    expected[(c * taps + tap) * outputs + o] =
                        inside ? x[c * g.input_size() + static_cast<std::size_t>(ih * g.input[1] + iw)] : -1.0f;
                  }
                }
              }
            }
          }
          WindowGeometry three_axes = g;  // the same columns through the general path
          for (auto* axis : {&three_axes.input, &three_axes.kernel, &three_axes.strides, &three_axes.dilations,
                             &three_axes.output}) {
            axis->insert(axis->begin(), 1);
          }
          three_axes.pads_begin.insert(three_axes.pads_begin.begin(), 0);
          three_axes.pads_end.insert(three_axes.pads_end.begin(), 0);
          for (const WindowGeometry* geometry : {&g, &three_axes}) {
            for (int threads : {1, 2, 3}) {
              std::vector<float> cols(expected.size(), 99.0f);
              onnx_fp16::runtime::nn::im2col(x.data(), channels, *geometry, -1.0f, cols.data(), threads);
              ASSERT_EQ(cols, expected) << geometry->rank() << " axes, stride " << stride << " dilation " << dilation
                                        << " pad " << pad << " kernel " << kernel << " threads " << threads;
            }
          }
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 30);
}

}  // namespace
