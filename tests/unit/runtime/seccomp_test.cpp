// Compiles OCI seccomp profiles and loads them into forked children to see what the kernel
// actually does with them. Loading a filter needs no privileges once no_new_privs is set.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/unique_fd.h"
#include "seccomp_filter.h"

namespace berth::runtime {
namespace {

using oci::LinuxSeccomp;
using oci::LinuxSeccompArg;
using oci::LinuxSyscall;

constexpr unsigned kChildAlarmSeconds = 5;
constexpr auto kChildDeadline = std::chrono::seconds(10);
constexpr int kPollMs = 5000;

LinuxSyscall rule(std::vector<std::string> names, std::string action, std::optional<uint32_t> errno_ret = {},
                  std::vector<LinuxSeccompArg> args = {}) {
  LinuxSyscall sc;
  sc.names = std::move(names);
  sc.action = std::move(action);
  sc.errnoRet = errno_ret;
  sc.args = std::move(args);
  return sc;
}

LinuxSeccompArg arg(uint32_t index, std::string op, uint64_t value, uint64_t value_two = 0) {
  LinuxSeccompArg a;
  a.index = index;
  a.op = std::move(op);
  a.value = value;
  a.valueTwo = value_two;
  return a;
}

LinuxSeccomp allow_by_default(std::vector<LinuxSyscall> syscalls) {
  LinuxSeccomp spec;
  spec.defaultAction = "SCMP_ACT_ALLOW";
  spec.syscalls = std::move(syscalls);
  return spec;
}

// What a child reports over its pipe. It is filled in after the filter is loaded, so the
// child may only use raw syscalls the filter lets through (write and exit_group at least).
struct Report {
  enum Stage : long { kNone = 0, kInstallFailed = 1, kDone = 2 };
  long stage = kNone;
  std::array<long, 8> values{};
};

// Negative errno of the last failed call, or the call's result: one number the parent can
// compare against either outcome.
long result_or_errno(long rc) { return rc < 0 ? -errno : rc; }

struct Outcome {
  int status = 0;
  bool timed_out = false;
  Report report;

  bool exited_cleanly() const { return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  bool killed_by(int sig) const { return !timed_out && WIFSIGNALED(status) && WTERMSIG(status) == sig; }
  std::string describe() const {
    std::string s;
    if (timed_out) return "timed out";
    if (WIFEXITED(status)) s = "exited " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) s = std::string("killed by ") + strsignal(WTERMSIG(status));
    s += ", stage " + std::to_string(report.stage) + ", values";
    for (long v : report.values) s += " " + std::to_string(v);
    return s;
  }
};

enum class Privilege { kNoNewPrivs, kDropCapsWithoutNoNewPrivs };

// A forked child that loads `program` and then runs `body`. When the program has a notify
// listener, the child passes it to the parent over a socketpair before running body, the way
// the runtime's init hands it to the runtime.
class FilteredChild {
 public:
  FilteredChild(const SeccompProgram& program, std::function<void(std::array<long, 8>&)> body,
                Privilege privilege = Privilege::kNoNewPrivs) {
    int report[2];
    int channel[2];
    if (::pipe2(report, O_CLOEXEC) != 0) std::abort();
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0) std::abort();
    report_.reset(report[0]);
    channel_.reset(channel[0]);
    // The child's ends close in the parent when these go out of scope.
    UniqueFd report_w(report[1]);
    UniqueFd channel_c(channel[1]);
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) run_child(program, body, privilege, report_w.get(), channel_c.get());
  }

  FilteredChild(const FilteredChild&) = delete;
  FilteredChild& operator=(const FilteredChild&) = delete;

