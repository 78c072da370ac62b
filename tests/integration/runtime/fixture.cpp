#include "fixture.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace berth::test {

std::string RuntimeTest::shared_rootfs_;

void RuntimeTest::SetUpTestSuite() {
  if (!is_root() || busybox_path().empty()) return;
  std::string d = make_temp_dir("berth-rootfs");
  if (make_busybox_rootfs(d)) shared_rootfs_ = d;
}

void RuntimeTest::TearDownTestSuite() {
  if (!shared_rootfs_.empty()) remove_tree(shared_rootfs_);
  shared_rootfs_.clear();
}

void RuntimeTest::SetUp() {
  if (!is_root()) GTEST_SKIP() << "berth-runtime integration tests need root (namespaces, mounts, cgroups)";
  if (shared_rootfs_.empty()) GTEST_SKIP() << "busybox-static is not installed (/bin/busybox); scripts/setup installs it";
  dir_ = make_temp_dir("berth-rt");
  bundle_ = dir_ + "/bundle";
  state_root_ = dir_ + "/state";
  ::mkdir(bundle_.c_str(), 0755);
  ::symlink(shared_rootfs_.c_str(), (bundle_ + "/rootfs").c_str());
}

void RuntimeTest::TearDown() {
  for (const auto& id : created_) rt({"delete", "--force", id});
  if (!dir_.empty()) {
    sh("umount -R " + dir_ + "/* 2>/dev/null");
    remove_tree(dir_);
  }
}

std::string RuntimeTest::unique_id(const std::string& base) {
  static std::atomic<int> n{0};
  std::string id = base + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  created_.push_back(id);
  return id;
}

Json RuntimeTest::base_spec(const std::vector<std::string>& args) const {
  const std::vector<std::string> caps = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                                         "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                         "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"};
  Json spec = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", args},
        {"env", {"PATH=/bin:/usr/bin", "HOME=/root"}},
        {"cwd", "/"},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
        {"noNewPrivileges", false}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "berth-test"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
        {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"}, {"options", {"nosuid", "noexec", "nodev", "mode=1777"}}},
        {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev"}}}}},
      {"linux",
       {{"namespaces", {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}},
        {"maskedPaths", {"/proc/kcore", "/proc/keys", "/sys/firmware"}},
        {"readonlyPaths", {"/proc/sys", "/proc/sysrq-trigger"}}}},
  };
  return spec;
}

void RuntimeTest::write_spec(const Json& spec) { write_file(bundle_ + "/config.json", spec.dump(2)); }

CommandResult RuntimeTest::rt(std::vector<std::string> args, const std::string& input, int timeout_s) {
  args.insert(args.begin(), {BERTH_RUNTIME_BIN, "--root", state_root_});
  return run(args, input, timeout_s);
}

CommandResult RuntimeTest::run_spec(const Json& spec, const std::string& id) {
  write_spec(spec);
  std::string real_id = unique_id(id);
  return rt({"run", "--bundle", bundle_, real_id});
}

int receive_passed_fd(int conn, std::string* data) {
  char buf[8192];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n <= 0) return -1;
  if (data) data->assign(buf, static_cast<size_t>(n));
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  if (cm == nullptr || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

}  // namespace berth::test
