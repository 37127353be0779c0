// The evaluator's executor: kernel resolution by opset, ordering, freeing intermediates after
// their last consumer (subgraph readers included), kept intermediates, error context.
#include <gtest/gtest.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>

#include <atomic>
#include <thread>

#include "modelgen/builder.h"
#include "runtime/executor.h"
#include "runtime/kernel_registry.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Evaluator;
using onnx_fp16::Tensor;
constexpr int F32 = onnx::TensorProto::FLOAT;

std::string load_error(const onnx::ModelProto& model) {
  try {
    Evaluator evaluator(model);
  } catch (const onnx_fp16::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// x[n] -> Relu -> t0 -> Relu -> t1 ... -> y
onnx::ModelProto relu_chain(int length, std::int64_t n) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {n}).output("y", F32, {n});
  std::string previous = "x";
  for (int i = 0; i < length; ++i) {
    const std::string next = i + 1 == length ? "y" : std::string("t").append(std::to_string(i));
    g.node("Relu", {previous}, {next}, "relu" + std::to_string(i));
    previous = next;
  }
  return model;
}

TEST(RuntimeExecutor, FreesEachIntermediateAfterItsLastConsumer) {
  const Evaluator evaluator(relu_chain(10, 1000));
  onnx_fp16::RunStats stats;
  const auto outputs = evaluator.run({{"x", Tensor(onnx::TensorProto::FLOAT, {1000})}}, &stats);
  EXPECT_EQ(stats.nodes_run, 10u);
  // While a node runs, its input and its output are alive; nothing older.
  EXPECT_EQ(stats.peak_live_tensors, 2u);
  EXPECT_EQ(stats.peak_live_bytes, 2u * 4000u);
  EXPECT_EQ(outputs.size(), 1u);
}

TEST(RuntimeExecutor, KeepsRequestedIntermediates) {
  const Evaluator evaluator(relu_chain(6, 4), {.threads = 1, .keep = {"t1", "t3"}});
  onnx_fp16::RunStats stats;
  const auto outputs = evaluator.run({{"x", Tensor::from_vector<float>({4}, {-1, 2, -3, 4})}}, &stats);
  ASSERT_TRUE(outputs.contains("t1"));
  ASSERT_TRUE(outputs.contains("t3"));
  ASSERT_TRUE(outputs.contains("y"));
  EXPECT_EQ(outputs.at("t3").data<float>()[1], 2.0f);
  // At the last node: t1 and t3 (kept) beside t4 and y (the chain's pair).
  EXPECT_EQ(stats.peak_live_tensors, 4u);
  EXPECT_THROW(Evaluator(relu_chain(3, 4), {.threads = 1, .keep = {"nope"}}), onnx_fp16::Error);
}

TEST(RuntimeExecutor, UnsupportedOperatorsAreNamedWithOpsetAndNode) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.node("NoSuchOp", {"x"}, {"y"}, "n1");
  EXPECT_EQ(load_error(model), "unsupported operator ai.onnx::NoSuchOp (opset 17) at node 'n1'");

  // Mod exists from opset 10 only.
  auto old = modelgen::make_model(9);
  GraphBuilder o(old.mutable_graph());
  o.input("a", F32, {2}).input("b", F32, {2}).output("y", F32, {2});
  o.node("Mod", {"a", "b"}, {"y"}, "m");
  EXPECT_EQ(load_error(old), "unsupported operator ai.onnx::Mod (opset 9) at node 'm'");

  auto custom = modelgen::make_model(17);
  modelgen::add_opset(custom, "com.example", 3);
  GraphBuilder c(custom.mutable_graph());
  c.input("x", F32, {2}).output("y", F32, {2});
  c.node("Bar", {"x"}, {"y"}, "b", "com.example");
  EXPECT_EQ(load_error(custom), "unsupported operator com.example::Bar (opset 3) at node 'b'");
}

TEST(RuntimeExecutor, RegistryRangesFollowSinceVersions) {
  using onnx_fp16::runtime::KernelContext;
  onnx_fp16::runtime::KernelRegistry registry;
  registry.add("Op", 1, [](KernelContext&) {});
  registry.add("Op", 11, [](KernelContext&) {});
  registry.add("Old", 3, [](KernelContext&) {}, 5);
  EXPECT_EQ(registry.find("", "Op", 0), nullptr);
  const auto* v1 = registry.find("", "Op", 1);
  EXPECT_NE(v1, nullptr);
  EXPECT_EQ(registry.find("ai.onnx", "Op", 10), v1);
  EXPECT_NE(registry.find("", "Op", 17), v1);
  EXPECT_NE(registry.find("", "Old", 5), nullptr);
  EXPECT_EQ(registry.find("", "Old", 6), nullptr);
  EXPECT_EQ(registry.find("other", "Op", 11), nullptr);
  EXPECT_THROW(registry.add("ai.onnx", "Op", 11, [](KernelContext&) {}), onnx_fp16::Error);
}

