#include "init/data_disk.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <vector>

#include "berth/common/fs.h"
#include "init/command.h"
#include "init/console.h"

namespace berth::agent::init {

namespace {

constexpr const char* kMke2fs = "/usr/sbin/mke2fs";
constexpr const char* kE2fsck = "/usr/sbin/e2fsck";

std::string first_virtio_disk() {
  namespace sfs = std::filesystem;
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : sfs::directory_iterator("/sys/block", ec)) {
    std::string n = e.path().filename().string();
    if (n.starts_with("vd")) names.push_back(n);
  }
  // vda < vdb < ... < vdz < vdaa: shorter names first.
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return a.size() != b.size() ? a.size() < b.size() : a < b; });
  return names.empty() ? "" : "/dev/" + names.front();
}

Result<std::vector<uint8_t>> read_head(int fd, uint64_t size) {
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(size, kProbeBytes)));
  size_t off = 0;
  while (off < head.size()) {
    ssize_t n = ::pread(fd, head.data() + off, head.size() - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read the data disk");
    if (n == 0) break;
    off += static_cast<size_t>(n);
  }
  head.resize(off);
  return head;
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

CommandOptions timeout_options(std::chrono::milliseconds timeout) {
  CommandOptions o;
  o.timeout = timeout;
  return o;
}

// A random UUID from the kernel without waiting for its RNG to be fully seeded.
Result<std::string> kernel_uuid() {
  std::string u = BERTH_TRY(fs::read_file("/proc/sys/kernel/random/uuid"));
  while (!u.empty() && u.back() == '\n') u.pop_back();
  return u;
}

Status format(const std::string& device) {
  // lazy_itable_init/lazy_journal_init: the kernel zeroes inode tables in the background
  // after mounting instead of mke2fs writing them all now. nodiscard: discarding a sparse
  // image is pointless and slow under emulation. -m 0: no blocks reserved for root, the
  // only user. -F: the probe already established the device is blank.
  // -U and hash_seed: otherwise libuuid asks getrandom(GRND_NONBLOCK) and, early in boot
  // before the kernel's RNG is seeded (TCG without RDRAND or virtio-rng), retries for a
  // second per UUID: three seconds of mke2fs doing nothing.
  std::string uuid = BERTH_TRY(kernel_uuid()), seed = BERTH_TRY(kernel_uuid());
  auto r = BERTH_TRY(run_command({kMke2fs, "-q", "-F", "-t", "ext4", "-L", "berth-data", "-m", "0", "-U", uuid, "-E",
                                  "lazy_itable_init=1,lazy_journal_init=1,nodiscard,hash_seed=" + seed, device},
                                 timeout_options(std::chrono::minutes(5))));
  if (r.exit_code != 0)
    return make_error(Errc::io, "mke2fs " + device + " failed (exit " + std::to_string(r.exit_code) + "): " +
                                    last_line(r.err + r.out));
  return ok();
}

// e2fsck -p: replays the journal and fixes what is safe to fix without asking. Exit codes
// (e2fsck(8)): 0 clean, 1 errors corrected, 2 corrected and a reboot advised (only matters
// for a mounted root), 4 and up: errors left or e2fsck itself failed.
Result<std::string> check(const std::string& device) {
  auto r = BERTH_TRY(run_command({kE2fsck, "-p", device}, timeout_options(std::chrono::minutes(10))));
  if (r.exit_code >= 4)
    return make_error(Errc::io, "e2fsck -p " + device + " left errors it could not fix (exit " +
                                    std::to_string(r.exit_code) + "): " + last_line(r.out + r.err) +
                                    "; run e2fsck -f by hand");
  return r.exit_code == 0 ? std::string() : last_line(r.out + r.err);
}

}  // namespace

Json DataDisk::to_json() const {
  Json j = {{"device", device}, {"found", found}, {"formatted", formatted}, {"checked", checked},
            {"size_bytes", size_bytes}, {"mount", kDataMount}};
  if (!fsck_note.empty()) j["fsck"] = fsck_note;
  return j;
}

Result<std::string> find_data_disk(std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (::access("/dev/vda", F_OK) == 0) return std::string("/dev/vda");
    if (auto d = first_virtio_disk(); !d.empty() && ::access(d.c_str(), F_OK) == 0) return d;
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(Errc::not_found, "no data disk: no virtio block device (/dev/vd*) appeared");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<DataDisk> prepare_data_disk(const std::string& device) {
  DataDisk disk;
  disk.device = device;
  {
    UniqueFd fd = BERTH_TRY(fs::open(device, O_RDONLY));
    if (::ioctl(fd.get(), BLKGETSIZE64, &disk.size_bytes) < 0) return sys_error("size of " + device);
    auto head = BERTH_TRY(read_head(fd.get(), disk.size_bytes));
    DiskProbe probe = probe_disk(head);
    switch (probe.kind) {
      case DiskKind::foreign:
        return make_error(Errc::conflict, device + " holds " + probe.what +
                                              ", not an ext4 file system; refusing to format it (berth formats "
                                              "only an empty disk; attach a new one or wipe this one)");
      case DiskKind::blank:
        disk.found = "blank";
        break;
      case DiskKind::ext:
        disk.found = probe.what;
        if (!probe.clean) {
          disk.checked = true;
          logger()->info("{}: {} was not unmounted cleanly{}; running e2fsck -p", device, probe.what,
                         probe.has_errors ? " and has recorded errors" : "");
        }
        break;
    }
  }
  if (disk.found == "blank") {
    logger()->info("{}: blank ({} MiB), formatting it ext4", device, disk.size_bytes >> 20);
    BERTH_TRY(format(device));
    disk.formatted = true;
  } else if (disk.checked) {
    disk.fsck_note = BERTH_TRY(check(device));
    if (!disk.fsck_note.empty()) logger()->warn("e2fsck {}: {}", device, disk.fsck_note);
  }
  BERTH_TRY(fs::mkdir_p(kDataMount, 0711));
  if (::mount(device.c_str(), kDataMount, "ext4", MS_NOATIME, nullptr) < 0)
    return sys_error("mount " + device + " (" + disk.found + ") on " + kDataMount);
  return disk;
}

}  // namespace berth::agent::init
