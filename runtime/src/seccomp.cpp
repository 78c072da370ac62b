#include "seccomp_filter.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "berth/common/json.h"
#include "berth/common/unique_fd.h"

// Older kernel headers lack these; the values are kernel ABI and never change.
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace berth::runtime {
namespace {

constexpr std::string_view kField = "linux.seccomp";

struct ActionInfo {
  std::string_view name;
  uint32_t value;    // with the 16-bit data part zero
  bool takes_errno;  // SCMP_ACT_ERRNO / SCMP_ACT_TRACE carry errnoRet in the data part
};

constexpr std::array<ActionInfo, 9> kActions{{
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
}};

struct OperatorInfo {
  std::string_view name;
  scmp_compare op;
};

constexpr std::array<OperatorInfo, 7> kOperators{{
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    {"SCMP_CMP_NE", SCMP_CMP_NE},
}};

// Every architecture name the runtime spec defines. Whether libseccomp knows one is asked at run
// time (seccomp_arch_resolve_name on the lower-cased suffix), so a newer libseccomp needs no
// change here; 2.5.4 does not know the last four.
constexpr std::array<std::string_view, 23> kArchNames{{
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",        "SCMP_ARCH_MIPS",      "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64",   "SCMP_ARCH_PPC",       "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",    "SCMP_ARCH_S390",      "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",     "SCMP_ARCH_X86",        "SCMP_ARCH_X86_64",    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",         "SCMP_ARCH_SHEB",
}};

struct FlagInfo {
  std::string_view name;
  unsigned int bit;
};

constexpr std::array<FlagInfo, 4> kFlags{{
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}};

// libseccomp takes at most one comparison per argument per rule, so OR-ing conditions on one
// index multiplies rules; this bound keeps a hostile profile from exhausting memory.
constexpr size_t kMaxRulesPerEntry = 1024;

tl::unexpected<Error> invalid(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message));
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

template <class Table>
std::string joined_names(const Table& table) {
  std::string out;
  for (const auto& entry : table) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

std::string libseccomp_version() {
  const scmp_version* v = seccomp_version();
  if (!v) return "?";
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

// `field` names the action, `errno_field` the errnoRet that goes with it.
Result<uint32_t> resolve_action(const std::string& name, const std::optional<uint32_t>& errno_ret,
                                const std::string& field, const std::string& errno_field) {
  auto it = std::find_if(kActions.begin(), kActions.end(), [&](const ActionInfo& a) { return a.name == name; });
  if (it == kActions.end()) {
    return invalid(field + ": unknown action " + in_quotes(name) + " (known: " + joined_names(kActions) + ")");
  }
  if (!it->takes_errno) {
    // The spec makes an errno on an action that cannot return one an error, not a no-op.
    if (errno_ret) return invalid(errno_field + ": " + std::string(it->name) + " does not return an errno");
    return it->value;
  }
  uint32_t data = errno_ret.value_or(EPERM);
  if (data > 0xffff) {
    return invalid(errno_field + ": " + std::to_string(data) + " does not fit the 16-bit seccomp return data");
  }
  return it->value | data;
}

// libseccomp spells "SCMP_ARCH_X86_64" as "x86_64"; 0 when it does not know the architecture.
uint32_t libseccomp_arch_token(std::string_view spec_name) {
  std::string lower(spec_name.substr(std::string_view("SCMP_ARCH_").size()));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(lower.c_str());
}

Result<uint32_t> resolve_arch(const std::string& name, const std::string& field) {
  bool known = std::find(kArchNames.begin(), kArchNames.end(), name) != kArchNames.end();
  if (!known) {
    std::string list;
    for (auto a : kArchNames) list += (list.empty() ? "" : ", ") + std::string(a);
    return invalid(field + ": unknown architecture " + in_quotes(name) + " (known: " + list + ")");
  }
  uint32_t token = libseccomp_arch_token(name);
  if (token == 0) {
    return make_error(Errc::unsupported,
                      field + ": " + name + " is not supported by libseccomp " + libseccomp_version());
  }
  return token;
}

// Asks the kernel whether it accepts `flags` without loading anything: it validates the flags
// before it reads the program, so a null program yields EFAULT exactly when they are valid.
// Needs neither no_new_privs nor CAP_SYS_ADMIN, because that check comes after the copy.
bool kernel_accepts_flags(unsigned int flags) {
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, nullptr);
  return rc < 0 && errno == EFAULT;
}

unsigned int probe_flag(unsigned int bit) {
  // The kernel refuses WAIT_KILLABLE_RECV on its own; it only qualifies a listener.
  unsigned int extra = bit == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  return kernel_accepts_flags(bit | extra) ? bit : 0;
}

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using FilterCtx = std::unique_ptr<void, FilterDeleter>;

// One rule per way of picking a condition for each index: the rules are OR-ed by the kernel,
// the conditions inside a rule AND-ed, which gives "OR within an index, AND across indexes".
std::vector<std::vector<scmp_arg_cmp>> combine(const std::vector<std::vector<scmp_arg_cmp>>& groups) {
  std::vector<std::vector<scmp_arg_cmp>> out{{}};
  for (const auto& group : groups) {
    std::vector<std::vector<scmp_arg_cmp>> next;
    next.reserve(out.size() * group.size());
    for (const auto& prefix : out) {
      for (const auto& cond : group) {
        next.push_back(prefix);
        next.back().push_back(cond);
      }
    }
    out = std::move(next);
  }
  return out;
}

struct Entry {
  uint32_t action = 0;
  std::vector<std::vector<scmp_arg_cmp>> rules;  // condition sets, OR-ed; one empty set = no args
};

Result<Entry> compile_entry(const oci::LinuxSyscall& sc, const std::string& field) {
  Entry entry;
  if (sc.names.empty()) return invalid(field + ".names: must name at least one syscall");
  entry.action = BERTH_TRY(resolve_action(sc.action, sc.errnoRet, field + ".action", field + ".errnoRet"));

  // Index -> its conditions, in first-seen order so the rule order follows the profile.
  std::vector<std::vector<scmp_arg_cmp>> groups;
  std::array<int, 6> group_of;
  group_of.fill(-1);
  for (size_t j = 0; j < sc.args.size(); ++j) {
    const auto& arg = sc.args[j];
    std::string arg_field = field + ".args[" + std::to_string(j) + "]";
    if (arg.index >= group_of.size()) {
      return invalid(arg_field + ".index: " + std::to_string(arg.index) + " is out of range (a syscall has 6 arguments, 0-5)");
    }
    auto op = std::find_if(kOperators.begin(), kOperators.end(), [&](const OperatorInfo& o) { return o.name == arg.op; });
    if (op == kOperators.end()) {
      return invalid(arg_field + ".op: unknown operator " + in_quotes(arg.op) + " (known: " + joined_names(kOperators) + ")");
    }
    // For SCMP_CMP_MASKED_EQ libseccomp reads datum_a as the mask and datum_b as the value,
    // which is how runc maps value/valueTwo too.
    scmp_arg_cmp cmp{arg.index, op->op, arg.value, arg.valueTwo};
    int& g = group_of[arg.index];
    if (g < 0) {
      g = static_cast<int>(groups.size());
      groups.emplace_back();
    }
    groups[static_cast<size_t>(g)].push_back(cmp);
  }

  size_t count = 1;
  for (const auto& group : groups) {
    count *= group.size();
    if (count > kMaxRulesPerEntry) {
      return invalid(field + ".args: the alternatives multiply to more than " + std::to_string(kMaxRulesPerEntry) +
                     " rules; split the entry");
    }
  }
  entry.rules = combine(groups);
  return entry;
}

Result<std::vector<sock_filter>> export_bpf(void* ctx) {
  // libseccomp 2.5 only exports to an fd; a memfd keeps the program off any filesystem.
  UniqueFd mem(::memfd_create("berth-seccomp-bpf", MFD_CLOEXEC));
  if (!mem) return sys_error("linux.seccomp: memfd_create for the BPF export");
  int rc = seccomp_export_bpf(ctx, mem.get());
  if (rc < 0) return make_error(Errc::internal, "linux.seccomp: libseccomp could not export the filter", -rc);
  struct stat st {};
  if (::fstat(mem.get(), &st) < 0) return sys_error("linux.seccomp: fstat of the BPF export");
  auto size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0) {
    return make_error(Errc::internal,
                      "linux.seccomp: exported BPF has " + std::to_string(size) + " bytes, not whole instructions");
  }
  std::vector<sock_filter> filter(size / sizeof(sock_filter));
  auto* out = reinterpret_cast<char*>(filter.data());
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(mem.get(), out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("linux.seccomp: reading back the BPF export");
    if (n == 0) return make_error(Errc::internal, "linux.seccomp: BPF export shrank while reading it");
    done += static_cast<size_t>(n);
  }
  return filter;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::LinuxSeccomp& spec, std::vector<std::string>* warnings) {
  const std::string base(kField);
  auto warn = [&](std::string message) {
    if (warnings) warnings->push_back(std::move(message));
  };

  uint32_t default_action = BERTH_TRY(
      resolve_action(spec.defaultAction, spec.defaultErrnoRet, base + ".defaultAction", base + ".defaultErrnoRet"));
  if (default_action == SCMP_ACT_NOTIFY) {
    return invalid(base + ".defaultAction: SCMP_ACT_NOTIFY cannot be the default action: the container init "
                   "could not pass the listener on without being stopped by it");
  }
  if (!spec.listenerMetadata.empty() && spec.listenerPath.empty()) {
    return invalid(base + ".listenerMetadata: must not be set without listenerPath");
  }

  // Entries are checked completely before libseccomp sees any of them, so every field error is
  // reported the same way whatever the order.
  std::vector<Entry> entries;
  entries.reserve(spec.syscalls.size());
  std::optional<size_t> first_notify;
  for (size_t i = 0; i < spec.syscalls.size(); ++i) {
    entries.push_back(BERTH_TRY(compile_entry(spec.syscalls[i], base + ".syscalls[" + std::to_string(i) + "]")));
    if (entries.back().action == SCMP_ACT_NOTIFY && !first_notify) first_notify = i;
  }
  bool uses_notify = first_notify.has_value();
  if (uses_notify && spec.listenerPath.empty()) {
    return invalid(base + ".listenerPath: required because syscalls[" + std::to_string(*first_notify) +
                   "] uses SCMP_ACT_NOTIFY; without it no agent could answer and the container would hang");
  }

  unsigned int flags = 0;
  for (size_t i = 0; i < spec.flags.size(); ++i) {
    std::string field = base + ".flags[" + std::to_string(i) + "]";
    const std::string& name = spec.flags[i];
    auto it = std::find_if(kFlags.begin(), kFlags.end(), [&](const FlagInfo& f) { return f.name == name; });
    if (it == kFlags.end()) {
      return invalid(field + ": unknown flag " + in_quotes(name) + " (known: " + joined_names(kFlags) + ")");
    }
    if (it->bit == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !uses_notify) {
      warn(field + ": " + name + " only affects SCMP_ACT_NOTIFY rules and there are none; ignored");
      continue;
    }
    if (probe_flag(it->bit) == 0) {
      return make_error(Errc::unsupported, field + ": " + name + " is not supported by the running kernel");
    }
    flags |= it->bit;
  }
  if (uses_notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // The kernel refuses TSYNC with a listener unless a sync failure is reported as ESRCH
    // instead of a thread id, which could not be told apart from the listener fd.
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) {
      flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
      if (!kernel_accepts_flags(flags)) {
        return make_error(Errc::unsupported, base + ".flags: SECCOMP_FILTER_FLAG_TSYNC together with SCMP_ACT_NOTIFY "
                                                    "needs SECCOMP_FILTER_FLAG_TSYNC_ESRCH (Linux 5.7)");
      }
    }
  }

  FilterCtx ctx(seccomp_init(default_action));
  if (!ctx) {
    return make_error(Errc::unsupported, base + ".defaultAction: " + spec.defaultAction +
                                             " is not supported by the running kernel or libseccomp " +
                                             libseccomp_version());
  }
  // no_new_privs is process.noNewPrivileges' business; the runtime sets it itself when asked.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0) {
    return make_error(Errc::internal, base + ": libseccomp refused to leave no_new_privs alone", -rc);
  }

  for (size_t i = 0; i < spec.architectures.size(); ++i) {
    std::string field = base + ".architectures[" + std::to_string(i) + "]";
    uint32_t token = BERTH_TRY(resolve_arch(spec.architectures[i], field));
    int rc = seccomp_arch_add(ctx.get(), token);
    // The native architecture is always in the filter already.
    if (rc < 0 && rc != -EEXIST) {
      return make_error(Errc::invalid_argument, field + ": cannot add " + spec.architectures[i], -rc);
    }
  }

  for (size_t i = 0; i < spec.syscalls.size(); ++i) {
    const Entry& entry = entries[i];
    // libseccomp rejects a rule that repeats the default action, and it would change nothing.
    if (entry.action == default_action) continue;
    std::string field = base + ".syscalls[" + std::to_string(i) + "]";
    const auto& names = spec.syscalls[i].names;
    for (size_t j = 0; j < names.size(); ++j) {
      int nr = seccomp_syscall_resolve_name(names[j].c_str());
      if (nr == __NR_SCMP_ERROR) {
        warn(field + ".names[" + std::to_string(j) + "]: unknown syscall " + in_quotes(names[j]) + ", skipped");
        continue;
      }
      for (const auto& conds : entry.rules) {
        int rc = seccomp_rule_add_array(ctx.get(), entry.action, nr, static_cast<unsigned int>(conds.size()),
                                        conds.empty() ? nullptr : conds.data());
        if (rc < 0) {
          return make_error(Errc::invalid_argument, field + ": cannot add the rule for " + in_quotes(names[j]), -rc);
        }
      }
    }
  }

  SeccompProgram program;
  program.filter = BERTH_TRY(export_bpf(ctx.get()));
  if (program.filter.size() > BPF_MAXINSNS) {
    return invalid(base + ": the profile compiles to " + std::to_string(program.filter.size()) +
                   " BPF instructions; the kernel accepts at most " + std::to_string(BPF_MAXINSNS));
  }
  program.flags = flags;
  program.has_notify = uses_notify;
  program.listener_path = spec.listenerPath;
  program.listener_metadata = spec.listenerMetadata;
  return program;
}

