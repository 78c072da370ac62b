#include "init/disk_probe.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace berth::agent::init {

namespace {

// ext2/3/4 superblock: 1024 bytes in; offsets within it.
constexpr size_t kExtSuper = 1024;
constexpr size_t kExtMagic = 56, kExtState = 58, kExtLogBlockSize = 24, kExtInodes = 0, kExtRevLevel = 76;
constexpr size_t kExtCompat = 92, kExtIncompat = 96, kExtVolumeName = 120;
constexpr uint16_t kExtMagicValue = 0xEF53;
constexpr uint16_t kExtValidFs = 1, kExtErrorFs = 2;
constexpr uint32_t kCompatHasJournal = 0x4;
constexpr uint32_t kIncompatRecover = 0x4, kIncompatExtents = 0x40, kIncompat64bit = 0x80, kIncompatFlexBg = 0x200;

uint16_t le16(std::span<const uint8_t> d, size_t off) { return static_cast<uint16_t>(d[off] | d[off + 1] << 8); }
uint32_t le32(std::span<const uint8_t> d, size_t off) {
  return static_cast<uint32_t>(d[off]) | static_cast<uint32_t>(d[off + 1]) << 8 |
         static_cast<uint32_t>(d[off + 2]) << 16 | static_cast<uint32_t>(d[off + 3]) << 24;
}

bool has(std::span<const uint8_t> d, size_t off, std::string_view magic) {
  return d.size() >= off + magic.size() && std::memcmp(d.data() + off, magic.data(), magic.size()) == 0;
}

bool probe_ext(std::span<const uint8_t> d, DiskProbe& out) {
  if (d.size() < kExtSuper + 1024) return false;
  auto sb = d.subspan(kExtSuper, 1024);
  if (le16(sb, kExtMagic) != kExtMagicValue) return false;
  // The magic alone is two bytes; a sane block size, revision and inode count make a stray
  // 0xEF53 in someone else's data unlikely to pass for a file system.
  if (le32(sb, kExtLogBlockSize) > 6 || le32(sb, kExtRevLevel) > 1 || le32(sb, kExtInodes) == 0) return false;
  uint32_t compat = le32(sb, kExtCompat), incompat = le32(sb, kExtIncompat);
  uint16_t state = le16(sb, kExtState);
  out.kind = DiskKind::ext;
  if (incompat & (kIncompatExtents | kIncompat64bit | kIncompatFlexBg)) {
    out.what = "ext4";
  } else if (compat & kCompatHasJournal) {
    out.what = "ext3";
  } else {
    out.what = "ext2";
  }
  out.needs_recovery = (incompat & kIncompatRecover) != 0;
  out.has_errors = (state & kExtErrorFs) != 0;
  out.clean = (state & kExtValidFs) != 0 && !out.needs_recovery && !out.has_errors;
  auto name = sb.subspan(kExtVolumeName, 16);
  out.label.assign(reinterpret_cast<const char*>(name.data()),
                   static_cast<size_t>(std::find(name.begin(), name.end(), 0) - name.begin()));
  return true;
}

// Signatures of what a disk image might hold instead. Order: whole-disk layouts first.
struct Signature {
  size_t offset;
  std::string_view magic;
  const char* what;
};
constexpr Signature kSignatures[] = {
    {512, "EFI PART", "GPT partition table"},
    {0, "LUKS\xba\xbe", "LUKS encrypted volume"},
    {0, "XFSB", "XFS file system"},
    {0x10040, "_BHRfS_M", "btrfs file system"},
    {0, "hsqs", "squashfs image"},
    {0x8001, "CD001", "ISO 9660 image"},
    {0, "QFI\xfb", "qcow2 image (attached as raw)"},
    {3, "NTFS    ", "NTFS file system"},
    {3, "EXFAT   ", "exFAT file system"},
    {82, "FAT32   ", "FAT32 file system"},
    {54, "FAT16   ", "FAT16 file system"},
    {54, "FAT12   ", "FAT12 file system"},
    {4086, "SWAPSPACE2", "swap space"},
    {4086, "SWAP-SPACE", "swap space"},
    {0x400, "\x10\x20\xf5\xf2", "F2FS file system"},
    {512, "LABELONE", "LVM physical volume"},
    {0x218, "LVM2 001", "LVM physical volume"},
    {510, "\x55\xaa", "MBR partition table or boot sector"},
};

}  // namespace

DiskProbe probe_disk(std::span<const uint8_t> head) {
  DiskProbe out;
  if (probe_ext(head, out)) return out;
  for (const auto& sig : kSignatures) {
    if (has(head, sig.offset, sig.magic)) {
      out.kind = DiskKind::foreign;
      out.what = sig.what;
      return out;
    }
  }
  auto nonzero = std::find_if(head.begin(), head.end(), [](uint8_t b) { return b != 0; });
  if (nonzero != head.end()) {
    out.kind = DiskKind::foreign;
    out.what = "unrecognized data at offset " + std::to_string(nonzero - head.begin());
  }
  return out;
}

}  // namespace berth::agent::init
