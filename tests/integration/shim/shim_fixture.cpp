#include "shim_fixture.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace berth::test {

std::string ShimTest::shared_rootfs_;

void ShimTest::SetUpTestSuite() {
  if (!is_root() || busybox_path().empty()) return;
  // As the agent will be (PID 1 or a subreaper): shims that double-fork away land here.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::string d = make_temp_dir("berth-shim-rootfs");
  if (make_busybox_rootfs(d)) shared_rootfs_ = d;
}

void ShimTest::TearDownTestSuite() {
  if (!shared_rootfs_.empty()) remove_tree(shared_rootfs_);
  shared_rootfs_.clear();
}

void ShimTest::SetUp() {
  if (!is_root()) GTEST_SKIP() << "berth-shim integration tests need root (berth-runtime creates namespaces, mounts, cgroups)";
  if (shared_rootfs_.empty()) GTEST_SKIP() << "busybox-static is not installed (/bin/busybox); scripts/setup installs it";
  dir_ = make_temp_dir("berth-shim");
  bundle_ = dir_ + "/bundle";
  runtime_root_ = dir_ + "/runtime";
  ::mkdir(bundle_.c_str(), 0755);
  ::symlink(shared_rootfs_.c_str(), (bundle_ + "/rootfs").c_str());
}

void ShimTest::TearDown() {
  for (const auto& l : launched_) {
    // A shim whose container ended leaves by itself; one still running (a failed test) is
    // killed — only the shims this test started, by pid.
    if (l.shim_pid > 0 && !wait_shim_gone(l.shim_pid, 3)) {
      ::kill(l.shim_pid, SIGKILL);
      wait_shim_gone(l.shim_pid, 5);
    }
    runtime({"delete", "--force", l.id});
    // The shim's own complaints, if any, belong in the test output.
    std::string shim_log = path_exists(l.state_dir + "/shim.log") ? read_file(l.state_dir + "/shim.log") : "";
    if (!shim_log.empty()) std::printf("shim.log of %s:\n%s", l.id.c_str(), shim_log.c_str());
  }
  if (!dir_.empty()) {
    sh("umount -R " + dir_ + "/* 2>/dev/null");
    remove_tree(dir_);
  }
}

Json ShimTest::base_spec(const std::vector<std::string>& args, bool terminal) const {
  const std::vector<std::string> caps = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                                         "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                         "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"};
  return {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", terminal},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", args},
        {"env", {"PATH=/bin:/usr/bin", "HOME=/root", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
        {"noNewPrivileges", false}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "berth-shim-test"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
        {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev"}}}}},
      {"linux",
       {{"namespaces", {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}},
        {"maskedPaths", {"/proc/kcore", "/proc/keys"}},
        {"readonlyPaths", {"/proc/sys", "/proc/sysrq-trigger"}}}},
  };
}

Launched ShimTest::launch(const Json& spec, const std::vector<std::string>& extra) {
  write_file(bundle_ + "/config.json", spec.dump(2));
  Launched l;
  l.id = "shim-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++);
  l.state_dir = dir_ + "/state-" + l.id;
  std::vector<std::string> argv = {BERTH_SHIM_BIN, "--id", l.id, "--bundle", bundle_, "--state-dir", l.state_dir,
                                   "--runtime", BERTH_RUNTIME_BIN, "--runtime-root", runtime_root_};
  argv.insert(argv.end(), extra.begin(), extra.end());
  l.launcher = run(argv, "", 60);
  if (l.launcher.status == 0) {
    try {
      l.answer = Json::parse(l.launcher.out);
      l.pid = l.answer.value("pid", 0);
      l.shim_pid = l.answer.value("shim_pid", 0);
    } catch (const std::exception&) {
    }
  }
  launched_.push_back(l);
  return l;
}

bool ShimTest::wait_shim_gone(pid_t shim_pid, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = ::waitpid(shim_pid, nullptr, WNOHANG);  // ours when reparented to this subreaper
    if (r == shim_pid || (r < 0 && errno == ECHILD && ::kill(shim_pid, 0) < 0 && errno == ESRCH)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

CommandResult ShimTest::runtime(std::vector<std::string> args) {
  args.insert(args.begin(), {BERTH_RUNTIME_BIN, "--root", runtime_root_});
  return run(args);
}

}  // namespace berth::test