// What a kernel derives from constant inputs (packed weights: KernelContext::from_constants) is
// computed once, by its preparer while the model loads, and reused by every run, concurrent
// ones included; from an input that is not a constant it is computed on every run.
TEST(RuntimeExecutor, WhatKernelsDeriveFromConstantsIsComputedOnceAtLoad) {
  using onnx_fp16::runtime::KernelContext;
  std::atomic<int> computed{0};
  // y = x * (sum of w): the sum is what the kernel derives from w.
  auto weight_sum = [&computed](const KernelContext& ctx) {
    const std::array<std::size_t, 1> key{1};
    return ctx.from_constants<float>(key, [&] {
      ++computed;
      float sum = 0;
      for (const float v : ctx.input(1).data<float>()) sum += v;
      return sum;
    });
  };
  onnx_fp16::runtime::KernelRegistry registry;
  registry.add("com.example", "Scaled", 1, [&](KernelContext& ctx) {
    const float sum = *weight_sum(ctx);
    Tensor y = Tensor::uninitialized(onnx::TensorProto::FLOAT, ctx.input(0).shape());
    auto out = y.mutable_data<float>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = ctx.input(0).data<float>()[i] * sum;
    ctx.set_output(0, std::move(y));
  });
  registry.add_preparer("com.example", "Scaled", [&](KernelContext& ctx) {
    if (ctx.has_input(1)) weight_sum(ctx);
  });
  auto model_with = [](bool constant_weights) {
    auto model = modelgen::make_model(17);
    modelgen::add_opset(model, "com.example", 1);
    GraphBuilder g(model.mutable_graph());
    g.input("x", F32, {2}).output("y", F32, {2});
    if (constant_weights) {
      g.initializer("w", {3}, {1, 2, 3});
    } else {
      g.input("w", F32, {3});
    }
    g.node("Scaled", {"x", "w"}, {"y"}, "scaled", "com.example");
    return model;
  };
  const Tensor x = Tensor::from_vector<float>({2}, {1, -2});
  const Tensor w = Tensor::from_vector<float>({3}, {1, 2, 3});

  const onnx_fp16::runtime::Executor constant(model_with(true), {}, registry);
  EXPECT_EQ(computed.load(), 1);  // by the preparer
  std::vector<std::thread> callers;
  std::atomic<int> right{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int run = 0; run < 3; ++run) {
        const auto outputs = constant.run({{"x", x}});
        const auto y = outputs.at("y").data<float>();
        right += y[0] == 6.0f && y[1] == -12.0f;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(right.load(), 12);
  EXPECT_EQ(computed.load(), 1);

  computed = 0;
  const onnx_fp16::runtime::Executor fed(model_with(false), {}, registry);
  EXPECT_EQ(computed.load(), 0);  // nothing constant to prepare
  for (int run = 0; run < 2; ++run) EXPECT_EQ(fed.run({{"x", x}, {"w", w}}).at("y").data<float>()[1], -12.0f);
  EXPECT_EQ(computed.load(), 2);  // w may differ on every run
}

TEST(RuntimeExecutor, NamesThatNothingDefinesAreRefusedAtLoad) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.node("Add", {"x", "ghost"}, {"y"}, "add");
  EXPECT_NE(load_error(model).find("reads 'ghost', which nothing defines"), std::string::npos) << load_error(model);
}

TEST(RuntimeExecutor, RunsNodesInTopologicalOrderWhateverTheListOrder) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.node("Neg", {"h"}, {"y"}, "second");
  g.node("Abs", {"x"}, {"h"}, "first");
  const auto out = Evaluator(model).run({{"x", Tensor::from_vector<float>({2}, {-3, 4})}});
  EXPECT_EQ(out.at("y").data<float>()[0], -3.0f);
  EXPECT_EQ(out.at("y").data<float>()[1], -4.0f);
}

