#include "cli/summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "cli/text_format.h"

namespace onnx_fp16::cli {
namespace {

constexpr std::size_t kLabelWidth = 16;
constexpr std::size_t kMaxNameWidth = 40;  // longer node names push their line wider, not all lines

std::string line(const std::string& label, const std::string& value) {
  return "  " + pad_right(label, kLabelWidth) + value + "\n";
}

// "3 op_block_list, 1 node_block_list": most frequent reason first.
std::string reason_counts(const std::vector<KeptNode>& kept) {
  std::map<std::string, std::size_t> counts;
  for (const KeptNode& node : kept) ++counts[to_string(node.reason)];
  std::vector<std::pair<std::string, std::size_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string text;
  for (const auto& [reason, count] : sorted) {
    if (!text.empty()) text += ", ";
    text += std::to_string(count) + " " + reason;
  }
  return text;
}

std::string kept_node_lines(const std::vector<KeptNode>& kept) {
  const std::size_t shown = std::min(kept.size(), kKeptNodesShown);
  std::size_t name_width = 0;
  std::size_t op_width = 0;
  for (std::size_t i = 0; i < shown; ++i) {
    name_width = std::max(name_width, std::min(kept[i].name.size(), kMaxNameWidth));
    op_width = std::max(op_width, kept[i].op_type.size());
  }
  const std::string indent(2 + kLabelWidth + 2, ' ');
  std::string text;
  for (std::size_t i = 0; i < shown; ++i) {
    const KeptNode& node = kept[i];
    std::string why = to_string(node.reason);
    if (!node.detail.empty()) why += " (" + node.detail + ")";
    if (node.graph != "main") why += " [in " + node.graph + "]";
    text += indent + pad_right(node.name, name_width) + "  " + pad_right(node.op_type, op_width) + "  " + why + "\n";
  }
  if (kept.size() > shown) text += indent + "... and " + std::to_string(kept.size() - shown) + " more\n";
  return text;
}

std::string ratio_text(std::uint64_t before, std::uint64_t after) {
  if (before == 0) return "";
  char text[32];
  std::snprintf(text, sizeof text, " (%.2fx)", static_cast<double>(after) / static_cast<double>(before));
  return text;
}

}  // namespace

std::string conversion_summary(const frontend::ConvertOutcome& outcome) {
  const ConversionReport& r = outcome.report;
  const char* target = to_string(outcome.options.target);
  std::string text = "Converted " + outcome.input + " to " + target + "\n";

  text += line("Nodes:", std::to_string(r.converted_nodes) + " converted, " + std::to_string(r.kept_nodes.size()) +
                             " kept in float32");
  if (!r.kept_nodes.empty()) {
    text += line("Kept because:", reason_counts(r.kept_nodes));
    text += kept_node_lines(r.kept_nodes);
  }
  text += line("Casts added:", std::to_string(r.casts_added));
  text += line("Initializers:", std::to_string(r.initializers_converted) + " converted, " +
                                    std::to_string(r.initializers_duplicated) + " duplicated (read in both precisions)");
  text += line("Constants:", std::to_string(r.constants_converted) + " converted (Constant nodes, tensor attributes)");
  text += line("Values clamped:", std::to_string(r.values_clamped));
  text += line("Constant bytes:", human_bytes(r.float_bytes_before) + " -> " + human_bytes(r.float_bytes_after) +
                                      ratio_text(r.float_bytes_before, r.float_bytes_after));
  if (outcome.checked) text += line("Checked:", "passes the ONNX checker (full check)");
  const auto& s = outcome.seconds;
  std::string times = "load " + seconds_text(s.load) + ", convert " + seconds_text(s.convert);
  if (outcome.checked) times += ", check " + seconds_text(s.check);
  times += ", save " + seconds_text(s.save);
  text += line("Time:", seconds_text(s.total) + " (" + times + ")");
  if (outcome.peak_memory_bytes > 0) text += line("Memory:", "peak " + human_bytes(outcome.peak_memory_bytes));

  std::string written = outcome.output + " (" + human_bytes(outcome.files.output_file) + ")";
  if (outcome.external_data_file) {
    written += " + external data " + *outcome.external_data_file + " (" + human_bytes(outcome.files.output_data_file) + ")";
  }
  text += line("Written:", written);
  return text;
}

}  // namespace onnx_fp16::cli
