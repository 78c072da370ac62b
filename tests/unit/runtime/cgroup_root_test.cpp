// cgroup module against the kernel: the host's v1 hierarchies, and a cgroup2 mount (the
// unified one of a hybrid host, or /sys/fs/cgroup itself) for freezing, cgroup.kill,
// CLONE_INTO_CGROUP and the device BPF program. Needs root; skips when the hierarchy is absent.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <new>
#include <sstream>
#include <thread>

#include "berth/common/unique_fd.h"
#include "cgroup/cgroup.h"

namespace cg = berth::runtime::cgroup;

namespace {

bool is_fs(const std::string& path, decltype(statfs::f_type) magic) {
  struct statfs st;
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == magic;
}

std::string slurp(const std::string& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

berth::FdPair make_pipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0) << std::strerror(errno);
  return {berth::UniqueFd(fds[0]), berth::UniqueFd(fds[1])};
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Shared with forked children: a counter that moves while they run.
struct Shared {
  std::atomic<uint64_t> spins{0};
};

Shared* map_shared() {
  void* p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : new (p) Shared;
}

bool wait_until(const std::function<bool()>& done, int timeout_ms = 5000) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    if (done()) return true;
    sleep_ms(5);
  }
  return done();
}

// Reaps every child, including orphaned grandchildren (the test process is a subreaper).
void reap_all() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

class CgroupRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    parent_ = "/berth-test-" + std::to_string(::getpid());
  }

  void TearDown() override {
    if (manager_) {
      (void)manager_->kill_all(SIGKILL);
      (void)manager_->destroy();
    }
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    reap_all();
    // The parent cgroup create() made in every hierarchy.
    for (const auto& dir : parents_) ::rmdir(dir.c_str());
    // Controllers create() enabled in the root for our cgroups, now unused again.
    if (!v2_root_.empty()) {
      std::string control = v2_root_ + "/cgroup.subtree_control";
      std::istringstream now(slurp(control));
      for (std::string c; now >> c;)
        if (v2_root_enabled_.find(" " + c + " ") == std::string::npos) std::ofstream(control) << "-" << c;
    }
  }

  pid_t spawn(const std::function<void()>& body) {
    pid_t pid = ::fork();
    if (pid == 0) {
      body();
      ::_exit(0);
    }
    if (pid > 0) children_.push_back(pid);
    return pid;
  }

  std::string parent_;
  std::unique_ptr<cg::Manager> manager_;
  std::vector<pid_t> children_;
  std::vector<std::string> parents_;
  std::string v2_root_;
  std::string v2_root_enabled_;  // " a b " as it was before the test
};

// ---------------------------------------------------------------- v1