// A nameless node is "<op>#<position>" in the evaluator's errors as in the conversion report, so
// an error can be matched to a kept node.
TEST(RuntimeExecutor, NamelessNodesAreLabelledAsInReports) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {2, 3}).input("b", F32, {4}).output("y", F32, {});
  g.node("Neg", {"a"}, {"n"}, "negate");
  g.node("Add", {"n", "b"}, {"y"}, "");
  onnx_fp16::Float16Options options;
  options.op_block_list = std::vector<std::string>{"Add"};
  onnx::ModelProto converted = model;
  const onnx_fp16::ConversionReport report = onnx_fp16::convert_float_to_float16(converted, options);
  ASSERT_EQ(report.kept_nodes.size(), 1u);
  EXPECT_EQ(report.kept_nodes[0].name, "Add#1");
  const Evaluator evaluator(model);
  try {
    evaluator.run({{"a", Tensor(onnx::TensorProto::FLOAT, {2, 3})}, {"b", Tensor(onnx::TensorProto::FLOAT, {4})}});
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'Add#1' (Add)"), std::string::npos) << e.what();
  }
}

TEST(RuntimeExecutor, KernelErrorsNameTheNode) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {2, 3}).input("b", F32, {4}).output("y", F32, {});
  g.node("Add", {"a", "b"}, {"y"}, "add");
  const Evaluator evaluator(model);
  try {
    evaluator.run({{"a", Tensor(onnx::TensorProto::FLOAT, {2, 3})}, {"b", Tensor(onnx::TensorProto::FLOAT, {4})}});
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("node 'add' (Add)"), std::string::npos) << message;
    EXPECT_NE(message.find("[2,3] and [4] cannot be broadcast"), std::string::npos) << message;
  }
}

TEST(RuntimeExecutor, LoadsOnceRunsManyTimes) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {"n"}).output("y", F32, {"n"});
  g.initializer("w", {}, {2.0f});
  g.node("Mul", {"x", "w"}, {"y"}, "mul");
  const Evaluator evaluator(model);
  for (int n = 1; n <= 3; ++n) {
    std::vector<float> values(static_cast<std::size_t>(n), static_cast<float>(n));
    const auto out = evaluator.run({{"x", Tensor::from_vector<float>({n}, values)}});
    ASSERT_EQ(out.at("y").size(), static_cast<std::size_t>(n));
    EXPECT_EQ(out.at("y").data<float>()[0], 2.0f * n);
  }
}

TEST(RuntimeExecutor, InitializerBackedInputsAreOptionalFeeds) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {1}).input("bias", F32, {1}).output("y", F32, {1});
  g.initializer("bias", {1}, {10.0f});
  g.node("Add", {"x", "bias"}, {"y"}, "add");
  const Evaluator evaluator(model);
  const auto x = Tensor::from_vector<float>({1}, {1});
  EXPECT_EQ(evaluator.run({{"x", x}}).at("y").data<float>()[0], 11.0f);
  EXPECT_EQ(evaluator.run({{"x", x}, {"bias", Tensor::from_vector<float>({1}, {100})}}).at("y").data<float>()[0], 101.0f);
}

TEST(RuntimeExecutor, OpsetSelectsClipSemantics) {
  // Opset 6: bounds are attributes.
  auto v6 = modelgen::make_model(6);
  GraphBuilder g6(v6.mutable_graph());
  g6.input("x", F32, {3}).output("y", F32, {3});
  auto& clip6 = g6.node("Clip", {"x"}, {"y"}, "clip");
  modelgen::attr_float(clip6, "min", -1.0f);
  modelgen::attr_float(clip6, "max", 1.0f);
  const auto x = Tensor::from_vector<float>({3}, {-5, 0.5f, 5});
  const auto out6 = Evaluator(v6).run({{"x", x}});
  const auto y6 = out6.at("y").data<float>();
  EXPECT_EQ(std::vector<float>(y6.begin(), y6.end()), (std::vector<float>{-1, 0.5f, 1}));

  // Opset 11: bounds are optional inputs; an empty name leaves that side open.
  auto v11 = modelgen::make_model(11);
  GraphBuilder g11(v11.mutable_graph());
  g11.input("x", F32, {3}).output("y", F32, {3});
  g11.initializer("hi", {}, {2.0f});
  g11.node("Clip", {"x", "", "hi"}, {"y"}, "clip");
  const auto out11 = Evaluator(v11).run({{"x", x}});
  const auto y11 = out11.at("y").data<float>();
  EXPECT_EQ(std::vector<float>(y11.begin(), y11.end()), (std::vector<float>{-5, 0.5f, 2}));
}

TEST(RuntimeExecutor, LegacyBroadcastBeforeOpset7) {
  auto model = modelgen::make_model(6);
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {2, 3}).input("b", F32, {2}).output("y", F32, {2, 3});
  auto& add = g.node("Add", {"a", "b"}, {"y"}, "add");
  modelgen::attr_int(add, "broadcast", 1);
  modelgen::attr_int(add, "axis", 0);
  const auto out = Evaluator(model).run(
      {{"a", Tensor(onnx::TensorProto::FLOAT, {2, 3})}, {"b", Tensor::from_vector<float>({2}, {1, 2})}});
  const auto y = out.at("y").data<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{1, 1, 1, 2, 2, 2}));
}

