// When the CLI restarts itself with glibc's huge-page heap (src/cli/huge_page_heap.h): the
// decision, on the environments it meets. The restart itself is an execv of the same arguments.
#include <gtest/gtest.h>

#include <string>

#include "cli/huge_page_heap.h"

namespace {

using onnx_fp16::cli::huge_page_tunables;

constexpr const char* kMadvise = "always [madvise] never";

constexpr const char* kOurs = "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=67108864";

TEST(HugePageHeap, AddsTheTunableWhereTheKernelGivesHugePagesOnRequest) {
  EXPECT_EQ(huge_page_tunables(nullptr, "2.36", kMadvise), kOurs);
  EXPECT_EQ(huge_page_tunables("", "2.35", kMadvise), kOurs);
  // Other tunables of the user's are kept, and so is the user's own top_pad.
  // (One literal: GCC 12 at -O1 with ThreadSanitizer warns falsely on a std::string + char*.)
  EXPECT_EQ(huge_page_tunables("glibc.malloc.tcache_count=0", "2.36", kMadvise),
            "glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1:glibc.malloc.top_pad=67108864");
  EXPECT_EQ(huge_page_tunables("glibc.malloc.top_pad=0", "2.36", kMadvise),
            "glibc.malloc.top_pad=0:glibc.malloc.hugetlb=1");
  EXPECT_EQ(huge_page_tunables(nullptr, "3.0", kMadvise), kOurs);
}

TEST(HugePageHeap, KeepsTheUsersChoiceAndSoNeverRestartsTwice) {
  EXPECT_EQ(huge_page_tunables("glibc.malloc.hugetlb=0", "2.36", kMadvise), std::nullopt);
  EXPECT_EQ(huge_page_tunables("glibc.malloc.hugetlb=1", "2.36", kMadvise), std::nullopt);
  EXPECT_EQ(huge_page_tunables("glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=2", "2.36", kMadvise), std::nullopt);
}

TEST(HugePageHeap, DoesNotRestartWhereItCannotHelp) {
  // glibc before 2.35 does not know the tunable.
  EXPECT_EQ(huge_page_tunables(nullptr, "2.31", kMadvise), std::nullopt);
  EXPECT_EQ(huge_page_tunables(nullptr, "", kMadvise), std::nullopt);
  // Transparent huge pages for every heap already, or for none.
  EXPECT_EQ(huge_page_tunables(nullptr, "2.36", "[always] madvise never"), std::nullopt);
  EXPECT_EQ(huge_page_tunables(nullptr, "2.36", "always madvise [never]"), std::nullopt);
  EXPECT_EQ(huge_page_tunables(nullptr, "2.36", ""), std::nullopt);
}

}  // namespace
