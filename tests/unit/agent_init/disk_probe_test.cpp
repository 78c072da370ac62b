#include "init/disk_probe.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace berth::agent::init {
namespace {

std::vector<uint8_t> zeros(size_t n = kProbeBytes) { return std::vector<uint8_t>(n, 0); }

void put(std::vector<uint8_t>& d, size_t off, std::string_view bytes) { std::memcpy(d.data() + off, bytes.data(), bytes.size()); }
void put16(std::vector<uint8_t>& d, size_t off, uint16_t v) {
  d[off] = v & 0xff;
  d[off + 1] = v >> 8;
}
void put32(std::vector<uint8_t>& d, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) d[off + i] = (v >> (8 * i)) & 0xff;
}

// A superblock as mke2fs -t ext4 writes it, with the fields the probe reads.
std::vector<uint8_t> ext4(uint16_t state = 1, uint32_t incompat = 0x2c2, uint32_t compat = 0x3c) {
  auto d = zeros();
  size_t sb = 1024;
  put32(d, sb + 0, 16384);  // inodes
  put32(d, sb + 24, 2);     // 4 KiB blocks
  put16(d, sb + 56, 0xEF53);
  put16(d, sb + 58, state);
  put32(d, sb + 76, 1);  // dynamic revision
  put32(d, sb + 92, compat);
  put32(d, sb + 96, incompat);
  put(d, sb + 120, "berth-data");
  return d;
}

TEST(DiskProbe, AllZerosIsBlank) {
  EXPECT_EQ(probe_disk(zeros()).kind, DiskKind::blank);
  EXPECT_EQ(probe_disk(zeros(4096)).kind, DiskKind::blank);  // a tiny disk
  EXPECT_EQ(probe_disk({}).kind, DiskKind::blank);
}

TEST(DiskProbe, CleanExt4) {
  auto p = probe_disk(ext4());
  EXPECT_EQ(p.kind, DiskKind::ext);
  EXPECT_EQ(p.what, "ext4");
  EXPECT_TRUE(p.clean);
  EXPECT_EQ(p.label, "berth-data");
}

TEST(DiskProbe, JournalToReplayIsNotClean) {
  auto p = probe_disk(ext4(1, 0x2c2 | 0x4));  // INCOMPAT_RECOVER: mounted when the VM died
  EXPECT_EQ(p.kind, DiskKind::ext);
  EXPECT_TRUE(p.needs_recovery);
  EXPECT_FALSE(p.clean);
}

TEST(DiskProbe, RecordedErrorsOrNotValidAreNotClean) {
  EXPECT_TRUE(probe_disk(ext4(1 | 2)).has_errors);
  EXPECT_FALSE(probe_disk(ext4(1 | 2)).clean);
  EXPECT_FALSE(probe_disk(ext4(0)).clean);
}

TEST(DiskProbe, OlderExtVariants) {
  EXPECT_EQ(probe_disk(ext4(1, 0x2, 0x4)).what, "ext3");
  EXPECT_EQ(probe_disk(ext4(1, 0x2, 0x0)).what, "ext2");
}

TEST(DiskProbe, AStrayMagicIsNotExt) {
  auto d = zeros();
  put16(d, 1024 + 56, 0xEF53);  // nothing else of a superblock
  auto p = probe_disk(d);
  EXPECT_EQ(p.kind, DiskKind::foreign);
  EXPECT_NE(p.what.find("unrecognized data at offset 1080"), std::string::npos) << p.what;
}

TEST(DiskProbe, KnownSignaturesAreForeign) {
  struct Case {
    size_t off;
    std::string_view magic;
    const char* what;
  } cases[] = {
      {0, "XFSB", "XFS"},
      {0x10040, "_BHRfS_M", "btrfs"},
      {512, "EFI PART", "GPT"},
      {510, "\x55\xaa", "MBR"},
      {0, "LUKS\xba\xbe", "LUKS"},
      {4086, "SWAPSPACE2", "swap"},
      {82, "FAT32   ", "FAT32"},
      {0x8001, "CD001", "ISO 9660"},
      {0, "QFI\xfb", "qcow2"},
      {512, "LABELONE", "LVM"},
      {0, "hsqs", "squashfs"},
  };
  for (const auto& c : cases) {
    auto d = zeros();
    put(d, c.off, c.magic);
    auto p = probe_disk(d);
    EXPECT_EQ(p.kind, DiskKind::foreign) << c.what;
    EXPECT_NE(p.what.find(c.what), std::string::npos) << p.what;
  }
}

TEST(DiskProbe, AnyNonZeroByteIsForeign) {
  auto d = zeros();
  d[kProbeBytes - 1] = 1;
  auto p = probe_disk(d);
  EXPECT_EQ(p.kind, DiskKind::foreign);
  EXPECT_NE(p.what.find(std::to_string(kProbeBytes - 1)), std::string::npos);
}

}  // namespace
}  // namespace berth::agent::init
