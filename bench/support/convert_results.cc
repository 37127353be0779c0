#include "support/convert_results.h"

namespace bench {

double CaseResult::peak_rss_ratio() const {
  const std::uint64_t files = file_bytes_in + file_bytes_out;
  return files == 0 ? 0.0 : static_cast<double>(cli.peak_rss_bytes) / static_cast<double>(files);
}

}  // namespace bench
