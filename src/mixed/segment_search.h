// The spec's search, as a small state machine: the candidate nodes in topological order form
// segments, each untried, good (converts without breaking the tolerance, together with the
// other good ones) or bad (a single node that must stay float32). Each step tries the largest
// untried segment together with every good one; a failing segment is halved, a failing single
// node becomes bad. The improved search hands positions over in batches: the tail of the order
// not handed over yet is deferred (kept, never tried) until release() or prune_next().
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace onnx_fp16::mixed {

class SegmentSearch {
 public:
  enum class State { Untried, Good, Bad, Deferred };
  struct Segment {
    std::size_t begin = 0;
    std::size_t size = 0;
    State state = State::Untried;
  };

  // `weights`: what each position is worth (the improved search: its FLOPs); empty: 1 each,
  // the spec's bisection by node count.
  // `deferred`: every position starts deferred instead of as one untried segment.
  explicit SegmentSearch(std::size_t count, const std::vector<double>& weights = {}, bool deferred = false);

  // The first deferred position (count when none is).
  std::size_t deferred_from() const;
  // Positions [deferred_from(), end) become one untried segment.
  void release(std::size_t end);
  // The first deferred position becomes bad without an attempt.
  void prune_next();

  // The segment to try next: the heaviest untried one (the earliest of equals); none when done.
  // A failing segment splits where its weight halves.
  std::optional<std::size_t> next() const;
  // By position: whether it stays float32 while `trial` is tried (everything not good, but the trial).
  std::vector<bool> kept_while_trying(std::size_t trial) const;
  // By position: whether it stays float32 now (untried and bad segments).
  std::vector<bool> kept_now() const;
  void passed(std::size_t trial);
  void failed(std::size_t trial);
  // The segment becomes bad as a whole, without an attempt (not worth one).
  void abandon(std::size_t trial);

  const std::vector<Segment>& segments() const { return segments_; }
  std::size_t count(State state) const;  // positions in segments of that state
  // The segment sizes along the order: "[=12][?6][x1][?5]" (= good, ? untried or deferred, x bad); runs of
  // more than `max_items` segments are elided in the middle.
  std::string sizes_text(std::size_t max_items = 24) const;
  // A `width`-column picture of the order: '=' good, 'x' bad, '.' untried, '#' the trial.
  std::string bar(std::size_t width, std::optional<std::size_t> trial = std::nullopt) const;

 private:
  double weight(const Segment& s) const;

  std::vector<Segment> segments_;
  std::size_t count_;
  std::vector<double> prefix_;  // prefix_[p]: the weight of positions [0, p)
};

}  // namespace onnx_fp16::mixed