int install_seccomp(const SeccompProgram& program) noexcept {
  size_t len = program.filter.size();
  if (len == 0 || len > BPF_MAXINSNS) return -EINVAL;
  // Returning 0 as "the listener" would hand stdin to the agent; refuse the inconsistent program.
  if (program.has_notify != ((program.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0)) return -EINVAL;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(len);
  // The kernel copies the program and never writes to it; sock_fprog just lacks the const.
  prog.filter = const_cast<sock_filter*>(program.filter.data());
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog);
  if (rc < 0) return -errno;
  if (program.has_notify) return static_cast<int>(rc);
  // Without TSYNC_ESRCH a failed thread sync is reported as the offending thread's id.
  if (rc > 0) return -ESRCH;
  return 0;
}

Status send_seccomp_listener(const SeccompProgram& program, int listener_fd, const std::string& state_json) {
  Json state = BERTH_TRY(parse_json(state_json, "container state"));
  const Json* pid = state.is_object() ? jsonf::find(state, "pid") : nullptr;
  if (!pid || !pid->is_number_integer() || pid->get<int64_t>() <= 0) {
    return invalid("container state: pid: needed for the seccomp agent, missing or not a positive integer");
  }
  return send_seccomp_listener(program, listener_fd, state_json, static_cast<pid_t>(pid->get<int64_t>()));
}

