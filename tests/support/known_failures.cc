#include "support/known_failures.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace test_support {

KnownFailures KnownFailures::read(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  KnownFailures list;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    // Only whole lines are comments: reasons quote error messages, which may hold '#'.
    if (const auto first = text.find_first_not_of(" \t"); first != std::string::npos && text[first] == '#') continue;
    std::istringstream fields(text);
    KnownFailure entry;
    entry.line = number;
    if (!(fields >> entry.mode)) continue;  // blank line
    const std::string where = path.string() + ":" + std::to_string(number);
    if (!(fields >> entry.case_id) || entry.case_id.find('/') == std::string::npos) {
      throw std::runtime_error(where + ": expected '<mode> <folder>/<case> <reason>'");
    }
    std::getline(fields >> std::ws, entry.reason);
    if (entry.reason.empty()) throw std::runtime_error(where + ": " + entry.case_id + " needs a reason");
    const auto key = std::make_pair(entry.mode, entry.case_id);
    if (list.entries_.contains(key)) throw std::runtime_error(where + ": " + entry.mode + " " + entry.case_id + " is listed twice");
    list.entries_.emplace(key, std::move(entry));
  }
  return list;
}

const KnownFailure* KnownFailures::find(const std::string& mode, const std::string& case_id) const {
  const auto it = entries_.find({mode, case_id});
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<KnownFailure> KnownFailures::entries(const std::string& mode, const std::string& folder) const {
  std::vector<KnownFailure> found;
  for (const auto& [key, entry] : entries_) {
    if (key.first == mode && key.second.starts_with(folder + "/")) found.push_back(entry);
  }
  return found;
}

std::string known_failure_line(const std::string& mode, const std::string& case_id, const std::string& error) {
  std::string reason = error.substr(0, error.find('\n'));
  constexpr std::size_t kMaxReason = 200;
  if (reason.size() > kMaxReason) reason = reason.substr(0, kMaxReason) + "...";
  if (reason.empty()) reason = "(no message)";
  return mode + " " + case_id + " " + reason;
}

std::vector<std::string> stale_entries(const KnownFailures& known, const std::string& mode, const std::string& folder,
                                       const std::vector<std::string>& case_ids) {
  std::vector<std::string> stale;
  for (const auto& entry : known.entries(mode, folder)) {
    if (std::find(case_ids.begin(), case_ids.end(), entry.case_id) == case_ids.end()) {
      stale.push_back("line " + std::to_string(entry.line) + ": " + entry.case_id);
    }
  }
  return stale;
}

std::string indented_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += "  " + line + "\n";
  return text;
}

}  // namespace test_support
