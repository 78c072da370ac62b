#include "vsock/guest_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

namespace berth::vsock {
namespace {

constexpr uint64_t kMiB = 1 << 20;

UniqueFd make_memfd(size_t size) {
  UniqueFd fd(::memfd_create("gm-test", MFD_CLOEXEC));
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  return fd;
}

UniqueFd dup_fd(const UniqueFd& fd) { return UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0)); }

// Two regions from one file: A at file offset 0, B at file offset 1 MiB, adjacent in
// guest-physical space, far apart in user space.
GuestMemory two_regions(const UniqueFd& fd) {
  std::vector<MemoryRegion> regions = {{0x10000, kMiB, 0x7f0000000000, 0}, {0x10000 + kMiB, kMiB, 0x7f5000000000, kMiB}};
  std::vector<UniqueFd> fds;
  fds.push_back(dup_fd(fd));
  fds.push_back(dup_fd(fd));
  auto mem = GuestMemory::map(regions, std::move(fds));
  EXPECT_TRUE(mem) << (mem ? "" : mem.error().what());
  return std::move(*mem);
}

TEST(GuestMemory, TranslatesThroughFileOffsets) {
  UniqueFd fd = make_memfd(2 * kMiB);
  GuestMemory mem = two_regions(fd);
  ASSERT_EQ(::pwrite(fd.get(), "AAAA", 4, 0), 4);
  ASSERT_EQ(::pwrite(fd.get(), "BBBB", 4, kMiB), 4);
  uint8_t* a = mem.gpa_to_host(0x10000, 4);
  uint8_t* b = mem.gpa_to_host(0x10000 + kMiB, 4);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(std::memcmp(a, "AAAA", 4), 0);
  EXPECT_EQ(std::memcmp(b, "BBBB", 4), 0);
  EXPECT_EQ(mem.uaddr_to_host(0x7f0000000000, 4), a);
  EXPECT_EQ(mem.uaddr_to_host(0x7f5000000000, 4), b);
}

TEST(GuestMemory, RejectsEverythingOutsideRegions) {
  UniqueFd fd = make_memfd(2 * kMiB);
  GuestMemory mem = two_regions(fd);
  const uint64_t end = 0x10000 + 2 * kMiB;
  EXPECT_EQ(mem.gpa_to_host(0, 1), nullptr);
  EXPECT_EQ(mem.gpa_to_host(0xffff, 2), nullptr);              // starts before RAM
  EXPECT_EQ(mem.gpa_to_host(end - 1, 2), nullptr);             // runs past the end
  EXPECT_EQ(mem.gpa_to_host(end + 1, 0), nullptr);
  EXPECT_NE(mem.gpa_to_host(end - 1, 1), nullptr);
  EXPECT_EQ(mem.gpa_to_host(~0ull, 2), nullptr);               // wraps
  EXPECT_EQ(mem.gpa_to_host(0x10000, ~0ull), nullptr);
  // One contiguous pointer cannot span the two mappings, even where guest RAM is contiguous.
  EXPECT_EQ(mem.gpa_to_host(0x10000 + kMiB - 2, 4), nullptr);
  EXPECT_EQ(mem.uaddr_to_host(0x7f0000000000 + kMiB - 2, 4), nullptr);
  EXPECT_EQ(mem.uaddr_to_host(0x10000, 4), nullptr);           // guest-physical is not a user address
}

TEST(GuestMemory, SpansCrossAdjacentRegionsButNotHoles) {
  UniqueFd fd = make_memfd(2 * kMiB);
  GuestMemory mem = two_regions(fd);
  std::vector<HostSpan> spans;
  ASSERT_TRUE(mem.gpa_to_spans(0x10000 + kMiB - 2, 4, spans));
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].size, 2u);
  EXPECT_EQ(spans[1].size, 2u);
  EXPECT_EQ(spans[1].data, mem.gpa_to_host(0x10000 + kMiB, 1));
  spans.clear();
  EXPECT_FALSE(mem.gpa_to_spans(0x10000 + 2 * kMiB - 2, 4, spans));
  EXPECT_TRUE(spans.empty());
  EXPECT_FALSE(mem.gpa_to_spans(~0ull - 1, 4, spans));
  EXPECT_TRUE(mem.gpa_to_spans(0x10000, 0, spans));
}

TEST(GuestMemory, ValidatesTable) {
  UniqueFd fd = make_memfd(kMiB);
  auto fds = [&](int n) {
    std::vector<UniqueFd> v;
    for (int i = 0; i < n; ++i) v.push_back(dup_fd(fd));
    return v;
  };
  EXPECT_FALSE(GuestMemory::map({{0, kMiB, 0, 0}}, fds(2)));
  EXPECT_FALSE(GuestMemory::map({{0, 0, 0, 0}}, fds(1)));
  EXPECT_FALSE(GuestMemory::map({{0, kMiB, 0, 0}, {kMiB / 2, kMiB, 1ull << 40, 0}}, fds(2)));
  EXPECT_FALSE(GuestMemory::map({{~0ull - 5, kMiB, 0, 0}}, fds(1)));
  EXPECT_FALSE(GuestMemory::map({{0, kMiB, 0, 0}}, std::vector<UniqueFd>(1)));
  EXPECT_TRUE(GuestMemory::map({{0, kMiB, 0, 0}}, fds(1)));
}

}  // namespace
}  // namespace berth::vsock
