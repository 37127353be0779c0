#include "support/convert_report.h"

#include <string>

#include "support/table.h"
#include "support/units.h"

namespace bench {
namespace {

const CaseResult* transformer_case(const BenchResults& results) {
  for (const auto& c : results.cases) {
    if (!c.wide_graph) return &c;
  }
  return nullptr;
}

std::vector<const CaseResult*> measured_wide_cases(const BenchResults& results) {
  std::vector<const CaseResult*> wide;
  for (const auto& c : results.cases) {
    if (c.wide_graph && c.measured()) wide.push_back(&c);
  }
  return wide;
}

std::string verdict(bool met) { return met ? "met" : "MISSED"; }

std::string quick_note(const BenchResults& results) {
  return results.quick ? "  (--quick sizes: indicative only)" : "";
}

}  // namespace

void print_generation_table(std::ostream& out, const BenchResults& results) {
  out << "\nGenerated models (modelgen, in a child process)\n";
  Table table({"model", "nodes", "weights", "file", "build", "save"});
  for (const auto& c : results.cases) {
    if (!c.generated_ok) continue;
    table.add_row({c.name, std::to_string(c.generated.facts.nodes), format_bytes(c.generated.facts.weight_bytes),
                   format_bytes(c.file_bytes_in), format_seconds(c.generated.build_seconds),
                   format_seconds(c.generated.save_seconds)});
  }
  table.print(out);
}

void print_conversion_table(std::ostream& out, const BenchResults& results) {
  out << "\n`onnx-fp16 convert IN OUT` as a child process"
      << (results.pinned_cpu ? " pinned to CPU " + std::to_string(*results.pinned_cpu) : std::string(", all CPUs"))
      << "\n";
  Table table({"model", "nodes in", "nodes out", "weights in", "weights out", "file in", "file out", "time",
               "time/node", "weights/s", "dd floor", "peak RSS", "RSS/weights"});
  for (const auto& c : results.cases) {
    if (!c.measured()) {
      table.add_row({c.name, "failed: see below"});
      continue;
    }
    table.add_row({c.name, std::to_string(c.generated.facts.nodes), std::to_string(c.output.nodes),
                   format_bytes(c.generated.facts.weight_bytes), format_bytes(c.output.weight_bytes),
                   format_bytes(c.file_bytes_in), format_bytes(c.file_bytes_out), format_seconds(c.cli.wall_seconds),
                   format_seconds(c.cli.wall_seconds / static_cast<double>(std::max<std::int64_t>(c.generated.facts.nodes, 1))),
                   c.wide_graph ? "-" : format_rate(c.generated.facts.weight_bytes, c.cli.wall_seconds),
                   c.copy_floor.succeeded() ? format_seconds(c.copy_floor.wall_seconds) : "-",
                   format_bytes(c.cli.peak_rss_bytes),
                   format_ratio(c.peak_rss_per_weight_byte())});
  }
  table.print(out);
  out << "  time: wall clock of the whole process (start, load, convert, save, fsync); weights/s: float32\n"
      << "  weight bytes in / time; dd floor: reading the input file and writing the output's size with dd\n"
      << "  (conv=fsync), the physical floor; RSS/weights: peak RSS over float32 weight bytes. Every child starts\n"
      << "  from a floor of " << format_bytes(results.fork_floor_rss) << " peak RSS (a child that does nothing).\n";
}

void print_scaling_table(std::ostream& out, const BenchResults& results) {
  const auto wide = measured_wide_cases(results);
  if (wide.empty()) return;
  const CaseResult& first = *wide.front();
  out << "\nTime against node count (wide graphs; linear scaling keeps time/node flat)\n";
  Table table({"model", "nodes", "time", "time/node", "time ratio", "linear ratio"});
  for (const CaseResult* c : wide) {
    const double nodes = static_cast<double>(c->generated.facts.nodes);
    table.add_row({c->name, std::to_string(c->generated.facts.nodes), format_seconds(c->cli.wall_seconds),
                   format_fixed(c->cli.wall_seconds / nodes * 1e6, 2) + " us",
                   format_ratio(c->cli.wall_seconds / first.cli.wall_seconds),
                   format_ratio(nodes / static_cast<double>(first.generated.facts.nodes))});
  }
  table.print(out);
  out << "  ratios are against the smallest graph; process start-up is included, which flatters small graphs\n";
}

void print_in_process_split(std::ostream& out, const BenchResults& results) {
  out << "\nIn-process conversion of " << results.in_process_model
      << " (library: load_model, convert_float_to_float16, save_model)\n";
  if (!results.in_process) {
    out << "  failed: " << results.in_process_error << "\n";
    return;
  }
  const InProcessSplit& split = *results.in_process;
  const CaseResult* transformer = transformer_case(results);
  const std::uint64_t weights = transformer ? transformer->generated.facts.weight_bytes : 0;
  const double total = split.load_seconds + split.convert_seconds + split.save_seconds;
  Table table({"step", "time", "share", "weights/s"});
  auto row = [&](const std::string& step, double seconds) {
    table.add_row({step, format_seconds(seconds), format_fixed(100.0 * seconds / total, 0) + " %",
                   format_rate(weights, seconds)});
  };
  row("load", split.load_seconds);
  row("convert", split.convert_seconds);
  row("save", split.save_seconds);
  row("total", total);
  table.print(out);
  out << "  peak RSS " << format_bytes(split.usage.peak_rss_bytes);
  if (transformer && transformer->measured()) {
    const double files = static_cast<double>(transformer->file_bytes_in + transformer->file_bytes_out);
    out << " = " << format_ratio(static_cast<double>(split.usage.peak_rss_bytes) / files) << " (in+out)";
  }
  out << "; " << split.converted_nodes << " nodes converted, " << split.kept_nodes << " kept, " << split.casts_added
      << " casts added\n";
}

void print_goals(std::ostream& out, const BenchResults& results) {
  out << "\nGoals" << quick_note(results) << "\n";
  const CaseResult* transformer = transformer_case(results);
  if (transformer && transformer->measured()) {
    const double rate = static_cast<double>(transformer->generated.facts.weight_bytes) / transformer->cli.wall_seconds;
    out << "  throughput >= " << format_fixed(kThroughputGoalBytesPerSecond / 1e9, 2) << " GB/s of float32 weights"
        << (results.pinned_cpu ? " on one core" : " (not pinned: run without --all-cores for the one-core figure)")
        << ": " << format_fixed(rate / 1e9, 2) << " GB/s  " << verdict(rate >= kThroughputGoalBytesPerSecond) << "\n";
    const std::uint64_t peak = transformer->cli.peak_rss_bytes;
    out << "  peak RSS <= " << format_bytes(kPeakRssAllowanceBytes) << " + the largest tensor, whatever the weights: "
        << format_bytes(peak) << " for " << format_bytes(transformer->generated.facts.weight_bytes) << " of weights  "
        << verdict(peak <= kPeakRssAllowanceBytes) << "\n";
    if (transformer->copy_floor.succeeded()) {
      out << "  time against the disk's floor (dd of the input): "
          << format_ratio(transformer->cli.wall_seconds / transformer->copy_floor.wall_seconds) << "\n";
    }
  } else {
    out << "  throughput and peak RSS: no measurement (the transformer conversion failed)\n";
  }

  const auto wide = measured_wide_cases(results);
  if (wide.empty()) {
    out << "  wide graphs: no measurement\n";
    return;
  }
  for (const CaseResult* c : wide) {
    if (c->generated.facts.nodes != kSmallNodesGoalNodes) continue;
    const double speedup = kOriginalSmallNodesSeconds / c->cli.wall_seconds;
    out << "  " << kSmallNodesGoalNodes << "-node graph >= " << format_fixed(kSmallNodesGoalSpeedup, 0)
        << "x the original (" << format_seconds(kOriginalSmallNodesSeconds) << " when issue 10 was filed): "
        << format_seconds(c->cli.wall_seconds) << " = " << format_fixed(speedup, 0) << "x  "
        << verdict(speedup >= kSmallNodesGoalSpeedup) << "\n";
  }
  const CaseResult& largest = *wide.back();
  const bool at_goal_size = largest.generated.facts.nodes == kWideGraphGoalNodes;
  out << "  " << kWideGraphGoalNodes << "-node graph < " << format_seconds(kWideGraphGoalSeconds) << ": "
      << largest.generated.facts.nodes << " nodes in " << format_seconds(largest.cli.wall_seconds) << "  "
      << (at_goal_size ? verdict(largest.cli.wall_seconds < kWideGraphGoalSeconds) : std::string("n/a (other size)"))
      << "\n";
  if (wide.size() > 1) {
    const CaseResult& smallest = *wide.front();
    const double linear = static_cast<double>(largest.generated.facts.nodes) / smallest.generated.facts.nodes;
    out << "  time(" << largest.generated.facts.nodes << ")/time(" << smallest.generated.facts.nodes
        << "): " << format_ratio(largest.cli.wall_seconds / smallest.cli.wall_seconds) << " against "
        << format_ratio(linear) << " for linear scaling\n";
  }
}

void print_huge(std::ostream& out, const BenchResults& results) {
  if (!results.huge) return;
  const HugeResult& h = *results.huge;
  out << "\nA model larger than memory (external-chain, weights in external data), converted under a "
      << format_bytes(kHugeAddressSpaceLimit) << " address-space limit (RLIMIT_AS)\n";
  if (!h.error.empty()) {
    out << "  failed: " << h.error << "\n";
    return;
  }
  Table table({"weights", "generated in", "convert", "weights/s", "dd floor", "time/floor", "output", "peak RSS"});
  table.add_row({format_bytes(h.weight_bytes), format_seconds(h.generate_seconds), format_seconds(h.cli.wall_seconds),
                 format_rate(h.weight_bytes, h.cli.wall_seconds), format_seconds(h.copy_floor.wall_seconds),
                 format_ratio(h.cli.wall_seconds / h.copy_floor.wall_seconds), format_bytes(h.output_bytes),
                 format_bytes(h.cli.peak_rss_bytes)});
  table.print(out);
  const std::uint64_t allowed = kPeakRssAllowanceBytes + h.largest_tensor_bytes;
  out << "  peak RSS <= " << format_bytes(kPeakRssAllowanceBytes) << " + the largest tensor (" << format_bytes(h.largest_tensor_bytes) << "): "
      << format_bytes(h.cli.peak_rss_bytes) << "  " << verdict(h.cli.peak_rss_bytes <= allowed) << "\n";
}

void print_failures(std::ostream& out, const BenchResults& results) {
  bool header = false;
  for (const auto& c : results.cases) {
    if (c.measured()) continue;
    if (!header) out << "\nFailures\n";
    header = true;
    out << "  " << c.name << ": " << c.error << "\n";
  }
}

}  // namespace bench
