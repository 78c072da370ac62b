#include "cgroup/device_bpf.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "berth/common/unique_fd.h"

namespace berth::runtime::cgroup {

namespace {

constexpr uint32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

Result<uint32_t> parse_access(const std::string& access, const std::string& field) {
  if (access.empty()) return kAllAccess;
  uint32_t bits = 0;
  for (char c : access) {
    switch (c) {
      case 'r': bits |= BPF_DEVCG_ACC_READ; break;
      case 'w': bits |= BPF_DEVCG_ACC_WRITE; break;
      case 'm': bits |= BPF_DEVCG_ACC_MKNOD; break;
      default:
        return make_error(Errc::invalid_argument,
                          field + ".access: \"" + access + "\" is not a combination of r, w, m");
    }
  }
  return bits;
}

Result<int64_t> parse_number(const std::optional<int64_t>& value, const std::string& field) {
  if (!value || *value == -1) return int64_t{-1};
  if (*value < 0 || *value > static_cast<int64_t>(UINT32_MAX))
    return make_error(Errc::invalid_argument,
                      field + ": " + std::to_string(*value) + " is not -1 or a device number");
  return *value;
}

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

enum class Label { allow, deny };

struct Fixup {
  size_t at;
  Label target;
};

int bpf(int cmd, union bpf_attr* attr) {
  return static_cast<int>(::syscall(SYS_bpf, cmd, attr, sizeof(*attr)));
}

}  // namespace

Result<std::vector<DeviceRule>> normalize_device_rules(
    const std::vector<oci::LinuxDeviceCgroup>& rules) {
  std::vector<DeviceRule> out;
  out.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& in = rules[i];
    std::string field = "linux.resources.devices[" + std::to_string(i) + "]";
    DeviceRule rule;
    rule.allow = in.allow;
    if (in.type.empty() || in.type == "a") {
      rule.type = 'a';
    } else if (in.type == "c" || in.type == "b") {
      rule.type = in.type[0];
    } else {
      return make_error(Errc::invalid_argument,
                        field + ".type: \"" + in.type + "\" is not one of a, c, b");
    }
    rule.major = BERTH_TRY(parse_number(in.major, field + ".major"));
    rule.minor = BERTH_TRY(parse_number(in.minor, field + ".minor"));
    rule.access = BERTH_TRY(parse_access(in.access, field));
    out.push_back(rule);
  }
  return out;
}

