#include "support/table.h"

#include <algorithm>
#include <iomanip>

namespace bench {

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = headers_[c].size();
    for (const auto& row : rows_) widths[c] = std::max(widths[c], row[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) out << "  ";
      out << (c == 0 ? std::left : std::right) << std::setw(static_cast<int>(widths[c])) << cells[c];
    }
    out << std::right << "\n";
  };
  print_row(headers_);
  std::vector<std::string> rule;
  for (auto width : widths) rule.emplace_back(width, '-');
  print_row(rule);
  for (const auto& row : rows_) print_row(row);
}

}  // namespace bench
