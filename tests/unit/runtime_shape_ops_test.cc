// The shape and data-movement kernel families through the public Evaluator: the semantics that
// are easy to get wrong (negative axes and indices, Slice clamping with negative steps, Reshape's
// 0/-1/allowzero, Pad's modes, GatherND's batch_dims, scatter reductions, OneHot's negative
// indices, NonZero's order), the per-opset forms of the parameters (attributes before inputs),
// and that float16 values move as bits while reductions accumulate in float32.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "half/half.h"
#include "modelgen/builder.h"
#include "support/run_node.h"

namespace {

using onnx_fp16::Float16;
using onnx_fp16::Shape;
using onnx_fp16::Tensor;
namespace half = onnx_fp16::half;
using Ints = std::vector<std::int64_t>;
using Floats = std::vector<float>;

Tensor floats(Shape shape, Floats values) { return Tensor::from_vector<float>(std::move(shape), values); }
Tensor int64s(Shape shape, Ints values) { return Tensor::from_vector<std::int64_t>(std::move(shape), values); }
Tensor int32s(Shape shape, std::vector<std::int32_t> values) {
  return Tensor::from_vector<std::int32_t>(std::move(shape), values);
}
Tensor strings(Shape shape, std::vector<std::string> values) { return Tensor::from_vector(std::move(shape), values); }
Tensor bools(Shape shape, std::vector<bool> values) {
  return Tensor::from_vector<bool>(std::move(shape), values);
}
Tensor halves(Shape shape, const Floats& values) {
  std::vector<Float16> bits;
  for (const float v : values) bits.push_back(Float16{half::float_to_half(v)});
  return Tensor::from_vector<Float16>(std::move(shape), bits);
}
// 0, 1, 2, ... as float32.
Tensor iota(Shape shape) {
  Floats values(onnx_fp16::element_count(shape));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  return floats(std::move(shape), values);
}

Floats values_of(const Tensor& t) {
  Floats out;
  if (t.dtype() == onnx::TensorProto::FLOAT16) {
    for (const auto h : t.data<Float16>()) out.push_back(half::half_to_float(h.bits));
  } else {
    const auto span = t.data<float>();
    out.assign(span.begin(), span.end());
  }
  return out;
}
Ints ints_of(const Tensor& t) {
  const auto span = t.data<std::int64_t>();
  return {span.begin(), span.end()};
}

using Input = test_support::NodeInput;
using test_support::run_node;

// The single output "y" of a one-node model.
Tensor run_y(const std::string& op, const std::vector<Input>& inputs,
             const std::function<void(onnx::NodeProto&)>& attributes = {}, int opset = 17) {
  return run_node(op, inputs, {"y"}, attributes, opset).at("y");
}

auto ints_attr(const std::string& name, Ints values) {
  return [name, values](onnx::NodeProto& n) { modelgen::attr_ints(n, name, values); };
}
auto int_attr(const std::string& name, std::int64_t value) {
  return [name, value](onnx::NodeProto& n) { modelgen::attr_int(n, name, value); };
}

// ---- Reshape, Squeeze, Unsqueeze, Flatten ----

TEST(RuntimeShapeOps, ReshapeCopiesZerosAndInfersMinusOne) {
  const Tensor x = iota({2, 3, 4});
  const auto y = run_y("Reshape", {{"x", x}, {"s", int64s({3}, {0, -1, 2})}});
  EXPECT_EQ(y.shape(), (Shape{2, 6, 2}));
  EXPECT_EQ(values_of(y), values_of(x));
  // More than one -1, or a size that does not divide, is an error.
  EXPECT_THROW(run_y("Reshape", {{"x", x}, {"s", int64s({2}, {-1, -1})}}), onnx_fp16::Error);
  EXPECT_THROW(run_y("Reshape", {{"x", x}, {"s", int64s({2}, {5, -1})}}), onnx_fp16::Error);
}

TEST(RuntimeShapeOps, ReshapeAllowZeroMakesZeroALiteralDimension) {
  const Tensor empty = floats({0, 3}, {});
  // allowzero=1 (opset 14): [3, 0] is a real shape with no elements.
  const auto literal = run_y("Reshape", {{"x", empty}, {"s", int64s({2}, {3, 0})}}, int_attr("allowzero", 1));
  EXPECT_EQ(literal.shape(), (Shape{3, 0}));
  // Without it, 0 copies the input's dimension: [3, 0] -> [3, 3], which 0 elements cannot fill.
  EXPECT_THROW(run_y("Reshape", {{"x", empty}, {"s", int64s({2}, {3, 0})}}), onnx_fp16::Error);
  // Before opset 14 the attribute does not exist, so 0 copies even when a model sets it.
  const auto copied = run_y("Reshape", {{"x", iota({2, 3})}, {"s", int64s({2}, {0, 3})}}, int_attr("allowzero", 1), 13);
  EXPECT_EQ(copied.shape(), (Shape{2, 3}));
}

TEST(RuntimeShapeOps, ReshapeTakesItsShapeAsAnAttributeBeforeOpset5) {
  const auto y = run_y("Reshape", {{"x", iota({2, 3})}}, ints_attr("shape", {3, -1}), 4);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
}

TEST(RuntimeShapeOps, SqueezeAxesFromAttributeOrInputWithNegatives) {
  const Tensor x = iota({1, 3, 1, 2});
  EXPECT_EQ(run_y("Squeeze", {{"x", x}, {"a", int64s({1}, {-2})}}).shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(run_y("Squeeze", {{"x", x}}, ints_attr("axes", {0, -2}), 11).shape(), (Shape{3, 2}));
  // No axes, or an empty list: every size-1 axis goes.
  EXPECT_EQ(run_y("Squeeze", {{"x", x}}).shape(), (Shape{3, 2}));
  EXPECT_EQ(run_y("Squeeze", {{"x", x}, {"a", int64s({0}, {})}}).shape(), (Shape{3, 2}));
  // An axis whose size is not 1 cannot be squeezed.
  EXPECT_THROW(run_y("Squeeze", {{"x", x}, {"a", int64s({1}, {1})}}), onnx_fp16::Error);
}

TEST(RuntimeShapeOps, UnsqueezeAxesCountInTheOutputAndMayBeUnsorted) {
  const Tensor x = iota({3, 2});
  // Output rank 5: axes 4, 0, -3 (= 2).
  EXPECT_EQ(run_y("Unsqueeze", {{"x", x}, {"a", int64s({3}, {4, 0, -3})}}).shape(), (Shape{1, 3, 1, 2, 1}));
  EXPECT_EQ(run_y("Unsqueeze", {{"x", x}}, ints_attr("axes", {-1, 1}), 11).shape(), (Shape{3, 1, 2, 1}));
  EXPECT_THROW(run_y("Unsqueeze", {{"x", x}, {"a", int64s({2}, {1, 1})}}), onnx_fp16::Error);
}

TEST(RuntimeShapeOps, FlattenAcceptsAxisZeroAndNegativeAxes) {
  const Tensor x = iota({2, 3, 4});
  EXPECT_EQ(run_y("Flatten", {{"x", x}}, int_attr("axis", 0)).shape(), (Shape{1, 24}));
  EXPECT_EQ(run_y("Flatten", {{"x", x}}, int_attr("axis", -1)).shape(), (Shape{6, 4}));
  EXPECT_EQ(run_y("Flatten", {{"x", x}}, int_attr("axis", 3)).shape(), (Shape{24, 1}));
  EXPECT_EQ(run_y("Flatten", {{"x", x}}).shape(), (Shape{2, 12}));
}

// ---- Transpose, DepthToSpace, SpaceToDepth ----

TEST(RuntimeShapeOps, TransposeMovesFloat16BitsUnchanged) {
  // A NaN with a payload and -0: a float round trip could change the first, arithmetic the second.
  const std::vector<Float16> bits{{0x7e01}, {0x8000}, {0x3c00}, {0xfc00}, {0x0001}, {0x7bff}};
  const Tensor x = Tensor::from_vector<Float16>({2, 3}, bits);
  const auto y = run_y("Transpose", {{"x", x}});  // default: reversed axes
  ASSERT_EQ(y.shape(), (Shape{3, 2}));
  const std::vector<std::uint16_t> expected{0x7e01, 0xfc00, 0x8000, 0x0001, 0x3c00, 0x7bff};
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(y.data<Float16>()[i].bits, expected[i]) << i;
}

TEST(RuntimeShapeOps, TransposeWithPermutation) {
  const auto y = run_y("Transpose", {{"x", iota({2, 3, 4})}}, ints_attr("perm", {1, 2, 0}));
  ASSERT_EQ(y.shape(), (Shape{3, 4, 2}));
  const auto v = values_of(y);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) EXPECT_EQ(v[static_cast<std::size_t>((j * 4 + k) * 2 + i)], i * 12 + j * 4 + k);
    }
  }
}

