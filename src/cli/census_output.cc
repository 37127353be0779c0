#include "cli/census_output.h"

#include <algorithm>
#include <vector>

#include "cli/text_format.h"

namespace onnx_fp16::cli {
namespace {


// A plain text table: the first column left-aligned, the others right-aligned (numbers).
class Table {
 public:
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string text() const {
    std::vector<std::size_t> widths;
    for (const auto& row : rows_) {
      widths.resize(std::max(widths.size(), row.size()), 0);
      for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
    }
    std::string out;
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t c = 0; c < row.size(); ++c) {
        line += "  ";
        line += c == 0 ? pad_right(row[c], widths[c]) : pad_left(row[c], widths[c]);
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// The precisions that occur in the model, in Precision order: the table shows only those columns.
std::vector<Precision> precisions_present(const Census& census) {
  std::vector<Precision> present;
  for (std::size_t p = 0; p < kPrecisionCount; ++p) {
    const bool used = std::any_of(census.ops.begin(), census.ops.end(), [&](const auto& op) { return op.second[p] > 0; });
    if (used) present.push_back(static_cast<Precision>(p));
  }
  return present;
}

std::string opsets_text(const Census& census) {
  std::string text;
  for (const auto& [domain, version] : census.opsets) {
    text += (text.empty() ? "" : ", ") + domain + " " + std::to_string(version);
  }
  return text.empty() ? "none" : text;
}

std::string nodes_table(const Census& census) {
  const std::vector<Precision> columns = precisions_present(census);
  Table table;
  std::vector<std::string> header{"op type"};
  for (const Precision p : columns) header.push_back(precision_name(p));
  table.add(header);
  std::vector<std::size_t> totals(columns.size(), 0);
  for (const auto& [op, counts] : census.ops) {
    std::vector<std::string> row{op};
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const std::size_t count = counts[static_cast<std::size_t>(columns[c])];
      totals[c] += count;
      row.push_back(count == 0 ? "-" : std::to_string(count));
    }
    table.add(row);
  }
  std::vector<std::string> total_row{"total"};
  for (const std::size_t total : totals) total_row.push_back(std::to_string(total));
  table.add(total_row);
  return table.text();
}

std::string tensors_table(const Census& census) {
  Table table;
  table.add({"element type", "inputs", "outputs", "value_info", "initializers", "initializer bytes"});
  for (const auto& [type, counts] : census.tensors) {
    const auto bytes = census.initializer_bytes.find(type);
    table.add({type, std::to_string(counts.inputs), std::to_string(counts.outputs), std::to_string(counts.value_info),
               std::to_string(counts.initializers),
               bytes == census.initializer_bytes.end() ? "-" : human_bytes(bytes->second)});
  }
  return table.text();
}

}  // namespace

std::string census_table(const Census& census, const std::string& model_path) {
  std::string text = "Model " + model_path + "\n";
  text += "  IR version " + std::to_string(census.ir_version) + ", opsets: " + opsets_text(census) + "\n";
  text += "  " + count_of(census.nodes, "node", "nodes") + ", " + count_of(census.subgraphs, "subgraph", "subgraphs") + "\n";
  if (!census.shape_inference_error.empty()) {
    text += "  ONNX shape inference failed (" + census.shape_inference_error + "); types come from the schemas\n";
  }
  text += "\nNodes by the precision they compute in\n" + nodes_table(census);
  text += "\nCasts by target type\n";
  if (census.casts_by_target.empty()) text += "  none\n";
  for (const auto& [type, count] : census.casts_by_target) text += "  " + pad_right(type, 10) + std::to_string(count) + "\n";
  text += "\nDeclared tensors by element type\n" + tensors_table(census);
  return text;
}

}  // namespace onnx_fp16::cli
