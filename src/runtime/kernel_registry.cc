#include "runtime/kernel_registry.h"

#include <algorithm>

#include "graph/domain.h"
#include "onnx_fp16/error.h"

namespace onnx_fp16::runtime {

void KernelRegistry::add(std::string_view domain, std::string_view op_type, int since_version, Kernel kernel,
                         int last_version) {
  auto& versions = entries_[{graph::canonical_domain(domain), std::string(op_type)}];
  const bool inserted = versions.emplace(since_version, Entry{last_version, std::move(kernel)}).second;
  if (!inserted) {
    throw Error("kernel for " + graph::domain_label(graph::canonical_domain(domain)) + "::" + std::string(op_type) +
                " since opset " + std::to_string(since_version) + " registered twice");
  }
}

const Kernel* KernelRegistry::find(std::string_view domain, std::string_view op_type, int opset) const {
  const auto op = entries_.find(std::make_pair(graph::canonical_domain(domain), std::string(op_type)));
  if (op == entries_.end()) return nullptr;
  // The registration with the greatest since_version <= opset.
  auto it = op->second.upper_bound(opset);
  if (it == op->second.begin()) return nullptr;
  --it;
  if (opset > it->second.last_version) return nullptr;
  return &it->second.kernel;
}

void KernelRegistry::add_preparer(std::string_view domain, std::string_view op_type, Kernel preparer) {
  preparers_[std::make_pair(graph::canonical_domain(domain), std::string(op_type))] = std::move(preparer);
}

const Kernel* KernelRegistry::find_preparer(std::string_view domain, std::string_view op_type) const {
  if (preparers_.empty()) return nullptr;
  const auto it = preparers_.find(std::make_pair(graph::canonical_domain(domain), std::string(op_type)));
  return it == preparers_.end() ? nullptr : &it->second;
}

void KernelRegistry::add_rounding_reader(std::string_view domain, std::string_view op_type, std::vector<int> inputs) {
  rounding_readers_[std::make_pair(graph::canonical_domain(domain), std::string(op_type))] = std::move(inputs);
}

bool KernelRegistry::reads_rounded(std::string_view domain, std::string_view op_type, int input) const {
  const auto it = rounding_readers_.find(std::make_pair(graph::canonical_domain(domain), std::string(op_type)));
  return it != rounding_readers_.end() && std::find(it->second.begin(), it->second.end(), input) != it->second.end();
}

std::vector<std::string> KernelRegistry::describe() const {
  std::vector<std::string> lines;
  for (const auto& [key, versions] : entries_) {
    for (const auto& [since, entry] : versions) {
      std::string line = graph::domain_label(key.first) + "::" + key.second + " since " + std::to_string(since);
      if (entry.last_version != kNoLastVersion) line += " until " + std::to_string(entry.last_version);
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

const KernelRegistry& KernelRegistry::builtin() {
  static const KernelRegistry registry = [] {
    KernelRegistry r;
    register_all_kernels(r);
    return r;
  }();
  return registry;
}

}  // namespace onnx_fp16::runtime