TEST(RuntimeShapeOps, DepthToSpaceModesAndSpaceToDepthInverse) {
  const Tensor x = iota({1, 8, 1, 2});
  auto mode = [](const std::string& m) {
    return [m](onnx::NodeProto& n) {
      modelgen::attr_int(n, "blocksize", 2);
      modelgen::attr_string(n, "mode", m);
    };
  };
  // out[0, c, i, w*2 + j]: DCR reads channel (i*2 + j)*2 + c, CRD channel c*4 + i*2 + j.
  const auto dcr = run_y("DepthToSpace", {{"x", x}}, mode("DCR"));
  ASSERT_EQ(dcr.shape(), (Shape{1, 2, 2, 4}));
  EXPECT_EQ(values_of(dcr), (Floats{0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15}));
  const auto crd = run_y("DepthToSpace", {{"x", x}}, mode("CRD"));
  EXPECT_EQ(values_of(crd), (Floats{0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15}));
  // SpaceToDepth undoes DCR.
  const auto back = run_y("SpaceToDepth", {{"x", dcr}}, int_attr("blocksize", 2));
  EXPECT_EQ(back.shape(), x.shape());
  EXPECT_EQ(values_of(back), values_of(x));
}

// ---- Concat, Split ----

TEST(RuntimeShapeOps, ConcatNegativeAxisOnStrings) {
  const auto y = run_node("Concat", {{"a", strings({2, 1}, {"a", "b"})}, {"b", strings({2, 2}, {"c", "d", "e", "f"})}},
                          {"y"}, int_attr("axis", -1))
                     .at("y");
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  const auto v = y.data<std::string>();
  EXPECT_EQ(std::vector<std::string>(v.begin(), v.end()), (std::vector<std::string>{"a", "c", "d", "b", "e", "f"}));
}

