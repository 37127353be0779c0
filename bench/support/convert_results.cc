#include "support/convert_results.h"

namespace bench {

double CaseResult::peak_rss_per_weight_byte() const {
  const std::uint64_t weights = generated.facts.weight_bytes;
  return weights == 0 ? 0.0 : static_cast<double>(cli.peak_rss_bytes) / static_cast<double>(weights);
}

}  // namespace bench
