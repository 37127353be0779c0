// The tables and goal verdicts convert_bench prints.
#pragma once

#include <ostream>

#include "support/convert_results.h"

namespace bench {

void print_generation_table(std::ostream& out, const BenchResults& results);
void print_conversion_table(std::ostream& out, const BenchResults& results);
void print_scaling_table(std::ostream& out, const BenchResults& results);
void print_in_process_split(std::ostream& out, const BenchResults& results);
void print_goals(std::ostream& out, const BenchResults& results);
// The larger-than-memory case, when --huge ran it.
void print_huge(std::ostream& out, const BenchResults& results);
void print_failures(std::ostream& out, const BenchResults& results);

}  // namespace bench
