// What is on the data disk, from its first MiB: nothing (a fresh sparse image: format it),
// an ext2/3/4 file system (check and mount it), or anything else (refuse: formatting would
// destroy someone's data). Pure, so the decision is unit-tested on byte patterns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace berth::agent::init {

// How much of the disk probe_disk() looks at. Covers every signature it knows (btrfs's
// superblock at 64 KiB is the farthest) and the region partitioning tools write.
inline constexpr size_t kProbeBytes = 1 << 20;

enum class DiskKind { blank, ext, foreign };

struct DiskProbe {
  DiskKind kind = DiskKind::blank;
  // ext: "ext4" / "ext3" / "ext2"; foreign: what was found ("XFS file system",
  // "GPT partition table", "unrecognized data at offset 4096").
  std::string what;
  // ext only. clean: unmounted cleanly (no journal to replay, no recorded errors).
  bool clean = true;
  bool needs_recovery = false;
  bool has_errors = false;
  std::string label;
};

// `head` is the start of the disk, up to kProbeBytes (less when the disk is smaller).
DiskProbe probe_disk(std::span<const uint8_t> head);

}  // namespace berth::agent::init