  ~FilteredChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }

  // The listener fd the child sent, or an invalid fd after kPollMs.
  UniqueFd receive_listener() {
    pollfd p{channel_.get(), POLLIN, 0};
    if (::poll(&p, 1, kPollMs) != 1) return {};
    char byte;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (::recvmsg(channel_.get(), &msg, MSG_CMSG_CLOEXEC) != 1) return {};
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return {};
    int fd;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
    return UniqueFd(fd);
  }

  Outcome wait() {
    Outcome out;
    auto deadline = std::chrono::steady_clock::now() + kChildDeadline;
    while (true) {
      pid_t r = ::waitpid(pid_, &out.status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        out.timed_out = true;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &out.status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    // The child is gone, so the pipe holds the whole report or nothing.
    if (::read(report_.get(), &out.report, sizeof(out.report)) != static_cast<ssize_t>(sizeof(out.report))) {
      out.report = Report{};
    }
    return out;
  }

 private:
  [[noreturn]] static void run_child(const SeccompProgram& program,
                                     const std::function<void(std::array<long, 8>&)>& body, Privilege privilege,
                                     int report_fd, int channel_fd) {
    ::alarm(kChildAlarmSeconds);
    // SIGSYS from the kill actions would otherwise leave core dumps behind.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    if (privilege == Privilege::kNoNewPrivs) {
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(90);
    } else {
      __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2] = {};
      if (::syscall(SYS_capset, &header, data) != 0) ::_exit(91);
    }
    Report report;
    int rc = install_seccomp(program);
    if (rc < 0) {
      report.stage = Report::kInstallFailed;
      report.values[0] = rc;
    } else {
      if (program.has_notify) {
        char byte = 'L';
        iovec iov{&byte, 1};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &rc, sizeof(rc));
        if (::sendmsg(channel_fd, &msg, 0) != 1) ::_exit(92);
      }
      body(report.values);
      report.stage = Report::kDone;
    }
    if (::write(report_fd, &report, sizeof(report)) != static_cast<ssize_t>(sizeof(report))) ::_exit(93);
    ::_exit(0);
  }

  pid_t pid_ = -1;
  UniqueFd report_;
  UniqueFd channel_;
};

Outcome run_filtered(const SeccompProgram& program, std::function<void(std::array<long, 8>&)> body,
                     Privilege privilege = Privilege::kNoNewPrivs) {
  FilteredChild child(program, std::move(body), privilege);
  return child.wait();
}

SeccompProgram compile_or_fail(const LinuxSeccomp& spec, std::vector<std::string>* warnings = nullptr) {
  auto program = compile_seccomp(spec, warnings);
  EXPECT_TRUE(program) << program.error().what();
  return program ? std::move(*program) : SeccompProgram{};
}

bool supported_flag(const std::string& name) {
  auto features = seccomp_features();
  const auto& flags = features["supportedFlags"];
  return std::find(flags.begin(), flags.end(), name) != flags.end();
}

#if defined(__x86_64__)
constexpr bool kNativeIsX86_64 = true;
#else
constexpr bool kNativeIsX86_64 = false;
#endif

constexpr long kDistinctErrno = 200;  // no syscall returns it by itself

long getpriority_raw(long which, long who) { return result_or_errno(::syscall(SYS_getpriority, which, who)); }

// ---- compile-time checks -------------------------------------------------------------------

TEST(SeccompCompile, UnknownActionNamesTheField) {
  auto spec = allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO"), rule({"mkdirat"}, "SCMP_ACT_EXPLODE")});
  auto program = compile_seccomp(spec, nullptr);
  ASSERT_FALSE(program);
  EXPECT_EQ(program.error().code, Errc::invalid_argument);
  EXPECT_NE(program.error().what().find("linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_EXPLODE\""),
            std::string::npos)
      << program.error().what();
}

struct FieldErrorCase {
  const char* label;
  std::function<void(LinuxSeccomp&)> mutate;
  const char* expected;
};