TEST(RuntimeShapeOps, SplitSizesByOpset) {
  const Tensor x = iota({2, 5});
  // Opset 13: sizes as an input.
  auto out = run_node("Split", {{"x", x}, {"s", int64s({2}, {2, 3})}}, {"a", "b"}, int_attr("axis", -1));
  EXPECT_EQ(out.at("a").shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of(out.at("b")), (Floats{2, 3, 4, 7, 8, 9}));
  // Opset 11: as an attribute.
  out = run_node("Split", {{"x", x}}, {"a", "b"},
                 [](onnx::NodeProto& n) {
                   modelgen::attr_int(n, "axis", 1);
                   modelgen::attr_ints(n, "split", {4, 1});
                 },
                 11);
  EXPECT_EQ(values_of(out.at("b")), (Floats{4, 9}));
  // Neither: equal parts, which must divide the extent.
  out = run_node("Split", {{"x", x}}, {"a", "b"});
  EXPECT_EQ(values_of(out.at("b")), (Floats{5, 6, 7, 8, 9}));
  EXPECT_THROW(run_node("Split", {{"x", x}}, {"a", "b"}, int_attr("axis", 1)), onnx_fp16::Error);
}

// ---- Slice ----

TEST(RuntimeShapeOps, SliceNegativeStepsClampLikePython) {
  const Tensor x = iota({6});
  auto slice = [&](Ints starts, Ints ends, Ints steps) {
    const auto n = static_cast<std::int64_t>(starts.size());
    return values_of(run_y("Slice", {{"x", x},
                                     {"s", int64s({n}, starts)},
                                     {"e", int64s({n}, ends)},
                                     {"a", int64s({n}, Ints(starts.size(), 0))},
                                     {"p", int64s({n}, steps)}}));
  };
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(slice({kMax}, {kMin}, {-1}), (Floats{5, 4, 3, 2, 1, 0}));  // x[::-1]
  EXPECT_EQ(slice({-1}, {-7}, {-2}), (Floats{5, 3, 1}));               // end clamps to "before 0"
  EXPECT_EQ(slice({4}, {1}, {-2}), (Floats{4, 2}));
  EXPECT_EQ(slice({1}, {4}, {-1}), (Floats{}));                        // empty
  EXPECT_EQ(slice({-100}, {100}, {4}), (Floats{0, 4}));                // clamped both ways
  EXPECT_EQ(slice({10}, {20}, {1}), (Floats{}));
}

