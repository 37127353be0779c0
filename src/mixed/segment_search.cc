#include "mixed/segment_search.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace onnx_fp16::mixed {

SegmentSearch::SegmentSearch(std::size_t count, const std::vector<double>& weights, bool deferred) : count_(count) {
  if (!weights.empty() && weights.size() != count) throw std::invalid_argument("segment search: one weight per position");
  prefix_.assign(count + 1, 0.0);
  for (std::size_t p = 0; p < count; ++p) prefix_[p + 1] = prefix_[p] + (weights.empty() ? 1.0 : weights[p]);
  if (count > 0) segments_.push_back({0, count, deferred ? State::Deferred : State::Untried});
}

std::size_t SegmentSearch::deferred_from() const {
  return !segments_.empty() && segments_.back().state == State::Deferred ? segments_.back().begin : count_;
}

void SegmentSearch::release(std::size_t end) {
  const std::size_t begin = deferred_from();
  if (end <= begin || end > count_) throw std::invalid_argument("segment search: release past the deferred positions");
  segments_.back().state = State::Untried;
  segments_.back().size = end - begin;
  if (end < count_) segments_.push_back({end, count_ - end, State::Deferred});
}

void SegmentSearch::prune_next() {
  const std::size_t begin = deferred_from();
  if (begin == count_) throw std::invalid_argument("segment search: nothing deferred to prune");
  release(begin + 1);
  segments_[segments_.size() - (begin + 1 < count_ ? 2 : 1)].state = State::Bad;
}

double SegmentSearch::weight(const Segment& s) const { return prefix_[s.begin + s.size] - prefix_[s.begin]; }

std::optional<std::size_t> SegmentSearch::next() const {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i].state != State::Untried) continue;
    if (!best || weight(segments_[i]) > weight(segments_[*best])) best = i;
  }
  return best;
}

std::vector<bool> SegmentSearch::kept_while_trying(std::size_t trial) const {
  std::vector<bool> kept(count_, false);
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    if (i == trial || s.state == State::Good) continue;
    std::fill(kept.begin() + s.begin, kept.begin() + s.begin + s.size, true);
  }
  return kept;
}

std::vector<bool> SegmentSearch::kept_now() const {
  std::vector<bool> kept(count_, false);
  for (const Segment& s : segments_) {
    if (s.state != State::Good) std::fill(kept.begin() + s.begin, kept.begin() + s.begin + s.size, true);
  }
  return kept;
}

void SegmentSearch::passed(std::size_t trial) { segments_[trial].state = State::Good; }

void SegmentSearch::abandon(std::size_t trial) { segments_[trial].state = State::Bad; }

void SegmentSearch::failed(std::size_t trial) {
  Segment& s = segments_[trial];
  if (s.size == 1) {
    s.state = State::Bad;
    return;
  }
  // The split nearest half the segment's weight (the earlier of equals): with unit weights,
  // the first half has size / 2 positions, as the spec's bisection.
  const double half = weight(s) / 2;
  std::size_t first = 1;
  for (std::size_t k = 2; k < s.size; ++k) {
    const double here = std::abs(prefix_[s.begin + k] - prefix_[s.begin] - half);
    if (here < std::abs(prefix_[s.begin + first] - prefix_[s.begin] - half)) first = k;
  }
  const Segment second{s.begin + first, s.size - first, State::Untried};
  s.size = first;
  segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(trial) + 1, second);
}

std::size_t SegmentSearch::count(State state) const {
  std::size_t total = 0;
  for (const Segment& s : segments_) {
    if (s.state == state) total += s.size;
  }
  return total;
}

std::string SegmentSearch::sizes_text(std::size_t max_items) const {
  auto item = [](const Segment& s) {
    const char mark = s.state == State::Good ? '=' : s.state == State::Bad ? 'x' : '?';  // deferred: untried
    return std::string("[").append(1, mark).append(std::to_string(s.size)).append("]");
  };
  std::string text;
  const std::size_t n = segments_.size();
  if (n <= max_items) {
    for (const Segment& s : segments_) text += item(s);
    return text;
  }
  const std::size_t head = max_items / 2;
  const std::size_t tail = max_items - head;
  for (std::size_t i = 0; i < head; ++i) text += item(segments_[i]);
  text += "..(" + std::to_string(n - max_items) + " more)..";
  for (std::size_t i = n - tail; i < n; ++i) text += item(segments_[i]);
  return text;
}

std::string SegmentSearch::bar(std::size_t width, std::optional<std::size_t> trial) const {
  if (count_ == 0 || width == 0) return {};
  std::string text(width, '.');
  // Each column shows the "worst" state of the positions it covers: trial, bad, untried, good.
  auto rank = [](char c) { return c == '#' ? 3 : c == 'x' ? 2 : c == '.' ? 1 : 0; };
  std::vector<char> column(width, '\0');
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    const char mark = trial && *trial == i ? '#' : s.state == State::Good ? '=' : s.state == State::Bad ? 'x' : '.';
    const std::size_t from = s.begin * width / count_;
    const std::size_t to = std::max(from + 1, (s.begin + s.size) * width / count_);
    for (std::size_t c = from; c < std::min(to, width); ++c) {
      if (column[c] == '\0' || rank(mark) > rank(column[c])) column[c] = mark;
    }
  }
  for (std::size_t c = 0; c < width; ++c) text[c] = column[c] == '\0' ? '.' : column[c];
  return text;
}

}  // namespace onnx_fp16::mixed
