// Known runtime escapes, reproduced: each attack must fail.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "fixture.h"

namespace berth::test {
namespace {

using SecurityTest = RuntimeTest;

// Leaky-vessels style: an fd the runtime held must not be visible in the container.
TEST_F(SecurityTest, NoRuntimeFdReachesTheContainer) {
  // Hand the runtime an extra open fd (a host directory) as fd 7.
  std::string script = "exec 7<" + dir_ + "; exec " BERTH_RUNTIME_BIN " --root " + state_root_ +
                       " run --bundle " + bundle_ + " " + unique_id("fds");
  write_spec(base_spec({"sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"}));
  auto r = sh(script);
  ASSERT_EQ(r.status, 0) << r.err;
  // 0 1 2 for the shell, 3 for ls's own directory handle; nothing else.
  EXPECT_EQ(r.out, "0 1 2 3 ") << r.out;
}

TEST_F(SecurityTest, PreserveFdsPassesExactlyThoseFds) {
  std::string script = "exec 3<" + bundle_ + "/config.json 4<" + dir_ + "; exec " BERTH_RUNTIME_BIN " --root " +
                       state_root_ + " run --preserve-fds 1 --bundle " + bundle_ + " " + unique_id("pfds");
  write_spec(base_spec({"sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"}));
  auto r = sh(script);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0 1 2 3 4 ") << "fd 3 passed, 4 is ls's own, the runtime's fd 4 was closed: " << r.out;
}

// A cwd that resolves outside the root is refused, and a relative trick stays inside.
TEST_F(SecurityTest, CwdStaysInsideTheRoot) {
  auto spec = base_spec({"pwd"});
  spec["process"]["cwd"] = "/../../../../tmp";
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/tmp\n");
}

// A symlink in the image pointing at a host path must not redirect a mount onto the host.
TEST_F(SecurityTest, MountTargetSymlinkCannotEscape) {
  std::string rootfs = dir_ + "/evilroot";
  ASSERT_TRUE(make_busybox_rootfs(rootfs));
  std::string host_target = dir_ + "/host-target";
  ::mkdir(host_target.c_str(), 0755);
  write_file(host_target + "/precious", "untouched\n");
  // /evil -> <host dir> (absolute), /rel -> ../../../../<host dir> (relative)
  ASSERT_EQ(::symlink(host_target.c_str(), (rootfs + "/evil").c_str()), 0);
  ASSERT_EQ(::symlink(("../../../../../../.." + host_target).c_str(), (rootfs + "/rel").c_str()), 0);
  auto spec = base_spec({"sh", "-c", "ls /evil /rel; echo ok"});
  spec["root"]["path"] = rootfs;
  spec["root"]["readonly"] = false;
  spec["mounts"].push_back({{"destination", "/evil"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  spec["mounts"].push_back({{"destination", "/rel/sub"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  auto r = run_spec(spec);
  EXPECT_EQ(r.status, 0) << r.err;
  // The host directory still has its file and no mount landed on it.
  EXPECT_EQ(read_file(host_target + "/precious"), "untouched\n");
  EXPECT_FALSE(path_exists(host_target + "/sub"));
  auto mounts = read_file("/proc/self/mountinfo");
  EXPECT_EQ(mounts.find(host_target), std::string::npos) << "a mount reached the host path";
}

// CVE-2019-5736: the runtime binary cannot be reached and overwritten through /proc/<pid>/exe.
TEST_F(SecurityTest, RuntimeRunsFromASealedCopy) {
  write_spec(base_spec({"sleep", "5"}));
  std::string id = unique_id("exe");
  // A foreground run stays alive as the container's parent: look at its exe.
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl(BERTH_RUNTIME_BIN, BERTH_RUNTIME_BIN, "--root", state_root_.c_str(), "run", "--bundle", bundle_.c_str(), id.c_str(),
            nullptr);
    ::_exit(127);
  }
  std::string exe;
  for (int i = 0; i < 200; ++i) {
    char buf[512] = {};
    if (::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1) > 0) exe = buf;
    if (exe.find("memfd:") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(exe.find("memfd:berth-runtime"), std::string::npos) << exe;
  // Even root cannot write through it: the copy is sealed.
  int fd = ::open(("/proc/" + std::to_string(pid) + "/exe").c_str(), O_WRONLY);
  EXPECT_LT(fd, 0) << "opened the runtime's executable for writing";
  if (fd >= 0) ::close(fd);
  ::kill(pid, SIGTERM);
  rt({"kill", id, "KILL"});
  ::waitpid(pid, nullptr, 0);
}

// The container init is not dumpable while it runs the runtime's code (waiting for start), so
// even a process with the container's own uid cannot open /proc/<init>/exe or its memory.
TEST_F(SecurityTest, InitIsNotDumpableBeforeExec) {
  // Root in the container, so no credential change makes it non-dumpable by accident.
  write_spec(base_spec({"true"}));
  std::string id = unique_id("dump");
  ASSERT_EQ(rt({"create", "--bundle", bundle_, id}).status, 0);
  int pid = parse_json(rt({"state", id}).out).value()["pid"];
  // Same uid (0) and the same capabilities as the init (its spec has no CAP_SYS_PTRACE), like
  // another process of the same container: only non-dumpability stands in the way.
  auto status_text = read_file("/proc/" + std::to_string(pid) + "/status");
  auto at = status_text.find("CapPrm:\t");
  ASSERT_NE(at, std::string::npos);
  uint64_t caps = std::stoull(status_text.substr(at + 8, 16), nullptr, 16);
  ASSERT_EQ(caps & (1ULL << CAP_SYS_PTRACE), 0u);
  pid_t child = ::fork();
  if (child == 0) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    for (int i = 0; i < 2; ++i) {
      data[i].permitted = data[i].effective = static_cast<uint32_t>(caps >> (32 * i));
    }
    if (::syscall(SYS_capset, &header, data) != 0) ::_exit(2);
    char buf[256];
    ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf);
    ::_exit(n < 0 && errno == EACCES ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a same-uid process could read /proc/<init>/exe";
}

// Masking binds /dev/null over paths; a container whose /dev/null is a symlink (e.g. to a
// sensitive /proc file) must not get that file bound in its place.
TEST_F(SecurityTest, MaskedPathsRefuseAFakeDevNull) {
  std::string rootfs = dir_ + "/fakenull";
  ASSERT_TRUE(make_busybox_rootfs(rootfs));
  ::mkdir((rootfs + "/dev").c_str(), 0755);
  ASSERT_EQ(::symlink("/proc/sys/kernel/core_pattern", (rootfs + "/dev/null").c_str()), 0);
  auto spec = base_spec({"true"});
  spec["root"]["path"] = rootfs;
  // No /dev tmpfs: the rootfs's own /dev is used, as with a bind-mounted /dev.
  Json mounts = Json::array();
  for (const auto& m : spec["mounts"])
    if (m["destination"].get<std::string>().rfind("/dev", 0) != 0) mounts.push_back(m);
  spec["mounts"] = mounts;
  spec["linux"]["maskedPaths"] = {"/etc/passwd"};
  auto r = run_spec(spec);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("not the null device"), std::string::npos) << r.err;
}

// The console socket receives a pty master; the container sees a real terminal.
TEST_F(SecurityTest, ConsoleSocketReceivesPtyMaster) {
  std::string sock_path = dir_ + "/console.sock";
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  auto spec = base_spec({"sh", "-c", "tty; stty size; echo term-ok"});
  spec["process"]["terminal"] = true;
  spec["process"]["consoleSize"] = {{"height", 33}, {"width", 99}};
  write_spec(spec);
  std::string id = unique_id("tty");
  auto c = rt({"create", "--bundle", bundle_, "--console-socket", sock_path, id});
  ASSERT_EQ(c.status, 0) << c.err;
  int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  int master = receive_passed_fd(conn, nullptr);
  ASSERT_GE(master, 0) << "no pty master passed on the console socket";
  ASSERT_EQ(rt({"start", id}).status, 0);
  std::string out;
  char buf[256];
  for (int i = 0; i < 100 && out.find("term-ok") == std::string::npos; ++i) {
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("33 99"), std::string::npos) << out;
  ::close(master);
  ::close(conn);
  ::close(listener);
}

}  // namespace
}  // namespace berth::test
