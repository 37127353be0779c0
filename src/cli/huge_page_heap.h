// The CLI's heap on transparent huge pages. glibc's malloc asks the kernel for huge pages only
// when the environment says so when the process starts (GLIBC_TUNABLES=glibc.malloc.hugetlb=1),
// and on virtual machines whose page faults are slow, faulting in a heap 4 KB at a time is a
// large share of the work: measured on this project's 2-core machines (runs interleaved),
// converting a graph of 16,000 small nodes 0.39-0.44 -> 0.22-0.24 s, `onnx-fp16 run` on
// BERT-base 0.40 -> 0.36 s, its conversion 0.41 -> 0.38 s, with the same peak memory.
// The heap also grows 64 MB at a time (glibc.malloc.top_pad; glibc's default is 128 KB), so a
// graph of many small nodes does not extend and advise its heap thousands of times: 16,000-node
// conversion 0.23 -> 0.20 s (medians of 20 interleaved runs; pinned to one CPU, 30 runs: 0.27 ->
// 0.24 s), BERT-base conversion 0.36 -> 0.35 s, peak memory within 2 MB.
// A side effect to keep in mind: setting top_pad turns off glibc's dynamic mmap threshold, so
// every malloc of 128 KB or more that the heap's top cannot hold is mapped fresh and unmapped on
// free. Large buffers belong in the buffer pool (tensor/buffer_pool.h) or in storage reused
// across calls: a 4 MiB staging block per weight cost auto-mixed up to 3 s here (80e1f92).
// Pinning glibc.malloc.mmap_threshold at 32 MB as well was measured (2026-12-04): BERT-base
// auto-mixed 7.0-7.5 s against 7.2-10.0 s, but `run` 45 MB more peak memory; not set.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace onnx_fp16::cli {

// The GLIBC_TUNABLES value to restart with (the user's, then glibc.malloc.hugetlb=1, then
// glibc.malloc.top_pad=64 MB unless the user set it), or nothing when a restart would not help:
// - `current` (the variable's value; nullptr when unset) already sets glibc.malloc.hugetlb: a
//   user's own choice stands, and `glibc.malloc.hugetlb=0` turns this off (for valgrind, say,
//   which would not follow the restart). The restarted program sees it set, so it does not
//   restart again;
// - glibc older than 2.35 (`glibc_version`, "2.36"), which does not know the tunable;
// - transparent huge pages not in `madvise` mode (`thp_mode`, the text of
//   /sys/kernel/mm/transparent_hugepage/enabled): in `always` the heap has them already, in
//   `never` it cannot.
std::optional<std::string> huge_page_tunables(const char* current, std::string_view glibc_version, std::string_view thp_mode);

// Starts the program again (execv of /proc/self/exe with the same arguments) with the
// environment huge_page_tunables() asks for, on this process's glibc and kernel. Not in a
// sanitizer build: the sanitizers' allocator ignores glibc's tunables, and a restart doubled the
// CLI's start there (0.26 -> 0.50 s). Returns when it does not restart, or when execv fails
// (the program then goes on as it is, its environment as it was). Call first thing in main:
// the restart repeats whatever ran before it.
void restart_with_huge_page_heap(char** argv);

}  // namespace onnx_fp16::cli
