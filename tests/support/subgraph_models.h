// Models with subgraphs built from models without: what exporters make (a whole network inside
// an If, as Silero VAD and merged decoders are).
#pragma once

#include <onnx/onnx_pb.h>

namespace test_support {

// The model's graph moved whole into the then-branch of an If named "choose" on a new bool input
// "flag" (its weights stay in the main graph, as exporters of merged decoders leave them); the
// else-branch gives each output a one-element constant.
onnx::ModelProto wrapped_in_if(const onnx::ModelProto& model);

}  // namespace test_support
