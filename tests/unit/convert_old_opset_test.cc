// Models at opsets 1-5, where Cast's target is a type name (Cast-1) rather than a number.
#include <gtest/gtest.h>

#include "modelgen/builder.h"
#include "support/conversion.h"

namespace {

constexpr int F32 = onnx::TensorProto::FLOAT;

TEST(ConvertOldOpset, InsertedCastsUseCast1sStringTargetAndDeclareTheirType) {
  auto model = modelgen::make_model(/*opset=*/1, /*ir_version=*/3);
  modelgen::GraphBuilder g(model.mutable_graph());
  g.input("x", F32, {1, 3, 4, 4}).output("y", F32, {1, 3, 1, 1});
  g.node("GlobalAveragePool", {"x"}, {"y"}, "pool");
  onnx_fp16::Float16Options options;
  options.keep_io_types = true;
  const test_support::Converted converted = test_support::convert_checked(model, options);  // the full checker passes
  const auto casts = test_support::nodes_of(converted.model.graph(), "Cast");
  ASSERT_EQ(casts.size(), 2u);
  for (const auto* cast : casts) {
    ASSERT_EQ(cast->attribute_size(), 1);
    EXPECT_EQ(cast->attribute(0).type(), onnx::AttributeProto::STRING);
    EXPECT_TRUE(cast->attribute(0).s() == "FLOAT16" || cast->attribute(0).s() == "FLOAT") << cast->attribute(0).s();
    EXPECT_NE(test_support::declared_elem_type(converted.model.graph(), cast->output(0)), 0) << cast->output(0);
  }
}

}  // namespace
