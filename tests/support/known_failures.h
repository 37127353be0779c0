// A list of test cases that are known to fail, with the reason, read from a text file:
//
//   # a comment (whole lines only)
//   <mode> <folder>/<case> <reason...>
//
// Suites that loop over many cases use it so that a case not on the list must pass and a
// listed case that passes must leave the list: the list can only shrink. A reason that starts
// with "[unstable]" marks a case whose result depends on the machine or on chance (a missing
// locale, an unseeded random op): it may fail, and passing does not ask to remove it.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test_support {

struct KnownFailure {
  std::string mode;     // "float32"
  std::string case_id;  // "node/test_add"
  std::string reason;
  int line = 0;
  bool unstable() const { return reason.starts_with(kUnstableMarker); }

  static constexpr std::string_view kUnstableMarker = "[unstable]";
};

class KnownFailures {
 public:
  // Throws std::runtime_error naming the file and line for a malformed or repeated entry.
  static KnownFailures read(const std::filesystem::path& path);

  // The entry for (mode, case_id), or nullptr.
  const KnownFailure* find(const std::string& mode, const std::string& case_id) const;
  // The entries of `mode` whose case lies in `folder`.
  std::vector<KnownFailure> entries(const std::string& mode, const std::string& folder) const;

 private:
  std::map<std::pair<std::string, std::string>, KnownFailure> entries_;
};

// The line that would list this failure; `error` is shortened to its first line.
std::string known_failure_line(const std::string& mode, const std::string& case_id, const std::string& error);

// The entries of `mode` in `folder` whose case is not among `case_ids` any more: "line N: case".
std::vector<std::string> stale_entries(const KnownFailures& known, const std::string& mode, const std::string& folder,
                                       const std::vector<std::string>& case_ids);

// Each line indented by two spaces, newline-terminated: for failure messages.
std::string indented_lines(const std::vector<std::string>& lines);

}  // namespace test_support
