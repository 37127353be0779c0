#include "runtime/kernels/math_einsum_equation.h"

#include <onnx_fp16/error.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

namespace onnx_fp16::runtime::math {

namespace {

// One term's letters, with the position of "..." (npos when there is none).
struct Term {
  std::vector<int> letters;
  std::size_t ellipsis_at = std::string::npos;
};

Term parse_term(std::string_view text, std::string_view equation) {
  Term term;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (term.ellipsis_at != std::string::npos || text.substr(i, 3) != "...") {
        throw Error("malformed einsum equation '" + std::string(equation) + "': '.' outside one '...'");
      }
      term.ellipsis_at = term.letters.size();
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      term.letters.push_back(c);
    } else {
      throw Error("malformed einsum equation '" + std::string(equation) + "': unexpected '" + std::string(1, c) + "'");
    }
  }
  return term;
}

// The term's labels with "..." expanded to its `count` rightmost ellipsis labels of `total`.
std::vector<int> expand(const Term& term, std::size_t count, std::size_t total) {
  std::vector<int> labels(term.letters.begin(), term.letters.end());
  if (term.ellipsis_at == std::string::npos) return labels;
  std::vector<int> dots;
  for (std::size_t i = total - count; i < total; ++i) dots.push_back(kEllipsisLabel + static_cast<int>(i));
  labels.insert(labels.begin() + static_cast<std::ptrdiff_t>(term.ellipsis_at), dots.begin(), dots.end());
  return labels;
}

}  // namespace

EinsumEquation parse_einsum(std::string_view equation, std::span<const std::size_t> ranks) {
  std::string text;
  for (const char c : equation) {
    if (!std::isspace(static_cast<unsigned char>(c))) text += c;
  }
  const std::size_t arrow = text.find("->");
  const std::string_view lhs = std::string_view(text).substr(0, arrow);
  std::vector<Term> terms;
  for (std::size_t start = 0;;) {
    const std::size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma - start), equation));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ranks.size()) {
    throw Error("einsum equation '" + std::string(equation) + "' has " + std::to_string(terms.size()) +
                " operands, the node " + std::to_string(ranks.size()));
  }
  // How many dimensions "..." stands for in each operand, and at most.
  std::vector<std::size_t> dots(terms.size(), 0);
  std::size_t total_dots = 0;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const std::size_t letters = terms[i].letters.size();
    const bool has_dots = terms[i].ellipsis_at != std::string::npos;
    if (ranks[i] < letters || (!has_dots && ranks[i] != letters)) {
      throw Error("einsum term " + std::to_string(i) + " of '" + std::string(equation) + "' does not match rank " +
                  std::to_string(ranks[i]));
    }
    dots[i] = ranks[i] - letters;
    total_dots = std::max(total_dots, dots[i]);
  }
  EinsumEquation parsed;
  for (std::size_t i = 0; i < terms.size(); ++i) parsed.inputs.push_back(expand(terms[i], dots[i], total_dots));

  if (arrow != std::string::npos) {
    const Term out = parse_term(std::string_view(text).substr(arrow + 2), equation);
    std::vector<int> seen;
    for (const int label : out.letters) {
      if (std::find(seen.begin(), seen.end(), label) != seen.end()) {
        throw Error("einsum output of '" + std::string(equation) + "' repeats a letter");
      }
      seen.push_back(label);
      const bool in_inputs = std::any_of(parsed.inputs.begin(), parsed.inputs.end(), [&](const auto& labels) {
        return std::find(labels.begin(), labels.end(), label) != labels.end();
      });
      if (!in_inputs) {
        throw Error("einsum output letter '" + std::string(1, static_cast<char>(label)) + "' of '" +
                    std::string(equation) + "' is in no operand");
      }
    }
    parsed.output = expand(out, total_dots, total_dots);
  } else {
    std::map<int, int> uses;  // ordered by character code, as numpy orders implicit outputs
    for (const auto& term : terms) {
      for (const int label : term.letters) ++uses[label];
    }
    for (std::size_t i = 0; i < total_dots; ++i) parsed.output.push_back(kEllipsisLabel + static_cast<int>(i));
    for (const auto& [label, count] : uses) {
      if (count == 1) parsed.output.push_back(label);
    }
  }
  return parsed;
}

}  // namespace onnx_fp16::runtime::math
