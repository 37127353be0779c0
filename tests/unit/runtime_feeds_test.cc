// Feed validation: each wrong feed is refused with the input's name and what it expects.
#include <gtest/gtest.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>

#include "modelgen/builder.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Evaluator;
using onnx_fp16::Tensor;
constexpr int F16 = onnx::TensorProto::FLOAT16;
constexpr int I64 = onnx::TensorProto::INT64;

// image: FLOAT16 [batch,3,4], ids: INT64 [batch] -> y
Evaluator two_input_model() {
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("image", F16, {"batch", 3, 4}).input("ids", I64, {"batch"}).output("y", F16, {"batch", 3, 4});
  g.output("n", I64, {"batch"});
  g.node("Identity", {"image"}, {"y"}, "id_image");
  g.node("Identity", {"ids"}, {"n"}, "id_ids");
  return Evaluator(model);
}

Tensor image(std::vector<std::int64_t> shape) { return Tensor(onnx::TensorProto::FLOAT16, std::move(shape)); }
Tensor ids(std::int64_t n) { return Tensor(onnx::TensorProto::INT64, {n}); }

std::string run_error(const Evaluator& evaluator, const std::map<std::string, Tensor>& feeds) {
  try {
    evaluator.run(feeds);
  } catch (const onnx_fp16::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RuntimeFeeds, GoodFeedsRunWithAnySymbolicSize) {
  const auto evaluator = two_input_model();
  EXPECT_NO_THROW(evaluator.run({{"image", image({2, 3, 4})}, {"ids", ids(2)}}));
  EXPECT_NO_THROW(evaluator.run({{"image", image({7, 3, 4})}, {"ids", ids(1)}}));
  ASSERT_EQ(evaluator.inputs().size(), 2u);
  EXPECT_EQ(evaluator.inputs()[0].dim_names[0], "batch");
  EXPECT_EQ(evaluator.inputs()[0].dims, (std::vector<std::int64_t>{-1, 3, 4}));
}

TEST(RuntimeFeeds, MissingInput) {
  const auto message = run_error(two_input_model(), {{"image", image({2, 3, 4})}});
  EXPECT_EQ(message, "missing input 'ids' (INT64 [batch])");
}

TEST(RuntimeFeeds, UnknownOrMisnamedInput) {
  const auto message = run_error(two_input_model(), {{"image", image({2, 3, 4})}, {"id", ids(2)}});
  EXPECT_NE(message.find("unknown input 'id' (the model's inputs are image, ids)"), std::string::npos) << message;
  EXPECT_NE(message.find("missing input 'ids'"), std::string::npos) << message;
}

TEST(RuntimeFeeds, WrongElementType) {
  const auto message = run_error(two_input_model(), {{"image", Tensor(onnx::TensorProto::FLOAT, {2, 3, 4})}, {"ids", ids(2)}});
  EXPECT_EQ(message, "input 'image' is FLOAT [2,3,4], expected FLOAT16 [batch,3,4]");
}

TEST(RuntimeFeeds, WrongRank) {
  const auto message = run_error(two_input_model(), {{"image", image({3, 4})}, {"ids", ids(2)}});
  EXPECT_EQ(message, "input 'image' has shape [3,4] (rank 2), expected FLOAT16 [batch,3,4] (rank 3)");
}

TEST(RuntimeFeeds, WrongFixedDimension) {
  const auto message = run_error(two_input_model(), {{"image", image({2, 3, 5})}, {"ids", ids(2)}});
  EXPECT_EQ(message, "input 'image' has shape [2,3,5], expected FLOAT16 [batch,3,4] (dimension 2 must be 4)");
}

TEST(RuntimeFeeds, FeedWithoutValue) {
  const auto message = run_error(two_input_model(), {{"image", Tensor()}, {"ids", ids(2)}});
  EXPECT_EQ(message, "input 'image' has no value; expected FLOAT16 [batch,3,4]");
}

TEST(RuntimeFeeds, NonTensorInputsAreRefusedAtLoad) {
  auto model = modelgen::make_model(17);
  auto* input = model.mutable_graph()->add_input();
  input->set_name("seq");
  input->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(1);
  model.mutable_graph()->add_output()->set_name("seq");
  try {
    Evaluator evaluator(model);
    FAIL() << "expected an error";
  } catch (const onnx_fp16::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported input type: input 'seq'"), std::string::npos) << e.what();
  }
}

}  // namespace
