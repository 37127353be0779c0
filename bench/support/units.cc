#include "support/units.h"

#include <array>
#include <cstdio>

namespace bench {

std::string format_fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> units = {"B", "KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  // 999.99 MB would print as "1000.0 MB": move up once the rounded figure reaches 1000.
  while (value >= 999.95 && unit + 1 < units.size()) {
    value /= 1000.0;
    ++unit;
  }
  if (unit == 0) return std::to_string(bytes) + " B";
  return format_fixed(value, value < 10 ? 2 : 1) + " " + units[unit];
}

std::string format_seconds(double seconds) {
  if (seconds < 1e-3) return format_fixed(seconds * 1e6, 1) + " us";
  if (seconds < 1.0) return format_fixed(seconds * 1e3, 1) + " ms";
  return format_fixed(seconds, 2) + " s";
}

std::string format_rate(std::uint64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  return format_fixed(static_cast<double>(bytes) / seconds / 1e9, 2) + " GB/s";
}

std::string format_ratio(double ratio) { return format_fixed(ratio, 2) + "x"; }

}  // namespace bench
