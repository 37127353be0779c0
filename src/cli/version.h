// The version `onnx-fp16 --version` prints.
#pragma once

// The build may pass the project version from CMake (PROJECT_VERSION); the fallback must be
// kept equal to the version in the top-level CMakeLists.txt.
#ifndef ONNX_FP16_VERSION
#define ONNX_FP16_VERSION "0.1.0"
#endif
