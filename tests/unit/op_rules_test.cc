// The operator rule tables against what they describe: every entry of types/op_rules.cc names
// an ONNX op, an input it has and an attribute its schema defines (a typo would silently drop a
// rule); every com.microsoft op with a type rule has an evaluator kernel and every contrib
// kernel a type rule (the conversion could otherwise make a model the evaluator cannot check).
#include <gtest/gtest.h>
#include <onnx/defs/schema.h>

#include <set>
#include <string>

#include "runtime/kernel_registry.h"
#include "types/op_rules.h"
#include "types/port_signature.h"

namespace {

namespace types = onnx_fp16::types;

// Rules for opset 18, which Debian's ONNX 1.12 has no schemas for (newer models must convert
// too): the op, or "op:port" for an input added then (axes of the reductions and of Pad).
const std::set<std::string> kFromOpset18{"CenterCropPad",     "Col2Im",        "Pad:3",         "ReduceMean:1",   "ReduceMax:1",
                                         "ReduceMin:1",       "ReduceProd:1",  "ReduceL1:1",     "ReduceL2:1",
                                         "ReduceLogSum:1",    "ReduceLogSumExp:1", "ReduceSumSquare:1"};

TEST(OpRules, EveryRuleNamesAnOnnxOpItsInputsAndItsAttributes) {
  for (const types::OpRule& rule : types::op_rules()) {
    const std::string op(rule.op_type);
    // The newest schema the installed ONNX knows.
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(op, 17, "");
    if (kFromOpset18.count(op)) {
      EXPECT_EQ(schema, nullptr) << op << ": ONNX knows it now; check its rule and drop it from kFromOpset18";
      continue;
    }
    ASSERT_NE(schema, nullptr) << op << ": no ONNX schema (a typo?)";
    for (int port : rule.index_ports) {
      if (kFromOpset18.count(op + ":" + std::to_string(port))) {
        EXPECT_EQ(port, schema->max_input()) << op << ": the opset-18 input follows the opset-17 ones";
        continue;
      }
      EXPECT_LT(port, schema->max_input()) << op << ": index port " << port;
    }
    if (rule.type_attribute) {
      EXPECT_TRUE(schema->attributes().count(std::string(rule.type_attribute->name)))
          << op << ": no attribute '" << rule.type_attribute->name << "'";
    }
  }
}

TEST(OpRules, EveryContribOpWithATypeRuleHasAKernelAndViceVersa) {
  std::set<std::string> typed;
  for (const auto& rule : types::builtin_type_rules()) typed.insert(std::string(rule.domain) + "::" + rule.op_type);
  std::set<std::string> runnable;
  for (const std::string& line : onnx_fp16::runtime::KernelRegistry::builtin().describe()) {
    if (line.rfind("com.microsoft::", 0) == 0) runnable.insert(line.substr(0, line.find(' ')));
  }
  ASSERT_FALSE(typed.empty());
  EXPECT_EQ(typed, runnable);
}

}  // namespace
