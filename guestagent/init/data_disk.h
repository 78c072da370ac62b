// The data disk: a raw image the host made (sparse, all zeros on first boot), mounted at
// /var/lib/berth. Formatted ext4 only when it is blank; checked with e2fsck -p when it was
// not unmounted cleanly; refused, untouched, when it holds anything but ext2/3/4.
#pragma once

#include <chrono>
#include <string>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "init/disk_probe.h"

namespace berth::agent::init {

inline constexpr const char* kDataMount = "/var/lib/berth";

struct DataDisk {
  std::string device;  // "/dev/vda"
  std::string found;   // what the probe found: "blank", "ext4"
  bool formatted = false;
  bool checked = false;  // e2fsck ran
  std::string fsck_note;  // e2fsck's verdict when it changed something
  uint64_t size_bytes = 0;
  Json to_json() const;
};

// /dev/vda, else the first /sys/block/vd*; waits up to `wait` for it to appear.
Result<std::string> find_data_disk(std::chrono::milliseconds wait);

// Probes, formats or checks, and mounts `device` at kDataMount. A foreign disk is
// Errc::conflict with what was found in the message.
Result<DataDisk> prepare_data_disk(const std::string& device);

}  // namespace berth::agent::init