TEST(RuntimeShapeOps, SliceNegativeAxesAndDefaults) {
  const Tensor x = iota({3, 4});
  // Axis -1 only; no steps input.
  const auto y = run_y("Slice", {{"x", x}, {"s", int32s({1}, {1})}, {"e", int32s({1}, {-1})}, {"a", int32s({1}, {-1})}});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values_of(y), (Floats{1, 2, 5, 6, 9, 10}));
}

TEST(RuntimeShapeOps, SliceTakesAttributesBeforeOpset10) {
  const auto y = run_y("Slice", {{"x", iota({3, 4})}},
                       [](onnx::NodeProto& n) {
                         modelgen::attr_ints(n, "starts", {1, 0});
                         modelgen::attr_ints(n, "ends", {1000, 2});
                       },
                       9);
  EXPECT_EQ(values_of(y), (Floats{4, 5, 8, 9}));
}

// ---- Expand, Tile ----

TEST(RuntimeShapeOps, ExpandBroadcastsBothWays) {
  // [3, 1] with shape [2, 1, 4]: the 1 in the shape keeps the input's 3.
  const auto y = run_y("Expand", {{"x", iota({3, 1})}, {"s", int64s({3}, {2, 1, 4})}});
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  const auto v = values_of(y);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], static_cast<float>(i / 4 % 3)) << i;
  // A shorter shape than the input's rank is fine too.
  EXPECT_EQ(run_y("Expand", {{"x", iota({2, 1})}, {"s", int64s({1}, {3})}}).shape(), (Shape{2, 3}));
}

TEST(RuntimeShapeOps, TileRepeatsEveryAxis) {
  const auto y = run_y("Tile", {{"x", bools({2}, {true, false})}, {"r", int64s({1}, {3})}});
  ASSERT_EQ(y.shape(), (Shape{6}));
  const auto v = y.data<bool>();
  EXPECT_EQ(std::vector<bool>(v.begin(), v.end()), (std::vector<bool>{true, false, true, false, true, false}));
  const auto m = run_y("Tile", {{"x", iota({2, 2})}, {"r", int64s({2}, {2, 1})}});
  EXPECT_EQ(values_of(m), (Floats{0, 1, 2, 3, 0, 1, 2, 3}));
  EXPECT_EQ(run_y("Tile", {{"x", iota({2, 2})}, {"r", int64s({2}, {0, 3})}}).shape(), (Shape{0, 6}));
}

// ---- Gather family ----