TEST_F(CgroupRootTest, V1LimitsFreezerStatsKillDestroy) {
  const std::string root = "/sys/fs/cgroup";
  for (const char* h : {"memory", "pids", "freezer", "cpuacct"})
    if (!is_fs(root + "/" + h, CGROUP_SUPER_MAGIC))
      GTEST_SKIP() << root << "/" << h << " is not a cgroup v1 hierarchy on this host";
  auto opened = cg::Manager::open(parent_ + "/c1", "c1");
  ASSERT_TRUE(opened) << opened.error().what();
  manager_ = std::move(*opened);
  ASSERT_EQ(manager_->version(), cg::Version::v1) << "detection";
  for (const auto& [name, path] : manager_->paths()) parents_.push_back(root + "/" + name + parent_);

  ASSERT_TRUE(manager_->create());
  berth::oci::LinuxResources r;
  r.memory = berth::oci::LinuxMemory{};
  r.memory->limit = 64 << 20;
  r.pids = berth::oci::LinuxPids{8};
  auto st = manager_->apply(r);
  ASSERT_TRUE(st) << st.error().what();
  for (const auto& w : manager_->drain_warnings()) std::cerr << "warning: " << w << "\n";
  const std::string mem = root + "/memory" + parent_ + "/c1";
  const std::string pids = root + "/pids" + parent_ + "/c1";
  EXPECT_EQ(slurp(mem + "/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(slurp(pids + "/pids.max"), "8");

  // The child forks until the kernel refuses: pids.max counts the child itself.
  berth::FdPair go = make_pipe(), report = make_pipe();
  Shared* shared = map_shared();
  ASSERT_NE(shared, nullptr);
  pid_t child = spawn([&] {
    char c;
    if (::read(go.first.get(), &c, 1) != 1) ::_exit(1);
    int forked = 0, err = 0;
    for (int i = 0; i < 32; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        for (;;) ::pause();
      }
      if (p < 0) {
        err = errno;
        break;
      }
      ++forked;
    }
    int result[2] = {forked, err};
    if (::write(report.second.get(), result, sizeof result) != sizeof result) ::_exit(1);
    for (;;) shared->spins.fetch_add(1, std::memory_order_relaxed);
  });
  ASSERT_GT(child, 0);
  ASSERT_TRUE(manager_->add_process(child));
  ASSERT_EQ(::write(go.second.get(), "g", 1), 1);
  int result[2] = {-1, -1};
  ASSERT_EQ(::read(report.first.get(), result, sizeof result), static_cast<ssize_t>(sizeof result));
  EXPECT_EQ(result[0], 7) << "forks allowed under pids.max=8";
  EXPECT_EQ(result[1], EAGAIN);

  auto listed = manager_->pids();
  ASSERT_TRUE(listed) << listed.error().what();
  EXPECT_EQ(listed->size(), 8u);
  EXPECT_NE(std::find(listed->begin(), listed->end(), child), listed->end());

  // Frozen, the spinning child stops counting; thawed, it goes on.
  ASSERT_TRUE(wait_until([&] { return shared->spins.load() > 0; }));
  st = manager_->freeze();
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_TRUE(manager_->frozen().value_or(false));
  uint64_t before = shared->spins.load();
  sleep_ms(100);
  EXPECT_EQ(shared->spins.load(), before);
  ASSERT_TRUE(manager_->thaw());
  EXPECT_FALSE(manager_->frozen().value_or(true));
  EXPECT_TRUE(wait_until([&] { return shared->spins.load() > before; }));

  auto stats = manager_->stats();
  ASSERT_TRUE(stats) << stats.error().what();
  EXPECT_EQ(stats->pids_current, 8u);
  EXPECT_EQ(stats->pids_limit, 8u);
  EXPECT_EQ(stats->memory_limit, 64u << 20);
  EXPECT_GT(stats->memory_usage, 0u);
  EXPECT_GT(stats->cpu_usage_ns, 0u);
  EXPECT_FALSE(stats->memory_stat.empty());

  ASSERT_TRUE(manager_->kill_all(SIGKILL));
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  children_.clear();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  reap_all();

  st = manager_->destroy();
  ASSERT_TRUE(st) << st.error().what();
  for (const auto& [name, path] : manager_->paths())
    EXPECT_NE(::access((root + "/" + name + path).c_str(), F_OK), 0) << name << " still exists";
  EXPECT_TRUE(manager_->destroy()) << "a second destroy finds nothing and succeeds";
  ::munmap(shared, sizeof(Shared));
}

// The first block device's "major:minor", for throttle rules the kernel will accept.
std::string some_block_device() {
  for (const char* dev : {"vda", "sda", "nvme0n1", "xvda", "loop0"}) {
    std::string numbers = slurp(std::string("/sys/block/") + dev + "/dev");
    if (!numbers.empty()) return numbers;
  }
  return "";
}

TEST_F(CgroupRootTest, V1KernelAcceptsWhatApplyWrites) {
  const std::string root = "/sys/fs/cgroup";
  for (const char* h : {"memory", "cpu", "cpuset", "devices", "blkio"})
    if (!is_fs(root + "/" + h, CGROUP_SUPER_MAGIC))
      GTEST_SKIP() << root << "/" << h << " is not a cgroup v1 hierarchy on this host";
  auto opened = cg::Manager::open(parent_ + "/c3", "c3");
  ASSERT_TRUE(opened) << opened.error().what();
  manager_ = std::move(*opened);
  for (const auto& [name, path] : manager_->paths()) parents_.push_back(root + "/" + name + parent_);
  ASSERT_TRUE(manager_->create());

  berth::oci::LinuxResources r;
  r.cpu = berth::oci::LinuxCPU{};
  r.cpu->shares = 512;
  r.cpu->quota = 20000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0";
  r.cpu->mems = "0";
  r.memory = berth::oci::LinuxMemory{};
  r.memory->limit = 64 << 20;
  r.memory->swap = 128 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swappiness = 10;
  r.memory->kernel = 16 << 20;  // gone from recent kernels: a warning, not an error
  r.pids = berth::oci::LinuxPids{50};
  std::string dev = some_block_device();
  if (!dev.empty()) {
    int64_t major = std::stoll(dev.substr(0, dev.find(':')));
    int64_t minor = std::stoll(dev.substr(dev.find(':') + 1));
    r.blockIO = berth::oci::LinuxBlockIO{};
    r.blockIO->throttleReadBpsDevice.push_back({major, minor, 1 << 20});
    r.blockIO->throttleWriteIOPSDevice.push_back({major, minor, 100});
  }
  r.devices = {{false, "a", {}, {}, "rwm"}, {true, "c", 1, 3, "rwm"}, {true, "a", {}, {}, "m"}};
  auto st = manager_->apply(r);
  ASSERT_TRUE(st) << st.error().what();
  for (const auto& w : manager_->drain_warnings()) std::cerr << "warning: " << w << "\n";

  auto at = [&](const char* h, const char* file) { return slurp(root + "/" + h + parent_ + "/c3/" + file); };
  EXPECT_EQ(at("cpu", "cpu.shares"), "512");
  EXPECT_EQ(at("cpu", "cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(at("cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(at("memory", "memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(at("memory", "memory.memsw.limit_in_bytes"), "134217728");
  EXPECT_EQ(at("memory", "memory.swappiness"), "10");
  EXPECT_EQ(at("devices", "devices.list"), "c 1:3 rwm\nc *:* m\nb *:* m");
  if (!dev.empty()) {
    EXPECT_EQ(at("blkio", "blkio.throttle.read_bps_device"), dev + " 1048576");
  }

  // `update` raising memory above the old memory+swap limit has to reorder the writes.
  berth::oci::LinuxResources u;
  u.memory = berth::oci::LinuxMemory{};
  u.memory->limit = 256 << 20;
  u.memory->swap = 512 << 20;
  st = manager_->apply(u);
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(at("memory", "memory.limit_in_bytes"), "268435456");
  u.memory->limit = -1;
  u.memory->swap.reset();
  st = manager_->apply(u);
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(at("memory", "memory.limit_in_bytes"), "9223372036854771712");

  ASSERT_TRUE(manager_->destroy());
}

// ---------------------------------------------------------------- v2

std::string v2_mount() {
  if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) return "/sys/fs/cgroup";
  if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC)) return "/sys/fs/cgroup/unified";
  return "";
}

uint32_t attached_device_programs(const std::string& dir) {
  berth::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return 0;
  uint32_t ids[16];
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(fd.get());
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids);
  attr.query.prog_cnt = 16;
  long rc = ::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr);
  return rc < 0 ? 0 : attr.query.prog_cnt;
}

