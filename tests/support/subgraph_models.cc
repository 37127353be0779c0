#include "support/subgraph_models.h"

#include "modelgen/builder.h"

namespace test_support {

onnx::ModelProto wrapped_in_if(const onnx::ModelProto& model) {
  onnx::ModelProto wrapped = model;
  onnx::GraphProto& graph = *wrapped.mutable_graph();
  onnx::NodeProto choose;
  choose.set_op_type("If");
  choose.set_name("choose");
  choose.add_input("flag");
  onnx::GraphProto* then_branch = modelgen::attr_graph(choose, "then_branch");
  onnx::GraphProto* else_branch = modelgen::attr_graph(choose, "else_branch");
  *then_branch->mutable_node() = graph.node();
  *then_branch->mutable_value_info() = graph.value_info();
  graph.clear_value_info();
  for (const auto& output : graph.output()) {
    choose.add_output(output.name());
    onnx::ValueInfoProto& inner = *then_branch->add_output();
    inner = output;
    inner.set_name(output.name() + "/then");
    onnx::ValueInfoProto& other = *else_branch->add_output();
    other = output;
    other.set_name(output.name() + "/else");
    other.mutable_type()->mutable_tensor_type()->clear_shape();
    onnx::NodeProto& constant = *else_branch->add_node();
    constant.set_op_type("ConstantOfShape");
    constant.set_name(output.name() + "/else fill");
    constant.add_input("one_element");
    constant.add_output(other.name());
    onnx::TensorProto fill;
    fill.set_data_type(output.type().tensor_type().elem_type());
    fill.add_dims(1);
    if (fill.data_type() == onnx::TensorProto::INT64) {
      fill.add_int64_data(0);
    } else {
      fill.add_float_data(0.0f);
    }
    modelgen::attr_tensor(constant, "value", fill);
  }
  // The branch's nodes write the branch's own outputs.
  for (auto& node : *then_branch->mutable_node()) {
    for (auto& out : *node.mutable_output()) {
      for (const auto& output : graph.output()) {
        if (out == output.name()) out = output.name() + "/then";
      }
    }
    for (auto& in : *node.mutable_input()) {
      for (const auto& output : graph.output()) {
        if (in == output.name()) in = output.name() + "/then";
      }
    }
  }
  graph.clear_node();
  *graph.add_node() = choose;
  modelgen::GraphBuilder g(&graph);
  g.input("flag", onnx::TensorProto::BOOL, {});
  g.initializer_i64("one_element", {1}, {1});
  return wrapped;
}

}  // namespace test_support
