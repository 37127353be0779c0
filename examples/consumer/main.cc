// Converts a model with the installed library: `consumer IN.onnx OUT.onnx`, or, with no
// arguments, a tiny model built here (so the package check needs no files), which it also runs
// on the evaluator and through automatic mixed precision.
#include <onnx_fp16/onnx_fp16.h>

#include <iostream>

namespace {

onnx::ModelProto tiny_model() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("tiny");
  for (const char* name : {"x", "y"}) {
    auto* value = name[0] == 'x' ? graph->add_input() : graph->add_output();
    value->set_name(name);
    value->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    value->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  }
  auto* weight = graph->add_initializer();
  weight->set_name("w");
  weight->set_data_type(onnx::TensorProto::FLOAT);
  weight->add_dims(2);
  weight->add_float_data(0.5f);
  weight->add_float_data(1e-9f);
  auto* node = graph->add_node();
  node->set_op_type("Mul");
  node->add_input("x");
  node->add_input("w");
  node->add_output("y");
  return model;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    onnx::ModelProto model = argc == 3 ? onnx_fp16::load_model(argv[1]) : tiny_model();
    onnx_fp16::Float16Options options;
    options.keep_io_types = true;
    onnx_fp16::ConversionReport report = onnx_fp16::convert_float_to_float16(model, options);
    onnx_fp16::check_model_full(model);
    if (argc == 3) onnx_fp16::save_model(model, argv[2]);
    std::cout << "converted " << report.converted_nodes << " nodes, kept " << report.kept_nodes.size()
              << ", casts added " << report.casts_added << ", values clamped " << report.values_clamped << "\n";
    if (argc == 3) return report.converted_nodes > 0 ? 0 : 1;

    // The evaluator and automatic mixed precision from the installed package too.
    onnx::ModelProto fresh = tiny_model();
    const onnx_fp16::Feeds sample{{"x", onnx_fp16::Tensor::from_vector<float>({2}, {1.0f, 2.0f})}};
    const onnx_fp16::Evaluator evaluator(fresh);
    const float y0 = evaluator.run(sample).at("y").data<float>()[0];
    onnx_fp16::MixedOptions mixed;
    mixed.atol = 1e-3;
    mixed.keep_io_types = true;
    const onnx_fp16::MixedReport found = onnx_fp16::auto_convert_mixed_precision(fresh, {sample}, mixed);
    std::cout << "evaluator: y[0] = " << y0 << "; auto-mixed: " << found.converted_nodes << " of "
              << found.candidate_nodes << " nodes float16, " << found.attempts << " attempt(s)\n";
    return report.converted_nodes > 0 && report.casts_added == 2 && report.values_clamped == 1 && y0 == 0.5f &&
                   found.converted_nodes == 1
               ? 0
               : 1;
  } catch (const std::exception& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 1;
  }
}
