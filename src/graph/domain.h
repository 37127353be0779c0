// ONNX's default operator domain has two spellings, "" and "ai.onnx". Every comparison and
// every message goes through these three functions, so the two spellings can never disagree.
#pragma once

#include <string>
#include <string_view>

namespace onnx_fp16::graph {

inline bool is_default_domain(std::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

// The key to store or look a domain up by: "" for the default domain.
inline std::string canonical_domain(std::string_view domain) {
  return is_default_domain(domain) ? std::string() : std::string(domain);
}

// The domain as messages and reports show it: "ai.onnx" for the default domain.
inline std::string domain_label(std::string_view domain) {
  return is_default_domain(domain) ? std::string("ai.onnx") : std::string(domain);
}

}  // namespace onnx_fp16::graph
