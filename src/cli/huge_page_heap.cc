#include "cli/huge_page_heap.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

namespace onnx_fp16::cli {

namespace {

constexpr std::string_view kTunable = "glibc.malloc.hugetlb";
constexpr std::string_view kTopPad = "glibc.malloc.top_pad";

bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

}  // namespace

std::optional<std::string> huge_page_tunables(const char* current, std::string_view glibc_version, std::string_view thp_mode) {
  const std::string_view set = current != nullptr ? current : "";
  if (set.find(kTunable) != std::string_view::npos) return std::nullopt;
  int major = 0;
  int minor = 0;
  const std::string version(glibc_version);
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2 || major < 2 || (major == 2 && minor < 35)) {
    return std::nullopt;
  }
  if (thp_mode.find("[madvise]") == std::string_view::npos) return std::nullopt;
  std::string wanted = (set.empty() ? "" : std::string(set) + ":") + std::string(kTunable) + "=1";
  if (set.find(kTopPad) == std::string_view::npos) wanted += ":" + std::string(kTopPad) + "=67108864";
  return wanted;
}

void restart_with_huge_page_heap(char** argv) {
#if defined(__GLIBC__)
  if (sanitized_build()) return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  std::ifstream mode_file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(mode_file, mode);
  const std::optional<std::string> wanted = huge_page_tunables(current, gnu_get_libc_version(), mode);
  if (!wanted) return;
  const std::optional<std::string> before = current != nullptr ? std::optional<std::string>(current) : std::nullopt;
  if (setenv("GLIBC_TUNABLES", wanted->c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Not restarted: leave the environment as it was for any program this one starts.
  if (before) {
    setenv("GLIBC_TUNABLES", before->c_str(), 1);
  } else {
    unsetenv("GLIBC_TUNABLES");
  }
#else
  (void)argv;
#endif
}

}  // namespace onnx_fp16::cli
