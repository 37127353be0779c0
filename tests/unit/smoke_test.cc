// The umbrella header alone gives a user the whole public API: one model through conversion,
// the census and the evaluator, with only <onnx_fp16/onnx_fp16.h> and ONNX's helpers.
#include <gtest/gtest.h>
#include <onnx_fp16/onnx_fp16.h>

TEST(Smoke, UmbrellaHeaderGivesTheWholeApi) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("smoke");
  for (const char* name : {"x", "y"}) {
    auto* value = (name[0] == 'x' ? graph->add_input() : graph->add_output());
    value->set_name(name);
    value->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    value->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  }
  auto* node = graph->add_node();
  node->set_op_type("Relu");
  node->add_input("x");
  node->add_output("y");

  onnx_fp16::Float16Options options;
  options.keep_io_types = true;
  const onnx_fp16::ConversionReport report = onnx_fp16::convert_float_to_float16(model, options);
  EXPECT_EQ(report.converted_nodes, 1u);
  EXPECT_EQ(onnx_fp16::take_census(model).ops.at("Relu")[static_cast<std::size_t>(onnx_fp16::Precision::Float16)], 1u);
  const auto outputs = onnx_fp16::Evaluator(model).run({{"x", onnx_fp16::Tensor::from_vector<float>({2}, {-1.5f, 2.5f})}});
  const auto y = outputs.at("y").data<float>();
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 2.5f);
}