TEST(SeccompCompile, BadFieldsAreErrorsNamingTheField) {
  const std::vector<FieldErrorCase> cases = {
      {"empty default", [](LinuxSeccomp& s) { s.defaultAction = ""; }, "linux.seccomp.defaultAction: unknown action"},
      {"notify default", [](LinuxSeccomp& s) { s.defaultAction = "SCMP_ACT_NOTIFY"; },
       "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY"},
      {"errno on allow default", [](LinuxSeccomp& s) { s.defaultErrnoRet = 1; },
       "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW does not return an errno"},
      {"errno on kill", [](LinuxSeccomp& s) { s.syscalls = {rule({"getcwd"}, "SCMP_ACT_KILL", 5)}; },
       "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_KILL does not return an errno"},
      {"errno too wide", [](LinuxSeccomp& s) { s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO", 70000)}; },
       "linux.seccomp.syscalls[0].errnoRet: 70000"},
      {"unknown op",
       [](LinuxSeccomp& s) {
         s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO", {}, {arg(0, "SCMP_CMP_EQ", 1), arg(1, "SCMP_CMP_ALMOST", 2)})};
       },
       "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_ALMOST\""},
      {"arg index", [](LinuxSeccomp& s) { s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO", {}, {arg(6, "SCMP_CMP_EQ", 1)})}; },
       "linux.seccomp.syscalls[0].args[0].index: 6"},
      {"no names", [](LinuxSeccomp& s) { s.syscalls = {rule({}, "SCMP_ACT_ERRNO")}; },
       "linux.seccomp.syscalls[0].names"},
      {"unknown arch", [](LinuxSeccomp& s) { s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"}; },
       "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\""},
      {"unknown flag", [](LinuxSeccomp& s) { s.flags = {"SECCOMP_FILTER_FLAG_TURBO"}; },
       "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_TURBO\""},
      {"metadata without path", [](LinuxSeccomp& s) { s.listenerMetadata = "x"; },
       "linux.seccomp.listenerMetadata"},
      {"notify without path", [](LinuxSeccomp& s) { s.syscalls = {rule({"getcwd"}, "SCMP_ACT_NOTIFY")}; },
       "linux.seccomp.listenerPath: required"},
  };
  for (const auto& c : cases) {
    LinuxSeccomp spec = allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO")});
    c.mutate(spec);
    auto program = compile_seccomp(spec, nullptr);
    ASSERT_FALSE(program) << c.label;
    EXPECT_NE(program.error().what().find(c.expected), std::string::npos)
        << c.label << ": " << program.error().what();
  }
}

TEST(SeccompCompile, UnknownSyscallIsAWarningNotAnError) {
  std::vector<std::string> warnings;
  auto spec = allow_by_default({rule({"berth_no_such_syscall", "getcwd"}, "SCMP_ACT_ERRNO")});
  auto program = compile_seccomp(spec, &warnings);
  ASSERT_TRUE(program) << program.error().what();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("linux.seccomp.syscalls[0].names[0]"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("berth_no_such_syscall"), std::string::npos) << warnings[0];
  // Warnings are optional for the caller.
  EXPECT_TRUE(compile_seccomp(spec, nullptr));
}

TEST(SeccompCompile, RuleRepeatingTheDefaultActionIsDropped) {
  LinuxSeccomp spec;
  spec.defaultAction = "SCMP_ACT_ERRNO";
  spec.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO"), rule({"mkdirat"}, "SCMP_ACT_ERRNO", EPERM),
                   rule({"write", "exit_group"}, "SCMP_ACT_ALLOW")};
  auto program = compile_seccomp(spec, nullptr);
  ASSERT_TRUE(program) << program.error().what();
  // A different errno is a different action and must stay.
  spec.syscalls.push_back(rule({"getcwd"}, "SCMP_ACT_ERRNO", EXDEV));
  auto with_rule = compile_seccomp(spec, nullptr);
  ASSERT_TRUE(with_rule) << with_rule.error().what();
  EXPECT_GT(with_rule->filter.size(), program->filter.size());
}

TEST(SeccompCompile, NotifySetsTheListenerFlagAndCopiesListenerFields) {
  auto spec = allow_by_default({rule({"getcwd"}, "SCMP_ACT_NOTIFY")});
  spec.listenerPath = "/run/agent.sock";
  spec.listenerMetadata = "meta";
  auto program = compile_or_fail(spec);
  EXPECT_TRUE(program.has_notify);
  EXPECT_TRUE(program.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  EXPECT_EQ(program.listener_path, "/run/agent.sock");
  EXPECT_EQ(program.listener_metadata, "meta");

  auto plain = compile_or_fail(allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO")}));
  EXPECT_FALSE(plain.has_notify);
  EXPECT_EQ(plain.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER, 0u);
}

TEST(SeccompCompile, FlagsBecomeSeccompBits) {
  const std::vector<std::pair<std::string, unsigned>> flags = {
      {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
      {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
      {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
  };
  for (const auto& [name, bit] : flags) {
    auto spec = allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO")});
    spec.flags = {name};
    auto program = compile_seccomp(spec, nullptr);
    if (supported_flag(name)) {
      ASSERT_TRUE(program) << name << ": " << program.error().what();
      EXPECT_EQ(program->flags, bit) << name;
    } else {
      ASSERT_FALSE(program) << name;
      EXPECT_NE(program.error().what().find(name), std::string::npos) << program.error().what();
    }
  }
}

TEST(SeccompCompile, WaitKillableRecvOnlyWithNotify) {
  auto spec = allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO")});
  spec.flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  std::vector<std::string> warnings;
  auto program = compile_seccomp(spec, &warnings);
  ASSERT_TRUE(program) << program.error().what();
  EXPECT_EQ(program->flags, 0u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("linux.seccomp.flags[0]"), std::string::npos) << warnings[0];

  spec.syscalls = {rule({"getcwd"}, "SCMP_ACT_NOTIFY")};
  spec.listenerPath = "/run/agent.sock";
  auto notify = compile_seccomp(spec, nullptr);
  if (!supported_flag("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")) {
    ASSERT_FALSE(notify);
    GTEST_SKIP() << "the running kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19)";
  }
  ASSERT_TRUE(notify) << notify.error().what();
  EXPECT_EQ(notify->flags, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

TEST(SeccompCompile, TsyncWithNotifyAsksForEsrch) {
  if (!supported_flag("SECCOMP_FILTER_FLAG_TSYNC")) GTEST_SKIP() << "kernel lacks SECCOMP_FILTER_FLAG_TSYNC";
  auto spec = allow_by_default({rule({"getcwd"}, "SCMP_ACT_NOTIFY")});
  spec.listenerPath = "/run/agent.sock";
  spec.flags = {"SECCOMP_FILTER_FLAG_TSYNC"};
  auto program = compile_seccomp(spec, nullptr);
  ASSERT_TRUE(program) << program.error().what();
  // 1 << 4 is SECCOMP_FILTER_FLAG_TSYNC_ESRCH, which older headers do not name.
  EXPECT_EQ(program->flags, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_NEW_LISTENER | (1u << 4));
}

TEST(SeccompCompile, ExtraArchitecturesGrowTheFilter) {
  // Pick a foreign architecture whatever this host is.
  const char* foreign = kNativeIsX86_64 ? "SCMP_ARCH_AARCH64" : "SCMP_ARCH_X86_64";
  auto spec = allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO")});
  auto native = compile_or_fail(spec);
  spec.architectures = {foreign};
  auto both = compile_or_fail(spec);
  EXPECT_GT(both.filter.size(), native.filter.size());
}

TEST(SeccompCompile, ArchitectureUnknownToLibseccompIsAnError) {
  auto features = seccomp_features();
  const auto& archs = features["archs"];
  auto spec = allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO")});
  spec.architectures = {"SCMP_ARCH_LOONGARCH64"};
  auto program = compile_seccomp(spec, nullptr);
  if (std::find(archs.begin(), archs.end(), "SCMP_ARCH_LOONGARCH64") != archs.end()) {
    EXPECT_TRUE(program) << program.error().what();
  } else {
    ASSERT_FALSE(program);
    EXPECT_NE(program.error().what().find("linux.seccomp.architectures[0]: SCMP_ARCH_LOONGARCH64"), std::string::npos)
        << program.error().what();
  }
}

TEST(SeccompFeatures, ListsWhatTheRuntimeRecognizes) {
  auto f = seccomp_features();
  EXPECT_EQ(f["enabled"], true);
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                             "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}) {
    EXPECT_NE(std::find(f["actions"].begin(), f["actions"].end(), action), f["actions"].end()) << action;
  }
  EXPECT_EQ(f["actions"].size(), 9u);
  EXPECT_EQ(f["operators"].size(), 7u);
  EXPECT_NE(std::find(f["archs"].begin(), f["archs"].end(), "SCMP_ARCH_X86_64"), f["archs"].end());
  EXPECT_NE(std::find(f["archs"].begin(), f["archs"].end(), "SCMP_ARCH_AARCH64"), f["archs"].end());
  EXPECT_EQ(f["knownFlags"].size(), 4u);
  for (const auto& flag : f["supportedFlags"]) {
    EXPECT_NE(std::find(f["knownFlags"].begin(), f["knownFlags"].end(), flag), f["knownFlags"].end()) << flag;
  }
  // Every kernel berth runs on (>= 4.17) has these.
  EXPECT_TRUE(supported_flag("SECCOMP_FILTER_FLAG_TSYNC"));
  EXPECT_TRUE(supported_flag("SECCOMP_FILTER_FLAG_LOG"));
}

// ---- behaviour in a real process -----------------------------------------------------------

TEST(SeccompInstall, ErrnoReturnsTheConfiguredErrno) {
  auto program = compile_or_fail(allow_by_default({
      rule({"mkdirat"}, "SCMP_ACT_ERRNO", EXDEV),
      rule({"getcwd"}, "SCMP_ACT_ERRNO"),
  }));
  auto out = run_filtered(program, [](std::array<long, 8>& v) {
    v[0] = result_or_errno(::syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-berth-dir/x", 0700));
    char buf[256];
    v[1] = result_or_errno(::syscall(SYS_getcwd, buf, sizeof(buf)));
    v[2] = result_or_errno(::syscall(SYS_getppid));
  });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  ASSERT_EQ(out.report.stage, Report::kDone) << out.describe();
  EXPECT_EQ(out.report.values[0], -EXDEV);  // unfiltered it would be ENOENT
  EXPECT_EQ(out.report.values[1], -EPERM);  // the spec's default errnoRet
  EXPECT_EQ(out.report.values[2], ::getpid());
}

TEST(SeccompInstall, DefaultErrnoWithAnAllowList) {
  LinuxSeccomp spec;
  spec.defaultAction = "SCMP_ACT_ERRNO";
  spec.defaultErrnoRet = kDistinctErrno;
  spec.syscalls = {rule({"write", "exit_group", "getpid"}, "SCMP_ACT_ALLOW")};
  auto program = compile_or_fail(spec);
  auto out = run_filtered(program, [](std::array<long, 8>& v) {
    v[0] = result_or_errno(::syscall(SYS_getpid));
    v[1] = result_or_errno(::syscall(SYS_getppid));
    v[2] = result_or_errno(::syscall(SYS_getuid));
  });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  ASSERT_EQ(out.report.stage, Report::kDone) << out.describe();
  EXPECT_GT(out.report.values[0], 0);
  EXPECT_EQ(out.report.values[1], -kDistinctErrno);
  EXPECT_EQ(out.report.values[2], -kDistinctErrno);
}

TEST(SeccompInstall, DefaultAllowLetsUnlistedSyscallsThrough) {
  auto program = compile_or_fail(allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO", kDistinctErrno)}));
  auto out = run_filtered(program, [](std::array<long, 8>& v) {
    v[0] = result_or_errno(::syscall(SYS_getppid));
    v[1] = result_or_errno(::syscall(SYS_getuid));
  });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_EQ(out.report.values[0], ::getpid());
  EXPECT_EQ(out.report.values[1], static_cast<long>(::getuid()));
}

TEST(SeccompInstall, ArgumentFilterAllowsOnlyTheMatchingValue) {
  // The personality query value, as Docker's profile allows it.
  LinuxSeccomp spec;
  spec.defaultAction = "SCMP_ACT_ERRNO";
  spec.syscalls = {rule({"write", "exit_group"}, "SCMP_ACT_ALLOW"),
                   rule({"personality"}, "SCMP_ACT_ALLOW", {}, {arg(0, "SCMP_CMP_EQ", 0xffffffff)})};
  auto program = compile_or_fail(spec);
  auto out = run_filtered(program, [](std::array<long, 8>& v) {
    v[0] = result_or_errno(::syscall(SYS_personality, 0xffffffffUL));
    v[1] = result_or_errno(::syscall(SYS_personality, static_cast<unsigned long>(PER_LINUX)));
    v[2] = result_or_errno(::syscall(SYS_personality, static_cast<unsigned long>(PER_LINUX32)));
  });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_GE(out.report.values[0], 0);
  EXPECT_EQ(out.report.values[1], -EPERM);
  EXPECT_EQ(out.report.values[2], -EPERM);
}

TEST(SeccompInstall, EveryOperatorComparesTheFull64BitArgument) {
  struct Case {
    const char* op;
    uint64_t value;
    uint64_t value_two;
    std::function<bool(uint64_t)> matches;
  };
  const std::vector<Case> cases = {
      {"SCMP_CMP_EQ", 10, 0, [](uint64_t x) { return x == 10; }},
      {"SCMP_CMP_NE", 10, 0, [](uint64_t x) { return x != 10; }},
      {"SCMP_CMP_LT", 10, 0, [](uint64_t x) { return x < 10; }},
      {"SCMP_CMP_LE", 10, 0, [](uint64_t x) { return x <= 10; }},
      {"SCMP_CMP_GE", 10, 0, [](uint64_t x) { return x >= 10; }},
      {"SCMP_CMP_GT", 10, 0, [](uint64_t x) { return x > 10; }},
      // value is the mask, valueTwo what the masked argument must equal.
      {"SCMP_CMP_MASKED_EQ", 0xff, 10, [](uint64_t x) { return (x & 0xff) == 10; }},
  };
  // who = 0 is the caller itself; the others name processes that surely do not exist, which
  // the kernel answers with ESRCH, never with kDistinctErrno.
  const std::array<uint64_t, 5> probes = {0, 9, 10, 11, 0x10000000aULL};
  for (const auto& c : cases) {
    auto program = compile_or_fail(allow_by_default(
        {rule({"getpriority"}, "SCMP_ACT_ERRNO", kDistinctErrno, {arg(1, c.op, c.value, c.value_two)})}));
    auto out = run_filtered(program, [&probes](std::array<long, 8>& v) {
      for (size_t i = 0; i < probes.size(); ++i) v[i] = getpriority_raw(PRIO_PROCESS, static_cast<long>(probes[i]));
    });
    ASSERT_TRUE(out.exited_cleanly()) << c.op << ": " << out.describe();
    ASSERT_EQ(out.report.stage, Report::kDone) << c.op << ": " << out.describe();
    for (size_t i = 0; i < probes.size(); ++i) {
      EXPECT_EQ(out.report.values[i] == -kDistinctErrno, c.matches(probes[i]))
          << c.op << " with who=" << probes[i] << " returned " << out.report.values[i];
    }
  }
}

TEST(SeccompInstall, SameIndexIsOrDifferentIndexesAreAnd) {
  // (which == 0 || which == 1) && (who == 777 || who == 778)
  auto program = compile_or_fail(allow_by_default({rule({"getpriority"}, "SCMP_ACT_ERRNO", kDistinctErrno,
                                                         {arg(0, "SCMP_CMP_EQ", 0), arg(1, "SCMP_CMP_EQ", 777),
                                                          arg(0, "SCMP_CMP_EQ", 1), arg(1, "SCMP_CMP_EQ", 778)})}));
  auto out = run_filtered(program, [](std::array<long, 8>& v) {
    v[0] = getpriority_raw(0, 777);
    v[1] = getpriority_raw(1, 778);
    v[2] = getpriority_raw(0, 778);
    v[3] = getpriority_raw(0, 0);    // matches which but not who
    v[4] = getpriority_raw(2, 777);  // matches who but not which
    v[5] = getpriority_raw(1, 5);
  });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_EQ(out.report.values[0], -kDistinctErrno);
  EXPECT_EQ(out.report.values[1], -kDistinctErrno);
  EXPECT_EQ(out.report.values[2], -kDistinctErrno);
  EXPECT_NE(out.report.values[3], -kDistinctErrno);
  EXPECT_NE(out.report.values[4], -kDistinctErrno);
  EXPECT_NE(out.report.values[5], -kDistinctErrno);
}

TEST(SeccompInstall, KillActionsKillWithSigsys) {
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"}) {
    auto program = compile_or_fail(allow_by_default({rule({"getppid"}, action)}));
    auto out = run_filtered(program, [](std::array<long, 8>& v) { v[0] = result_or_errno(::syscall(SYS_getppid)); });
    EXPECT_TRUE(out.killed_by(SIGSYS)) << action << ": " << out.describe();
    EXPECT_EQ(out.report.stage, Report::kNone) << action;
  }
}

TEST(SeccompInstall, LogDoesNotKill) {
  auto program = compile_or_fail(allow_by_default({rule({"getppid"}, "SCMP_ACT_LOG")}));
  auto out = run_filtered(program, [](std::array<long, 8>& v) { v[0] = result_or_errno(::syscall(SYS_getppid)); });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_EQ(out.report.values[0], ::getpid());
}

TEST(SeccompInstall, TraceWithoutTracerFailsWithEnosys) {
  auto program = compile_or_fail(allow_by_default({rule({"getppid"}, "SCMP_ACT_TRACE", 7)}));
  auto out = run_filtered(program, [](std::array<long, 8>& v) { v[0] = result_or_errno(::syscall(SYS_getppid)); });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_EQ(out.report.values[0], -ENOSYS);
}

TEST(SeccompInstall, UnknownNamesAreSkippedAndTheRestApplies) {
  std::vector<std::string> warnings;
  auto program = compile_or_fail(
      allow_by_default({rule({"berth_no_such_syscall", "getppid"}, "SCMP_ACT_ERRNO", kDistinctErrno)}), &warnings);
  EXPECT_EQ(warnings.size(), 1u);
  auto out = run_filtered(program, [](std::array<long, 8>& v) { v[0] = result_or_errno(::syscall(SYS_getppid)); });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_EQ(out.report.values[0], -kDistinctErrno);
}

TEST(SeccompInstall, ForeignArchitecturesKeepTheNativeRules) {
  const char* foreign = kNativeIsX86_64 ? "SCMP_ARCH_X86" : "SCMP_ARCH_X86_64";
  auto spec = allow_by_default({rule({"getppid"}, "SCMP_ACT_ERRNO", kDistinctErrno)});
  spec.architectures = {foreign, "SCMP_ARCH_AARCH64"};
  auto program = compile_or_fail(spec);
  auto out = run_filtered(program, [](std::array<long, 8>& v) { v[0] = result_or_errno(::syscall(SYS_getppid)); });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_EQ(out.report.values[0], -kDistinctErrno);
}

TEST(SeccompInstall, SupportedFlagsLoad) {
  auto spec = allow_by_default({rule({"getppid"}, "SCMP_ACT_ERRNO", kDistinctErrno)});
  const auto features = seccomp_features();
  for (const auto& flag : features["supportedFlags"]) {
    if (flag != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") spec.flags.push_back(flag.get<std::string>());
  }
  ASSERT_FALSE(spec.flags.empty());
  auto program = compile_or_fail(spec);
  auto out = run_filtered(program, [](std::array<long, 8>& v) { v[0] = result_or_errno(::syscall(SYS_getppid)); });
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  ASSERT_EQ(out.report.stage, Report::kDone) << out.describe();
  EXPECT_EQ(out.report.values[0], -kDistinctErrno);
}

TEST(SeccompInstall, WithoutNoNewPrivsItNeedsCapSysAdmin) {
  auto program = compile_or_fail(allow_by_default({rule({"getppid"}, "SCMP_ACT_ERRNO")}));
  auto out = run_filtered(program, [](std::array<long, 8>&) {}, Privilege::kDropCapsWithoutNoNewPrivs);
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  ASSERT_EQ(out.report.stage, Report::kInstallFailed) << out.describe();
  EXPECT_EQ(out.report.values[0], -EACCES);
}

TEST(SeccompInstall, RejectsAnEmptyOrInconsistentProgram) {
  EXPECT_EQ(install_seccomp(SeccompProgram{}), -EINVAL);
  auto program = compile_or_fail(allow_by_default({rule({"getppid"}, "SCMP_ACT_ERRNO")}));
  program.has_notify = true;  // but no NEW_LISTENER flag
  EXPECT_EQ(install_seccomp(program), -EINVAL);
}

// ---- notify ---------------------------------------------------------------------------------

class SeccompNotify : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-seccomp-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_path_ = dir_ + "/agent.sock";
  }
  void TearDown() override {
    ::unlink(socket_path_.c_str());
    ::rmdir(dir_.c_str());
  }

  UniqueFd listen_agent_socket() {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof(addr.sun_path) - 1);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return {};
    if (::listen(fd.get(), 4) != 0) return {};
    return fd;
  }

  std::string dir_;
  std::string socket_path_;
};

// One pending notification answered with `val` or, when error != 0, with that error.
::testing::AssertionResult answer_one(int listener, long expected_nr, pid_t expected_pid, uint64_t expected_arg1,
                                      int64_t val, int error) {
  seccomp_notif_sizes sizes{};
  if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    return ::testing::AssertionFailure() << "SECCOMP_GET_NOTIF_SIZES: " << std::strerror(errno);
  }
  // The kernel's structs may be larger than this header's; it insists the buffer is zeroed.
  std::vector<char> req_buf(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
  std::vector<char> resp_buf(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, kPollMs) != 1) return ::testing::AssertionFailure() << "no notification within " << kPollMs << "ms";
  auto* req = reinterpret_cast<seccomp_notif*>(req_buf.data());
  if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
    return ::testing::AssertionFailure() << "SECCOMP_IOCTL_NOTIF_RECV: " << std::strerror(errno);
  }
  if (req->data.nr != expected_nr) return ::testing::AssertionFailure() << "syscall nr " << req->data.nr;
  if (static_cast<pid_t>(req->pid) != expected_pid) return ::testing::AssertionFailure() << "pid " << req->pid;
  if (req->data.args[1] != expected_arg1) return ::testing::AssertionFailure() << "arg1 " << req->data.args[1];
  auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf.data());
  resp->id = req->id;
  resp->val = val;
  resp->error = error ? -error : 0;
  resp->flags = 0;
  if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) != 0) {
    return ::testing::AssertionFailure() << "SECCOMP_IOCTL_NOTIF_SEND: " << std::strerror(errno);
  }
  return ::testing::AssertionSuccess();
}

LinuxSeccomp notify_spec(const std::string& listener_path) {
  auto spec = allow_by_default({rule({"getpriority"}, "SCMP_ACT_NOTIFY")});
  spec.listenerPath = listener_path;
  spec.listenerMetadata = "MKNOD=/dev/null";
  return spec;
}

void two_notified_calls(std::array<long, 8>& v) {
  v[0] = getpriority_raw(PRIO_PROCESS, 31337);
  v[1] = getpriority_raw(PRIO_PROCESS, 31338);
}

TEST_F(SeccompNotify, SupervisorAnswersTheNotifiedSyscall) {
  auto program = compile_or_fail(notify_spec(socket_path_));
  ASSERT_TRUE(program.has_notify);
  FilteredChild child(program, two_notified_calls);
  UniqueFd listener = child.receive_listener();
  ASSERT_TRUE(listener) << "the child sent no listener fd";
  EXPECT_TRUE(answer_one(listener.get(), SYS_getpriority, child.pid(), 31337, 7, 0));
  EXPECT_TRUE(answer_one(listener.get(), SYS_getpriority, child.pid(), 31338, 0, EXDEV));
  auto out = child.wait();
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_EQ(out.report.values[0], 7);
  EXPECT_EQ(out.report.values[1], -EXDEV);
}

TEST_F(SeccompNotify, SendListenerDeliversTheFdAndTheProcessState) {
  UniqueFd agent = listen_agent_socket();
  ASSERT_TRUE(agent) << std::strerror(errno);
  auto program = compile_or_fail(notify_spec(socket_path_));
  FilteredChild child(program, two_notified_calls);
  UniqueFd listener = child.receive_listener();
  ASSERT_TRUE(listener) << "the child sent no listener fd";

  Json state = {{"ociVersion", oci::kSpecVersion}, {"id", "c1"},          {"status", "creating"},
                {"pid", child.pid()},              {"bundle", "/b/c1"}, {"annotations", {{"k", "v"}}}};
  auto sent = send_seccomp_listener(program, listener.get(), state.dump());
  ASSERT_TRUE(sent) << sent.error().what();
  listener.reset();  // from here on only the delivered copy can answer

  // The message is small enough to sit in the socket buffer, so accepting after the send works.
  pollfd p{agent.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, kPollMs), 1);
  UniqueFd conn(::accept4(agent.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn) << std::strerror(errno);
  std::string payload;
  std::vector<int> fds;
  while (true) {
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
    iovec iov{buf, sizeof(buf)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
    ASSERT_GE(n, 0) << std::strerror(errno);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.push_back(fd);
      }
    }
    if (n == 0) break;  // the runtime closes after one state
    payload.append(buf, static_cast<size_t>(n));
  }
  ASSERT_EQ(fds.size(), 1u);
  UniqueFd delivered(fds[0]);

  auto doc = parse_json(payload);
  ASSERT_TRUE(doc) << doc.error().what() << "\n" << payload;
  EXPECT_EQ((*doc)["ociVersion"], oci::kSpecVersion);
  EXPECT_EQ((*doc)["fds"], Json::array({"seccompFd"}));
  EXPECT_EQ((*doc)["pid"], child.pid());
  EXPECT_EQ((*doc)["metadata"], "MKNOD=/dev/null");
  EXPECT_EQ((*doc)["state"], state);

  EXPECT_TRUE(answer_one(delivered.get(), SYS_getpriority, child.pid(), 31337, 11, 0));
  EXPECT_TRUE(answer_one(delivered.get(), SYS_getpriority, child.pid(), 31338, 12, 0));
  auto out = child.wait();
  ASSERT_TRUE(out.exited_cleanly()) << out.describe();
  EXPECT_EQ(out.report.values[0], 11);
  EXPECT_EQ(out.report.values[1], 12);
}

TEST_F(SeccompNotify, SendListenerErrors) {
  auto program = compile_or_fail(notify_spec(socket_path_));
  const std::string state = R"({"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b"})";
  UniqueFd some_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  // Nobody listens yet.
  auto missing = send_seccomp_listener(program, some_fd.get(), state);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().what().find("linux.seccomp.listenerPath"), std::string::npos) << missing.error().what();
  EXPECT_NE(missing.error().what().find(socket_path_), std::string::npos) << missing.error().what();

  auto no_pid = send_seccomp_listener(program, some_fd.get(), R"({"id":"c1"})");
  ASSERT_FALSE(no_pid);
  EXPECT_NE(no_pid.error().what().find("pid"), std::string::npos) << no_pid.error().what();

  EXPECT_FALSE(send_seccomp_listener(program, some_fd.get(), "{not json"));

  SeccompProgram unset = program;
  unset.listener_path.clear();
  auto no_path = send_seccomp_listener(unset, some_fd.get(), state);
  ASSERT_FALSE(no_path);
  EXPECT_NE(no_path.error().what().find("linux.seccomp.listenerPath"), std::string::npos);

  SeccompProgram too_long = program;
  too_long.listener_path = "/" + std::string(200, 'x');
  auto long_path = send_seccomp_listener(too_long, some_fd.get(), state);
  ASSERT_FALSE(long_path);
  EXPECT_EQ(long_path.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace berth::runtime