TEST(RuntimeShapeOps, GatherNegativeIndicesAndShapes) {
  const Tensor x = iota({3, 4});
  const auto y = run_y("Gather", {{"x", x}, {"i", int64s({2, 2}, {-1, 0, 1, -4})}}, int_attr("axis", 1));
  ASSERT_EQ(y.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(values_of(y), (Floats{3, 0, 1, 0, 7, 4, 5, 4, 11, 8, 9, 8}));
  // A scalar index removes the axis.
  const auto row = run_y("Gather", {{"x", x}, {"i", int32s({}, {-2})}});
  EXPECT_EQ(row.shape(), (Shape{4}));
  EXPECT_EQ(values_of(row), (Floats{4, 5, 6, 7}));
  EXPECT_THROW(run_y("Gather", {{"x", x}, {"i", int64s({1}, {3})}}), onnx_fp16::Error);
}

TEST(RuntimeShapeOps, GatherElementsNegativeIndices) {
  const auto y = run_y("GatherElements", {{"x", iota({2, 3})}, {"i", int64s({2, 2}, {-1, 0, 1, -3})}},
                       int_attr("axis", 1));
  EXPECT_EQ(values_of(y), (Floats{2, 0, 4, 3}));
}

TEST(RuntimeShapeOps, GatherNDWithBatchDims) {
  const Tensor x = iota({2, 2, 2});  // [[[0,1],[2,3]],[[4,5],[6,7]]]
  // batch_dims=1: batch 0 picks row 1, batch 1 picks row 0.
  const auto rows = run_y("GatherND", {{"x", x}, {"i", int64s({2, 1}, {1, 0})}}, int_attr("batch_dims", 1));
  EXPECT_EQ(rows.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of(rows), (Floats{2, 3, 4, 5}));
  // Full tuples with a batch: [2, 1, 2] indices -> one element per entry.
  const auto elements =
      run_y("GatherND", {{"x", x}, {"i", int64s({2, 1, 2}, {0, 1, -1, -1})}}, int_attr("batch_dims", 1));
  EXPECT_EQ(elements.shape(), (Shape{2, 1}));
  EXPECT_EQ(values_of(elements), (Floats{1, 7}));
  // No batch: tuples index from the first axis.
  const auto plain = run_y("GatherND", {{"x", x}, {"i", int64s({2, 2}, {1, 0, 0, 1})}});
  EXPECT_EQ(values_of(plain), (Floats{4, 5, 2, 3}));
}

// ---- Scatter family ----

TEST(RuntimeShapeOps, ScatterNDReductionAccumulatesFloat16InFloat32) {
  // float16 has a spacing of 2 at 2048: adding 1 twice, rounding each time, would stay at 2048
  // (2049 rounds to even); accumulating in float32 reaches 2050, which float16 holds.
  const Tensor data = halves({2}, {2048, 5});
  const Tensor indices = int64s({2, 1}, {0, 0});
  const Tensor updates = halves({2}, {1, 1});
  auto reduce = [](const std::string& r) { return [r](onnx::NodeProto& n) { modelgen::attr_string(n, "reduction", r); }; };
  const auto added = run_y("ScatterND", {{"d", data}, {"i", indices}, {"u", updates}}, reduce("add"));
  ASSERT_EQ(added.dtype(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(values_of(added), (Floats{2050, 5}));
  const auto multiplied =
      run_y("ScatterND", {{"d", halves({2}, {3, 5})}, {"i", int64s({2, 1}, {1, -1})}, {"u", halves({2}, {2, 4})}},
            reduce("mul"));
  EXPECT_EQ(values_of(multiplied), (Floats{3, 40}));
  // No reduction: the update replaces, and rows can be written whole.
  const auto rows = run_y("ScatterND", {{"d", iota({3, 2})}, {"i", int64s({1, 1}, {1})}, {"u", floats({1, 2}, {9, 8})}});
  EXPECT_EQ(values_of(rows), (Floats{0, 1, 9, 8, 4, 5}));
}

TEST(RuntimeShapeOps, ScatterElementsReductionsAndNegativeIndices) {
  const Tensor data = floats({2, 3}, {1, 1, 1, 1, 1, 1});
  const Tensor indices = int64s({2, 2}, {-1, -1, 0, 1});
  const Tensor updates = floats({2, 2}, {2, 3, 4, 5});
  auto with = [](const std::string& r) {
    return [r](onnx::NodeProto& n) {
      modelgen::attr_int(n, "axis", 1);
      modelgen::attr_string(n, "reduction", r);
    };
  };
  EXPECT_EQ(values_of(run_y("ScatterElements", {{"d", data}, {"i", indices}, {"u", updates}}, with("add"))),
            (Floats{1, 1, 6, 5, 6, 1}));
  EXPECT_EQ(values_of(run_y("ScatterElements", {{"d", data}, {"i", indices}, {"u", updates}}, with("mul"))),
            (Floats{1, 1, 6, 4, 5, 1}));
  // Scatter is the opset 9-10 name; it is gone at 11.
  const auto old = run_y("Scatter", {{"d", data}, {"i", int64s({1, 2}, {1, 0})}, {"u", floats({1, 2}, {7, 8})}}, {}, 10);
  EXPECT_EQ(values_of(old), (Floats{1, 8, 1, 7, 1, 1}));
  EXPECT_THROW(run_y("Scatter", {{"d", data}, {"i", int64s({1, 2}, {1, 0})}, {"u", floats({1, 2}, {7, 8})}}, {}, 11),
               onnx_fp16::Error);
}

// Indices smaller than data on the other axes, every axis of a rank-4 tensor, int32 and int64
// indices, negative ones: each update lands where the definition puts it (a naive reference),
// and a repeated target keeps the last update.
TEST(RuntimeShapeOps, ScatterElementsWritesEveryAxisOfARank4Tensor) {
  const Shape data_shape{3, 4, 2, 5};
  const Shape index_shape{2, 3, 2, 4};
  const std::size_t count = 2 * 3 * 2 * 4;
  Floats data(3 * 4 * 2 * 5);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  for (std::int64_t axis = 0; axis < 4; ++axis) {
    for (const bool wide : {false, true}) {
      SCOPED_TRACE("axis " + std::to_string(axis) + (wide ? " int64" : " int32"));
      const std::int64_t extent = data_shape[static_cast<std::size_t>(axis)];
      Ints indices(count);
      Floats updates(count);
      for (std::size_t i = 0; i < count; ++i) {
        // Some negative, and (i * 7) % extent repeats targets along the axis.
        const std::int64_t k = static_cast<std::int64_t>(i * 7) % extent;
        indices[i] = i % 3 == 0 ? k - extent : k;
        updates[i] = 1000.0f + static_cast<float>(i);
      }
      Floats expected = data;
      std::vector<std::int64_t> position(4, 0);
      for (std::size_t i = 0; i < count; ++i) {
        std::int64_t target = 0;
        for (std::size_t d = 0; d < 4; ++d) {
          const std::int64_t coordinate =
              d == static_cast<std::size_t>(axis) ? (indices[i] + extent) % extent : position[d];
          target = target * data_shape[d] + coordinate;
        }
        expected[static_cast<std::size_t>(target)] = updates[i];
        for (std::size_t d = 4; d-- > 0;) {
          if (++position[d] < index_shape[d]) break;
          position[d] = 0;
        }
      }
      std::vector<std::int32_t> narrow(indices.begin(), indices.end());
      const Tensor index_tensor = wide ? int64s(index_shape, indices) : int32s(index_shape, narrow);
      const auto y = run_y("ScatterElements",
                           {{"d", floats(data_shape, data)}, {"i", index_tensor}, {"u", floats(index_shape, updates)}},
                           [axis](onnx::NodeProto& n) { modelgen::attr_int(n, "axis", axis); });
      EXPECT_EQ(values_of(y), expected);
    }
  }
}

// ---- Pad ----

TEST(RuntimeShapeOps, PadModes) {
  const Tensor x = floats({1, 3}, {1, 2, 3});
  auto pad = [&](const std::string& mode, Ints pads) {
    return values_of(run_y("Pad", {{"x", x}, {"p", int64s({4}, pads)}},
                           [mode](onnx::NodeProto& n) { modelgen::attr_string(n, "mode", mode); }));
  };
  EXPECT_EQ(pad("reflect", {0, 2, 0, 2}), (Floats{3, 2, 1, 2, 3, 2, 1}));
  // Pads longer than the axis keep reflecting (numpy.pad's "reflect").
  EXPECT_EQ(pad("reflect", {0, 5, 0, 0}), (Floats{2, 1, 2, 3, 2, 1, 2, 3}));
  EXPECT_EQ(pad("edge", {0, 2, 0, 1}), (Floats{1, 1, 1, 2, 3, 3}));
  EXPECT_EQ(pad("constant", {0, 1, 0, 1}), (Floats{0, 1, 2, 3, 0}));
  // Negative pads crop, whatever the mode.
  EXPECT_EQ(pad("constant", {0, -1, 0, 1}), (Floats{2, 3, 0}));
  EXPECT_EQ(pad("reflect", {0, -2, 0, 1}), (Floats{3, 2}));
  // Rows too.
  const auto rows = run_y("Pad", {{"x", x}, {"p", int64s({4}, {1, 0, 0, 0})}, {"v", floats({}, {7})}});
  EXPECT_EQ(rows.shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of(rows), (Floats{7, 7, 7, 1, 2, 3}));
}

TEST(RuntimeShapeOps, PadTakesAttributesBeforeOpset11) {
  const auto y = run_y("Pad", {{"x", halves({2}, {1, 2})}},
                       [](onnx::NodeProto& n) {
                         modelgen::attr_ints(n, "pads", {1, 2});
                         modelgen::attr_float(n, "value", 0.5f);
                       },
                       2);
  ASSERT_EQ(y.dtype(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(values_of(y), (Floats{0.5f, 1, 2, 0.5f, 0.5f}));
}

// ---- Generators ----

TEST(RuntimeShapeOps, RangeCountsLikeArange) {
  const auto up = run_y("Range", {{"s", floats({}, {1})}, {"l", floats({}, {2})}, {"d", floats({}, {0.3f})}});
  EXPECT_EQ(up.shape(), (Shape{4}));  // ceil(1 / 0.3) = 4: 1, 1.3, 1.6, 1.9
  const auto down = run_y("Range", {{"s", int32s({}, {10})}, {"l", int32s({}, {4})}, {"d", int32s({}, {-3})}});
  const auto v = down.data<std::int32_t>();
  EXPECT_EQ(std::vector<std::int32_t>(v.begin(), v.end()), (std::vector<std::int32_t>{10, 7}));
  const auto none = run_y("Range", {{"s", int64s({}, {5})}, {"l", int64s({}, {1})}, {"d", int64s({}, {2})}});
  EXPECT_EQ(none.shape(), (Shape{0}));
}

// Found by libFuzzer: a float range of 1e34 elements was converted to a count (undefined
// behaviour); an int64 range from the lowest to the highest value has 2^64 - 1 elements.
TEST(RuntimeShapeOps, RangeTooLongForACountIsRefused) {
  const auto message_of = [](const std::vector<Input>& inputs) {
    try {
      run_y("Range", inputs);
    } catch (const onnx_fp16::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string huge = message_of({{"s", floats({}, {0})}, {"l", floats({}, {1e34f})}, {"d", floats({}, {1})}});
  EXPECT_NE(huge.find("more than 2^63 elements"), std::string::npos) << huge;
  const std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  const std::int64_t highest = std::numeric_limits<std::int64_t>::max();
  const std::string wide = message_of({{"s", int64s({}, {lowest})}, {"l", int64s({}, {highest})}, {"d", int64s({}, {1})}});
  EXPECT_NE(wide.find("more than 2^63 elements"), std::string::npos) << wide;
}

TEST(RuntimeShapeOps, OneHotNegativeIndicesAndAxis) {
  // Index -1 is depth - 1; 3 and -4 are outside [-3, 3) and select nothing.
  const auto y = run_y("OneHot", {{"i", int64s({4}, {-1, 0, 3, -4})}, {"d", int64s({}, {3})}, {"v", floats({2}, {0, 5})}},
                       int_attr("axis", 0));
  ASSERT_EQ(y.shape(), (Shape{3, 4}));
  EXPECT_EQ(values_of(y), (Floats{0, 5, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0}));
  // Float indices truncate; a float depth too.
  const auto f = run_y("OneHot", {{"i", floats({2}, {1.7f, -0.5f})}, {"d", floats({1}, {2.9f})}, {"v", int64s({2}, {-1, 1})}});
  EXPECT_EQ(ints_of(f), (Ints{-1, 1, 1, -1}));
}

TEST(RuntimeShapeOps, EyeLikeOffsetAndType) {
  const auto y = run_y("EyeLike", {{"x", iota({2, 3})}}, [](onnx::NodeProto& n) {
    modelgen::attr_int(n, "k", 1);
    modelgen::attr_int(n, "dtype", onnx::TensorProto::INT64);
  });
  EXPECT_EQ(ints_of(y), (Ints{0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(values_of(run_y("EyeLike", {{"x", iota({3, 2})}}, int_attr("k", -1))), (Floats{0, 0, 1, 0, 0, 1}));
}

// ---- Masks and selections ----

TEST(RuntimeShapeOps, TriluBothSidesWithOffsets) {
  const Tensor x = floats({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(values_of(run_y("Trilu", {{"x", x}})), (Floats{1, 2, 3, 0, 5, 6, 0, 0, 9}));
  EXPECT_EQ(values_of(run_y("Trilu", {{"x", x}, {"k", int64s({}, {1})}})), (Floats{0, 2, 3, 0, 0, 6, 0, 0, 0}));
  EXPECT_EQ(values_of(run_y("Trilu", {{"x", x}, {"k", int64s({}, {-1})}}, int_attr("upper", 0))),
            (Floats{0, 0, 0, 4, 0, 0, 7, 8, 0}));
}

TEST(RuntimeShapeOps, NonZeroListsCoordinatesInRowMajorOrder) {
  // -0 is zero, NaN is not.
  const auto y = run_y("NonZero", {{"x", halves({2, 3}, {0, 3, -0.0f, std::numeric_limits<float>::quiet_NaN(), 0, 1})}});
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(ints_of(y), (Ints{0, 1, 1, 1, 0, 2}));
}

TEST(RuntimeShapeOps, CompressWithAndWithoutAxis) {
  const Tensor x = iota({2, 3});
  // A condition shorter than the axis drops the rest.
  const auto columns = run_y("Compress", {{"x", x}, {"c", bools({2}, {false, true})}}, int_attr("axis", -1));
  EXPECT_EQ(columns.shape(), (Shape{2, 1}));
  EXPECT_EQ(values_of(columns), (Floats{1, 4}));
  const auto flat = run_y("Compress", {{"x", x}, {"c", bools({5}, {true, false, false, true, true})}});
  EXPECT_EQ(values_of(flat), (Floats{0, 3, 4}));
}

TEST(RuntimeShapeOps, ReverseSequenceReversesEachBatchPrefix) {
  // time_axis 0, batch_axis 1: column b reverses its first lens[b] entries.
  const auto y = run_y("ReverseSequence", {{"x", iota({3, 2})}, {"l", int64s({2}, {3, 2})}});
  EXPECT_EQ(values_of(y), (Floats{4, 3, 2, 1, 0, 5}));
}

}  // namespace
