// If, Loop and Scan: branches, outer-scope values, loop-carried values, scan outputs, zero
// iterations, Scan's axes and directions (opset 9+) and its batched opset-8 form; what a run
// shows of the nodes inside them (runtime::NodeHook).
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>

#include <map>
#include <string>

#include "modelgen/builder.h"
#include "runtime/executor.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Evaluator;
using onnx_fp16::Tensor;
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int I64 = onnx::TensorProto::INT64;
constexpr int BOOL = onnx::TensorProto::BOOL;

std::vector<float> floats(const Tensor& t) {
  const auto s = t.data<float>();
  return {s.begin(), s.end()};
}

TEST(RuntimeControlFlow, IfRunsOneBranchWithOuterValues) {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("c", BOOL, {}).input("x", F32, {2}).output("y", F32, {2});
  g.initializer("two", {}, {2.0f});
  auto& node = g.node("If", {"c"}, {"y"}, "if");
  GraphBuilder then_branch(modelgen::attr_graph(node, "then_branch"));
  then_branch.output_untyped("t");
  then_branch.node("Mul", {"x", "two"}, {"t"}, "double");  // an input and an initializer from outside
  GraphBuilder else_branch(modelgen::attr_graph(node, "else_branch"));
  else_branch.output_untyped("x");  // an outer value straight through
  const Evaluator evaluator(model);
  const auto x = Tensor::from_vector<float>({2}, {1, -3});
  EXPECT_EQ(floats(evaluator.run({{"c", Tensor::scalar(true)}, {"x", x}}).at("y")), (std::vector<float>{2, -6}));
  EXPECT_EQ(floats(evaluator.run({{"c", Tensor::scalar(false)}, {"x", x}}).at("y")), (std::vector<float>{1, -3}));
}

// body: acc += x * i; scan = acc; the condition input is absent, so M alone decides.
onnx::ModelProto accumulating_loop_model() {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("M", I64, {}).input("x", F32, {2});
  g.output("sum", F32, {2}).output("history", F32, {-1, 2});
  g.initializer("zero", {2}, {0, 0});
  auto& loop = g.node("Loop", {"M", "", "zero"}, {"sum", "history"}, "loop");
  GraphBuilder body(modelgen::attr_graph(loop, "body"));
  body.input("i", I64, {}).input("cond_in", BOOL, {}).input("acc", F32, {2});
  body.output("cond_in", BOOL, {}).output("acc_out", F32, {2}).output("scan", F32, {2});
  auto& cast = body.node("Cast", {"i"}, {"i_float"}, "cast");
  modelgen::attr_int(cast, "to", F32);
  body.node("Mul", {"x", "i_float"}, {"step"}, "mul");  // x from the outer scope
  body.node("Add", {"acc", "step"}, {"acc_out"}, "add");
  body.node("Identity", {"acc_out"}, {"scan"}, "scan_id");
  return model;
}

TEST(RuntimeControlFlow, LoopWithTripCountCarriesValuesAndStacksScanOutputs) {
  const Evaluator evaluator(accumulating_loop_model());
  const auto x = Tensor::from_vector<float>({2}, {1, 10});
  const auto out = evaluator.run({{"M", Tensor::scalar<std::int64_t>(4)}, {"x", x}});
  EXPECT_EQ(floats(out.at("sum")), (std::vector<float>{6, 60}));  // 0+1+2+3
  EXPECT_EQ(out.at("history").shape(), (onnx_fp16::Shape{4, 2}));
  EXPECT_EQ(floats(out.at("history")), (std::vector<float>{0, 0, 1, 10, 3, 30, 6, 60}));

  const auto none = evaluator.run({{"M", Tensor::scalar<std::int64_t>(0)}, {"x", x}});
  EXPECT_EQ(floats(none.at("sum")), (std::vector<float>{0, 0}));
  EXPECT_EQ(none.at("history").shape(), (onnx_fp16::Shape{0, 2}));  // from the body's declared [2]
}

// Every node as often as it runs, with its values: a Loop body's nodes once per iteration, the
// Loop itself once, an If's untaken branch never. An output the hook replaces is what readers get.
TEST(RuntimeControlFlow, TheHookSeesEveryNodeAtAnyDepthAsOftenAsItRuns) {
  const onnx_fp16::runtime::Executor loop(accumulating_loop_model(), {});
  std::map<std::string, int> runs;
  std::vector<float> last_sum, mul_reads;
  const onnx_fp16::runtime::NodeHook hook = [&](const onnx::NodeProto& node, std::span<const Tensor* const> inputs,
                                                        std::span<Tensor> outputs) {
    ++runs[node.name()];
    if (node.name() == "add") last_sum = floats(outputs[0]);
    if (node.name() == "mul") mul_reads = floats(*inputs[0]);
  };
  const auto x = Tensor::from_vector<float>({2}, {1, 10});
  loop.run({{"M", Tensor::scalar<std::int64_t>(4)}, {"x", x}}, nullptr, &hook);
  EXPECT_EQ(runs, (std::map<std::string, int>{{"loop", 1}, {"cast", 4}, {"mul", 4}, {"add", 4}, {"scan_id", 4}}));
  EXPECT_EQ(last_sum, (std::vector<float>{6, 60}));
  EXPECT_EQ(mul_reads, (std::vector<float>{1, 10}));  // the outer x

  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("c", BOOL, {}).input("x", F32, {2}).output("y", F32, {2});
  auto& node = g.node("If", {"c"}, {"y"}, "if");
  GraphBuilder then_branch(modelgen::attr_graph(node, "then_branch"));
  then_branch.output_untyped("t");
  then_branch.node("Neg", {"x"}, {"t"}, "negate");
  GraphBuilder else_branch(modelgen::attr_graph(node, "else_branch"));
  else_branch.output_untyped("e");
  else_branch.node("Abs", {"x"}, {"e"}, "absolute");
  const onnx_fp16::runtime::Executor branches(model, {});
  runs.clear();
  branches.run({{"c", Tensor::scalar(false)}, {"x", x}}, nullptr, &hook);
  EXPECT_EQ(runs, (std::map<std::string, int>{{"if", 1}, {"absolute", 1}}));

  const onnx_fp16::runtime::NodeHook zero_the_negation = [&](const onnx::NodeProto& node, std::span<const Tensor* const>,
                                                             std::span<Tensor> outputs) {
    if (node.name() == "negate") outputs[0] = Tensor::from_vector<float>({2}, {0, 0});
  };
  EXPECT_EQ(floats(branches.run({{"c", Tensor::scalar(true)}, {"x", x}}, nullptr, &zero_the_negation).at("y")),
            (std::vector<float>{0, 0}));
  EXPECT_EQ(floats(branches.run({{"c", Tensor::scalar(true)}, {"x", x}}).at("y")), (std::vector<float>{-1, -10}));
}