// The child opens /dev/null for reading and writing and /dev/zero for reading each time it
// is told to, and reports the three errnos (0 for success).
void device_prober(int commands, int reports, Shared* shared) {
  char c;
  while (::read(commands, &c, 1) == 1) {
    if (c == 's') {
      for (;;) shared->spins.fetch_add(1, std::memory_order_relaxed);
    }
    int result[3];
    const std::pair<const char*, int> probes[3] = {
        {"/dev/null", O_RDONLY}, {"/dev/null", O_WRONLY}, {"/dev/zero", O_RDONLY}};
    for (int i = 0; i < 3; ++i) {
      berth::UniqueFd fd(::open(probes[i].first, probes[i].second | O_CLOEXEC));
      result[i] = fd ? 0 : errno;
    }
    if (::write(reports, result, sizeof result) != sizeof result) ::_exit(1);
  }
}

TEST_F(CgroupRootTest, V2DevicesFreezeKillCloneIntoCgroup) {
  std::string mount = v2_mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 filesystem at /sys/fs/cgroup or /sys/fs/cgroup/unified";
  cg::Options options;
  options.mountpoint = mount;
  auto opened = cg::Manager::open(parent_ + "/c2", "c2", options);
  ASSERT_TRUE(opened) << opened.error().what();
  manager_ = std::move(*opened);
  ASSERT_EQ(manager_->version(), cg::Version::v2) << "detection";
  parents_.push_back(mount + parent_);
  v2_root_ = mount;
  v2_root_enabled_ = " " + slurp(mount + "/cgroup.subtree_control") + " ";
  const std::string dir = mount + manager_->path();

  auto st = manager_->create();
  ASSERT_TRUE(st) << st.error().what();
  for (const auto& w : manager_->drain_warnings()) std::cerr << "warning: " << w << "\n";

  berth::oci::LinuxResources r;
  r.devices = {{false, "a", {}, {}, "rwm"}, {true, "c", 1, 3, "r"}};
  st = manager_->apply(r);
  if (!st && (st.error().sys_errno == EPERM || st.error().sys_errno == ENOSYS))
    GTEST_SKIP() << "BPF device programs are not available here: " << st.error().what();
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(attached_device_programs(dir), 1u);

  berth::FdPair commands = make_pipe(), reports = make_pipe();
  Shared* shared = map_shared();
  ASSERT_NE(shared, nullptr);

  // Born inside the cgroup through clone3(CLONE_INTO_CGROUP) with the Manager's fd.
  int cgroup_fd = manager_->open_dir_fd();
  ASSERT_GE(cgroup_fd, 0);
  struct clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  long child = ::syscall(SYS_clone3, &args, sizeof args);
  if (child == 0) {
    device_prober(commands.first.get(), reports.second.get(), shared);
    ::_exit(0);
  }
  ASSERT_GT(child, 0) << std::strerror(errno);
  children_.push_back(static_cast<pid_t>(child));
  EXPECT_EQ(manager_->pids().value_or(std::vector<pid_t>{}), std::vector<pid_t>{static_cast<pid_t>(child)});

  auto probe = [&] {
    std::array<int, 3> result{-1, -1, -1};
    EXPECT_EQ(::write(commands.second.get(), "p", 1), 1);
    EXPECT_EQ(::read(reports.first.get(), result.data(), sizeof result), static_cast<ssize_t>(sizeof result));
    return result;
  };
  EXPECT_EQ(probe(), (std::array<int, 3>{0, EPERM, EPERM})) << "/dev/null r, /dev/null w, /dev/zero r";

  // `update` replaces the program rather than stacking a second one.
  r.devices = {{false, "a", {}, {}, "rwm"}, {true, "c", 1, 3, "rw"}, {true, "c", 1, 5, "r"}};
  st = manager_->apply(r);
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(attached_device_programs(dir), 1u);
  EXPECT_EQ(probe(), (std::array<int, 3>{0, 0, 0}));

  ASSERT_EQ(::write(commands.second.get(), "s", 1), 1);
  ASSERT_TRUE(wait_until([&] { return shared->spins.load() > 0; }));
  st = manager_->freeze();
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_TRUE(manager_->frozen().value_or(false));
  uint64_t before = shared->spins.load();
  sleep_ms(100);
  EXPECT_EQ(shared->spins.load(), before);
  ASSERT_TRUE(manager_->thaw());
  EXPECT_FALSE(manager_->frozen().value_or(true));
  EXPECT_TRUE(wait_until([&] { return shared->spins.load() > before; }));

  auto stats = manager_->stats();
  ASSERT_TRUE(stats) << stats.error().what();
  EXPECT_GT(stats->cpu_usage_ns, 0u);

  ASSERT_TRUE(manager_->kill_all(SIGKILL));
  int status = 0;
  ASSERT_EQ(::waitpid(static_cast<pid_t>(child), &status, 0), child);
  children_.clear();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  st = manager_->destroy();
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_NE(::access(dir.c_str(), F_OK), 0);
  ::munmap(shared, sizeof(Shared));
}

}  // namespace
