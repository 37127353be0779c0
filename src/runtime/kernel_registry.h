// Which kernel implements which operator at which opset.
//
// A registration names a domain, an op type and the first opset version it implements
// (since_version). It covers every version from there up to the next registration of the same
// op, or up to `last_version` when one is given. A model whose opset falls outside every
// registration of its op gets "unsupported operator <domain>::<op> (opset N)".
#pragma once

#include <climits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "graph/domain.h"
#include "runtime/kernel.h"

namespace onnx_fp16::runtime {

class KernelRegistry {
 public:
  static constexpr int kNoLastVersion = INT_MAX;

  // Throws onnx_fp16::Error when the same (domain, op, since_version) is registered twice.
  void add(std::string_view domain, std::string_view op_type, int since_version, Kernel kernel,
           int last_version = kNoLastVersion);
  // Shorthand for the default domain.
  void add(std::string_view op_type, int since_version, Kernel kernel, int last_version = kNoLastVersion) {
    add("", op_type, since_version, std::move(kernel), last_version);
  }

  // The kernel for the op at the model's `opset` of its domain, or nullptr.
  const Kernel* find(std::string_view domain, std::string_view op_type, int opset) const;

  // A preparer of the op: run once when a model is loaded (prepare_constants in graph_plan.h),
  // on a context whose inputs are the node's constants (others absent), it computes through
  // KernelContext::from_constants what the kernel derives from them, so that the first run
  // does not. It must compute exactly what the kernel would ask for, or nothing.
  void add_preparer(std::string_view domain, std::string_view op_type, Kernel preparer);
  const Kernel* find_preparer(std::string_view domain, std::string_view op_type) const;

  // The inputs that the op's kernel reads rounded itself when KernelContext::input_rounding says
  // so (read_rounding.h: a matrix product's weights while it packs them). Any other input to be
  // read rounded is handed to the kernel as a rounded copy (run_compiled_node).
  void add_rounding_reader(std::string_view domain, std::string_view op_type, std::vector<int> inputs);
  bool reads_rounded(std::string_view domain, std::string_view op_type, int input) const;
  // Every registered op as "<domain>::<op> since N", sorted: for docs and debugging.
  std::vector<std::string> describe() const;

  // Every built-in kernel family (src/runtime/kernels/all_kernels.cc), registered once.
  static const KernelRegistry& builtin();

 private:
  struct Entry {
    int last_version;
    Kernel kernel;
  };
  // (domain, op) -> since_version -> entry
  std::map<std::pair<std::string, std::string>, std::map<int, Entry>, std::less<>> entries_;
  std::map<std::pair<std::string, std::string>, Kernel, std::less<>> preparers_;  // (domain, op)
  std::map<std::pair<std::string, std::string>, std::vector<int>, std::less<>> rounding_readers_;  // (domain, op)
};

// Registers every built-in family; defined in kernels/all_kernels.cc.
void register_all_kernels(KernelRegistry& registry);

}  // namespace onnx_fp16::runtime