TEST(RuntimeControlFlow, LoopStopsWhenTheBodySaysSo) {
  // while (cond): acc += 1; cond = acc < limit. M is absent.
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("cond", BOOL, {}).input("limit", F32, {});
  g.output("count", F32, {});
  g.initializer("zero", {}, {0});
  g.initializer("one", {}, {1});
  g.node("Loop", {"", "cond", "zero"}, {"count"}, "loop");
  auto& loop = *model.mutable_graph()->mutable_node(0);
  GraphBuilder body(modelgen::attr_graph(loop, "body"));
  body.input("i", I64, {}).input("cond_in", BOOL, {}).input("acc", F32, {});
  body.output("cond_out", BOOL, {}).output("acc_out", F32, {});
  body.node("Add", {"acc", "one"}, {"acc_out"}, "inc");
  body.node("Less", {"acc_out", "limit"}, {"cond_out"}, "less");
  const Evaluator evaluator(model);
  const auto run = [&](bool cond, float limit) {
    return evaluator.run({{"cond", Tensor::scalar(cond)}, {"limit", Tensor::scalar(limit)}}).at("count").data<float>()[0];
  };
  EXPECT_EQ(run(true, 5.0f), 5.0f);
  EXPECT_EQ(run(true, -1.0f), 1.0f);  // a do-while: the body runs once before the check
  EXPECT_EQ(run(false, 5.0f), 0.0f);
}

TEST(RuntimeControlFlow, ScanWithAxesAndDirections) {
  // Running sum over the columns of x[2,3] (scan axis 1), read backwards; scan outputs stacked
  // on axis 1 (so they come out [2,3]) in reverse too.
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("init", F32, {2}).input("x", F32, {2, 3});
  g.output("final", F32, {2}).output("partial", F32, {2, 3});
  auto& scan = g.node("Scan", {"init", "x"}, {"final", "partial"}, "scan");
  modelgen::attr_int(scan, "num_scan_inputs", 1);
  modelgen::attr_ints(scan, "scan_input_axes", {1});
  modelgen::attr_ints(scan, "scan_input_directions", {1});
  modelgen::attr_ints(scan, "scan_output_axes", {-1});
  modelgen::attr_ints(scan, "scan_output_directions", {1});
  GraphBuilder body(modelgen::attr_graph(scan, "body"));
  body.input("sum_in", F32, {2}).input("column", F32, {2});
  body.output("sum_out", F32, {2}).output("seen", F32, {2});
  body.node("Add", {"sum_in", "column"}, {"sum_out"}, "add");
  body.node("Identity", {"sum_out"}, {"seen"}, "id");
  const auto out = Evaluator(model).run({{"init", Tensor::from_vector<float>({2}, {0, 100})},
                                         {"x", Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(floats(out.at("final")), (std::vector<float>{6, 115}));
  // Visited columns 2, 1, 0: partial sums 3, 5, 6 (row 0); stored reversed, they line up with
  // the columns they end at: [6, 5, 3].
  EXPECT_EQ(out.at("partial").shape(), (onnx_fp16::Shape{2, 3}));
  EXPECT_EQ(floats(out.at("partial")), (std::vector<float>{6, 5, 3, 115, 111, 106}));
}

TEST(RuntimeControlFlow, ScanAtOpset8HasABatchAxis) {
  auto model = modelgen::make_model(8, 3);
  GraphBuilder g(model.mutable_graph());
  g.input("init", F32, {2, 1}).input("x", F32, {2, 3, 1});
  g.output("final", F32, {2, 1}).output("partial", F32, {2, 3, 1});
  auto& scan = g.node("Scan", {"", "init", "x"}, {"final", "partial"}, "scan");
  modelgen::attr_int(scan, "num_scan_inputs", 1);
  GraphBuilder body(modelgen::attr_graph(scan, "body"));
  body.input("sum_in", F32, {1}).input("step", F32, {1});
  body.output("sum_out", F32, {1}).output("seen", F32, {1});
  body.node("Add", {"sum_in", "step"}, {"sum_out"}, "add");
  body.node("Identity", {"sum_out"}, {"seen"}, "id");
  const auto out = Evaluator(model).run({{"init", Tensor::from_vector<float>({2, 1}, {0, 10})},
                                         {"x", Tensor::from_vector<float>({2, 3, 1}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(floats(out.at("final")), (std::vector<float>{6, 25}));
  EXPECT_EQ(floats(out.at("partial")), (std::vector<float>{1, 3, 6, 14, 19, 25}));
}

}  // namespace
