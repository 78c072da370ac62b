// Device access rules: the spec's linux.resources.devices normalised, compiled to a
// BPF_PROG_TYPE_CGROUP_DEVICE program for cgroup v2, and attached to a cgroup.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "berth/common/oci/spec.h"
#include "berth/common/result.h"

namespace berth::runtime::cgroup {

struct DeviceRule {
  bool allow = false;
  char type = 'a';      // 'a' (char and block), 'c', 'b'
  int64_t major = -1;   // -1: any
  int64_t minor = -1;
  uint32_t access = 0;  // BPF_DEVCG_ACC_* bits, never 0

  bool matches_everything() const {
    return type == 'a' && major < 0 && minor < 0 &&
           access == (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE);
  }
};

// Validates and normalises; errors are invalid_argument naming linux.resources.devices[i].
// Empty type means 'a', empty access means "rwm", absent or -1 major/minor mean any.
Result<std::vector<DeviceRule>> normalize_device_rules(
    const std::vector<oci::LinuxDeviceCgroup>& rules);

// The rules' verdict, as the kernel's v1 device controller applies them in order: each
// access bit is decided by the last rule that matches the device and names that bit, and a
// request is allowed only if all its bits are. Bits no rule decides are allowed, unless a
// rule matching everything ("a *:* rwm") set a default of its own — so a leading deny-all
// makes the list an allowlist.
//
// The program reads struct bpf_cgroup_dev_ctx from r1 and returns 1 (allow) or 0 (deny).
// Register use: w2 access_type, w3 device type, w4 access bits still undecided, w5 major,
// w6 minor, w7 scratch.
Result<std::vector<bpf_insn>> device_program(const std::vector<DeviceRule>& rules);

// BPF_PROG_LOAD, then BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) to the cgroup
// directory `cgroup_fd` (O_RDONLY, not O_PATH: the kernel's fdget() rejects O_PATH), then
// detaches whatever device programs were attached to it before, so `update` replaces the
// rules without a moment of no rules at all.
Status attach_device_program(int cgroup_fd, const std::vector<bpf_insn>& program);

}  // namespace berth::runtime::cgroup
