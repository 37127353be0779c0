// `auto-mixed --validate-cmd CMD`: candidates run by the user's own command (the runtime they
// deploy on) instead of the built-in evaluator.
//
// For every model and sample the command is run through /bin/sh with {model}, {input} and
// {output} replaced by file paths (quoted); without placeholders the three paths are appended.
// The input is an .npz of the sample's tensors; the command must write the model's outputs as
// an .npz at {output} and exit 0.
#pragma once

#include <onnx_fp16/mixed.h>

#include <string>

namespace onnx_fp16::cli {

// Throws onnx_fp16::Error (naming the command and the sample) when the command fails or its
// output lacks one of the model's outputs.
CandidateRunner make_command_runner(std::string command);

}  // namespace onnx_fp16::cli
