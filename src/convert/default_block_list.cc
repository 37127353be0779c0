#include <onnx_fp16/convert.h>

namespace onnx_fp16 {

// The spec's DEFAULT_OP_BLOCK_LIST: ops that ONNX Runtime does not support in float16.
const std::vector<std::string>& default_op_block_list() {
  static const std::vector<std::string> list{
      "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer",
      "FeatureVectorizer", "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor",
      "Normalizer", "OneHotEncoder", "RandomUniformLike", "SVMClassifier", "SVMRegressor",
      "Scaler", "TreeEnsembleClassifier", "TreeEnsembleRegressor", "ZipMap", "NonMaxSuppression",
      "TopK", "RoiAlign", "Resize", "Range", "CumSum", "Min", "Max", "Upsample"};
  return list;
}

const char* to_string(TargetType target) { return target == TargetType::Float16 ? "float16" : "bfloat16"; }

const char* to_string(KeepReason reason) {
  switch (reason) {
    case KeepReason::OpBlockList: return "op_block_list";
    case KeepReason::NodeBlockList: return "node_block_list";
    case KeepReason::NoFloat16InSchema: return "schema has no float16";
    case KeepReason::UnknownOperator: return "unknown operator";
    case KeepReason::ModelLocalFunction: return "model-local function";
    case KeepReason::ShapeComputation: return "computes a shape or index";
    case KeepReason::NonTensorTypes: return "sequence/optional/map value";
    case KeepReason::CastFollowsConsumers: return "cast read only in float32";
    case KeepReason::RuntimeLimitation: return "runtime limitation";
    case KeepReason::IntegerSums: return "integer sums beyond float16";
  }
  return "?";
}

}  // namespace onnx_fp16
