// Nodes kept before any search: the automatic range screen (float32 values on the samples that
// float16 cannot hold) and the user's rule-based screens (--data-max, --init-max, --keep-op,
// --keep-node).
#pragma once

#include <onnx_fp16/mixed.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mixed/conversion_analysis.h"
#include "mixed/search_units.h"

namespace onnx_fp16::mixed {

struct ScreenVerdict {
  MixedKeepReason reason;
  std::string detail;
};

// The largest finite |x| of every float32 tensor of the main graph on the samples (inputs,
// initializers, node outputs), by name, and whether any nonzero value would flush to zero.
struct ValueRanges {
  std::map<std::string, double> max_abs;
};
// Scanned on up to `threads` threads; the values named in `known` are not scanned, their range
// is taken from there.
ValueRanges measure_ranges(const std::vector<std::map<std::string, Tensor>>& values_per_sample, int threads,
                           const std::map<std::string, double>& known = {});

// The names measure_ranges needs from the float32 run: every float32 value of the main graph
// that units read or write (a subgraph's values come from a SubgraphCensus).
std::vector<std::string> screened_value_names(const ConversionAnalysis& analysis, const SearchUnits& units);

// By unit: why it is kept before the search, if it is. `ranges` may be empty when neither the
// range screen nor data_max is on. `ran`: by NodeId, whether a sample ran the node (empty:
// every node did); a unit no sample runs stays float32, since no sample can check it.
std::vector<std::optional<ScreenVerdict>> screen_units(const ConversionAnalysis& analysis, const SearchUnits& units,
                                                       const ValueRanges& ranges, const std::vector<bool>& ran,
                                                       const MixedOptions& options, bool range_screen);

}  // namespace onnx_fp16::mixed
