// Human-readable figures for the benchmark tables. Decimal units (1 GB = 1e9 bytes) throughout,
// so that "GB/s" in the goals and in the tables mean the same thing.
#pragma once

#include <cstdint>
#include <string>

namespace bench {

std::string format_bytes(std::uint64_t bytes);        // "1.00 GB", "232.2 KB"
std::string format_seconds(double seconds);           // "1.23 s", "45.6 ms"
std::string format_rate(std::uint64_t bytes, double seconds);  // "1.85 GB/s"
std::string format_ratio(double ratio);               // "1.27x"
std::string format_fixed(double value, int decimals);

}  // namespace bench