// A value that only a subgraph reads must live until the node owning the subgraph has run.
TEST(RuntimeExecutor, SubgraphReadsCountAsConsumers) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).input("c", onnx::TensorProto::BOOL, {}).output("y", F32, {2});
  g.node("Neg", {"x"}, {"a"}, "neg");
  g.node("Abs", {"x"}, {"unrelated"}, "abs");
  g.node("Relu", {"unrelated"}, {"unrelated2"}, "relu");
  g.node("Identity", {"unrelated2"}, {"z"}, "id");
  auto& branch = g.node("If", {"c"}, {"y"}, "if");
  GraphBuilder then_branch(modelgen::attr_graph(branch, "then_branch"));
  then_branch.output_untyped("t");
  then_branch.node("Identity", {"a"}, {"t"}, "then_id");  // reads 'a' from the outer graph
  GraphBuilder else_branch(modelgen::attr_graph(branch, "else_branch"));
  else_branch.output_untyped("e");
  else_branch.node("Add", {"a", "z"}, {"e"}, "else_add");
  const Evaluator evaluator(model);
  const auto x = Tensor::from_vector<float>({2}, {1, -2});
  const auto then_out = evaluator.run({{"x", x}, {"c", Tensor::scalar(true)}});
  const auto then_y = then_out.at("y").data<float>();
  EXPECT_EQ(std::vector<float>(then_y.begin(), then_y.end()), (std::vector<float>{-1, 2}));
  const auto else_out = evaluator.run({{"x", x}, {"c", Tensor::scalar(false)}});
  const auto else_y = else_out.at("y").data<float>();
  EXPECT_EQ(std::vector<float>(else_y.begin(), else_y.end()), (std::vector<float>{0, 4}));
}

TEST(RuntimeExecutor, CyclesAreRefused) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.node("Add", {"x", "b"}, {"a"}, "first");
  g.node("Neg", {"a"}, {"b"}, "second");
  g.node("Identity", {"b"}, {"y"}, "out");
  const std::string error = load_error(model);
  EXPECT_NE(error.find("graph 'main' has a cycle: node 'first' (Add) reads 'b' from node 'second' (Neg), which reads "
                       "'a' from node 'first' (Add)"),
            std::string::npos)
      << error;
}

// A value written by two nodes: which one a reader gets would depend on the order of the list.
TEST(RuntimeExecutor, ValuesWithTwoProducersAreRefused) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).output("y", F32, {2});
  g.node("Neg", {"x"}, {"y"}, "negate");
  g.node("Abs", {"x"}, {"y"}, "absolute");
  const std::string error = load_error(model);
  EXPECT_NE(error.find("node 'absolute' (Abs) in graph 'main' writes 'y', which is also written by node 'negate'"),
            std::string::npos)
      << error;
  auto shadowing = modelgen::make_model(17);
  GraphBuilder s(shadowing.mutable_graph());
  s.input("x", F32, {2}).output("y", F32, {2});
  s.node("Neg", {"x"}, {"x"}, "overwrite_input");
  s.node("Abs", {"x"}, {"y"}, "absolute");
  EXPECT_NE(load_error(shadowing).find("writes 'x', which is an input of that graph"), std::string::npos)
      << load_error(shadowing);
}

// A cycle through a subgraph: the If's branch reads the value the If itself feeds.
TEST(RuntimeExecutor, CyclesThroughSubgraphReadsAreRefused) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {2}).input("flag", onnx::TensorProto::BOOL, {}).output("y", F32, {2});
  auto& branch = g.node("If", {"flag"}, {"branch_out"}, "branch");
  for (const char* name : {"then_branch", "else_branch"}) {
    GraphBuilder body(modelgen::attr_graph(branch, name));
    body.output(std::string(name) + "_out", F32, {2});
    body.node("Identity", {"late"}, {std::string(name) + "_out"}, std::string(name) + "/copy");
  }
  g.node("Neg", {"branch_out"}, {"late"}, "late");
  g.node("Identity", {"late"}, {"y"}, "out");
  const std::string error = load_error(model);
  EXPECT_NE(error.find("node 'branch' (If) reads 'late' from node 'late' (Neg), which reads 'branch_out' from node "
                       "'branch' (If)"),
            std::string::npos)
      << error;
}

}  // namespace
