#include <gtest/gtest.h>
#include <onnx_fp16/onnx_fp16.h>
TEST(Smoke, Builds) { SUCCEED(); }