Result<std::vector<bpf_insn>> device_program(const std::vector<DeviceRule>& rules) {
  // A rule matching everything overrides every rule before it, so only the last such rule
  // and what follows it matter; it also supplies the verdict for undecided bits.
  bool default_allow = true;
  size_t first = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].matches_everything()) {
      default_allow = rules[i].allow;
      first = i + 1;
    }
  }

  std::vector<bpf_insn> prog;
  std::vector<Fixup> fixups;
  // Prologue: split the context into registers once.
  prog.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(bpf_cgroup_dev_ctx, access_type), 0));
  prog.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, 3, 2, 0, 0));
  prog.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 3, 0, 0, 0xffff));
  prog.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, 4, 2, 0, 0));
  prog.push_back(insn(BPF_ALU | BPF_RSH | BPF_K, 4, 0, 0, 16));
  prog.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, offsetof(bpf_cgroup_dev_ctx, major), 0));
  prog.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 6, 1, offsetof(bpf_cgroup_dev_ctx, minor), 0));

  // Last rule first: the first rule to decide a bit is the last one in the list.
  for (size_t i = rules.size(); i > first; --i) {
    const DeviceRule& rule = rules[i - 1];
    std::vector<size_t> to_next;
    auto jne = [&](uint8_t reg, uint32_t value) {
      to_next.push_back(prog.size());
      // JMP32 compares the low 32 bits, so device numbers above INT32_MAX still match.
      prog.push_back(insn(BPF_JMP32 | BPF_JNE | BPF_K, reg, 0, 0, static_cast<int32_t>(value)));
    };
    if (rule.type == 'c') jne(3, BPF_DEVCG_DEV_CHAR);
    if (rule.type == 'b') jne(3, BPF_DEVCG_DEV_BLOCK);
    if (rule.major >= 0) jne(5, static_cast<uint32_t>(rule.major));
    if (rule.minor >= 0) jne(6, static_cast<uint32_t>(rule.minor));
    if (rule.allow) {
      prog.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 4, 0, 0, static_cast<int32_t>(~rule.access)));
      fixups.push_back({prog.size(), Label::allow});
      prog.push_back(insn(BPF_JMP32 | BPF_JEQ | BPF_K, 4, 0, 0, 0));
    } else {
      prog.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, 7, 4, 0, 0));
      prog.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 7, 0, 0, static_cast<int32_t>(rule.access)));
      fixups.push_back({prog.size(), Label::deny});
      prog.push_back(insn(BPF_JMP32 | BPF_JNE | BPF_K, 7, 0, 0, 0));
    }
    for (size_t at : to_next) prog[at].off = static_cast<int16_t>(prog.size() - at - 1);
  }

  // Bits no rule decided fall through to the default verdict. The opposite verdict gets a
  // block only if some rule jumps to it: the verifier rejects unreachable instructions.
  size_t default_at = prog.size();
  prog.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, default_allow ? 1 : 0));
  prog.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  Label opposite = default_allow ? Label::deny : Label::allow;
  size_t opposite_at = prog.size();
  if (std::any_of(fixups.begin(), fixups.end(), [&](const Fixup& f) { return f.target == opposite; })) {
    prog.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, default_allow ? 0 : 1));
    prog.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  }

  if (prog.size() > INT16_MAX)
    return make_error(Errc::invalid_argument,
                      "linux.resources.devices: " + std::to_string(rules.size()) +
                          " rules are too many for one device program");
  for (const Fixup& f : fixups) {
    size_t target = f.target == opposite ? opposite_at : default_at;
    prog[f.at].off = static_cast<int16_t>(target - f.at - 1);
  }
  return prog;
}

Status attach_device_program(int cgroup_fd, const std::vector<bpf_insn>& program) {
  // No helpers are called, so the license string only has to be present.
  static const char kLicense[] = "GPL";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uintptr_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uintptr_t>(kLicense);
  std::strncpy(attr.prog_name, "berth_devices", sizeof attr.prog_name - 1);
  UniqueFd prog_fd(bpf(BPF_PROG_LOAD, &attr));
  if (!prog_fd) {
    int err = errno;
    // Load again with the verifier log, which is the only useful explanation.
    std::string log(64 * 1024, '\0');
    attr.log_level = 1;
    attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    UniqueFd retry(bpf(BPF_PROG_LOAD, &attr));
    log.resize(std::strlen(log.c_str()));
    if (log.size() > 2000) log.erase(0, log.size() - 2000);
    std::string message = "load the device cgroup BPF program";
    if (!log.empty()) message += " (verifier: " + log + ")";
    return sys_error(message, err);
  }

  uint32_t old_ids[256];
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uintptr_t>(old_ids);
  attr.query.prog_cnt = 256;
  if (bpf(BPF_PROG_QUERY, &attr) < 0) return sys_error("query the cgroup's device BPF programs");
  uint32_t old_count = std::min<uint32_t>(attr.query.prog_cnt, 256);
  uint32_t old_flags = attr.query.attach_flags;

  // Someone attached a single, non-multi program: attaching with its flags replaces it.
  bool replace_single = old_count > 0 && !(old_flags & BPF_F_ALLOW_MULTI);
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = replace_single ? old_flags : BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attr) < 0) return sys_error("attach the device cgroup BPF program");
  if (replace_single) return ok();

  for (uint32_t i = 0; i < old_count; ++i) {
    std::memset(&attr, 0, sizeof attr);
    attr.prog_id = old_ids[i];
    UniqueFd old(bpf(BPF_PROG_GET_FD_BY_ID, &attr));
    if (!old) {
      if (errno == ENOENT) continue;
      return sys_error("open the previous device BPF program " + std::to_string(old_ids[i]));
    }
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(old.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
      return sys_error("detach the previous device BPF program " + std::to_string(old_ids[i]));
  }
  return ok();
}

}  // namespace berth::runtime::cgroup