Status send_seccomp_listener(const SeccompProgram& program, int listener_fd, const std::string& state_json,
                             pid_t process_pid) {
  const std::string field = std::string(kField) + ".listenerPath";
  if (program.listener_path.empty()) return invalid(field + ": not set, nowhere to send the seccomp listener");
  if (listener_fd < 0) return invalid("seccomp listener: no listener fd to send");

  Json state = BERTH_TRY(parse_json(state_json, "container state"));
  if (!state.is_object()) return invalid("container state: expected a JSON object");
  Json message = Json::object();
  message["ociVersion"] = oci::kSpecVersion;
  message["fds"] = Json::array({"seccompFd"});
  message["pid"] = process_pid;
  if (!program.listener_metadata.empty()) message["metadata"] = program.listener_metadata;
  message["state"] = std::move(state);
  const std::string payload = message.dump();

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (program.listener_path.size() >= sizeof(addr.sun_path)) {
    return invalid(field + ": " + in_quotes(program.listener_path) + " is longer than a unix socket path may be (" +
                   std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
  }
  std::memcpy(addr.sun_path, program.listener_path.data(), program.listener_path.size());

  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error(field + ": socket");
  // A stuck agent (full backlog, never reading) must fail the start, not hang the runtime;
  // for unix sockets the send timeout also bounds connect().
  timeval timeout{10, 0};
  if (::setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0) {
    return sys_error(field + ": setsockopt SO_SNDTIMEO");
  }
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) < 0) {
    return sys_error(field + ": connect to " + in_quotes(program.listener_path));
  }

  // The spec allows several sendmsg() calls as long as the fd rides on the first one.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &listener_fd, sizeof(int));

  size_t sent = 0;
  while (sent < payload.size()) {
    ssize_t n;
    if (sent == 0) {
      n = ::sendmsg(sock.get(), &msg, MSG_NOSIGNAL);
    } else {
      n = ::send(sock.get(), payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(field + ": sending the seccomp listener to " + in_quotes(program.listener_path));
    sent += static_cast<size_t>(n);
  }
  // One state per connection: closing it (UniqueFd) tells the agent the message is complete.
  return ok();
}

nlohmann::json seccomp_features() {
  Json actions = Json::array();
  for (const auto& a : kActions) actions.push_back(a.name);
  Json operators = Json::array();
  for (const auto& o : kOperators) operators.push_back(o.name);

  std::vector<std::string> arch_list;
  for (auto name : kArchNames) {
    if (libseccomp_arch_token(name) != 0) arch_list.emplace_back(name);
  }
  std::sort(arch_list.begin(), arch_list.end());

  Json known = Json::array();
  Json supported = Json::array();
  for (const auto& f : kFlags) {
    known.push_back(f.name);
    if (probe_flag(f.bit) != 0) supported.push_back(f.name);
  }

  return Json{{"enabled", true},     {"actions", std::move(actions)}, {"operators", std::move(operators)},
              {"archs", arch_list},  {"knownFlags", std::move(known)}, {"supportedFlags", std::move(supported)}};
}

}  // namespace berth::runtime
