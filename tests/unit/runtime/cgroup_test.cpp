// cgroup module against fake cgroupfs trees in a temp dir: path resolution, the exact files
// and values written for v2 and v1, and the device BPF program run in a small interpreter.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cgroup/cgroup.h"
#include "cgroup/convert.h"
#include "cgroup/device_bpf.h"

namespace cg = berth::runtime::cgroup;
namespace fsys = std::filesystem;
using berth::Errc;

namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-cgroup-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fsys::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void put(const std::string& file, const std::string& content = "") {
  fsys::create_directories(fsys::path(file).parent_path());
  std::ofstream(file) << content;
}

std::string get(const std::string& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using Writes = std::vector<std::pair<std::string, std::string>>;

// Options for a fake tree that records every write relative to the tree.
cg::Options fake(const TempDir& dir, cg::Version version, Writes* writes) {
  cg::Options o;
  o.mountpoint = dir.path();
  o.force_version = version;
  o.skip_devices = version == cg::Version::v2;
  o.freeze_timeout_ms = 200;
  o.destroy_timeout_ms = 100;
  if (writes) {
    std::string root = dir.path() + "/";
    o.on_write = [writes, root](const std::string& file, const std::string& value) {
      writes->push_back({file.substr(file.rfind(root, 0) == 0 ? root.size() : 0), value});
    };
  }
  return o;
}

std::unique_ptr<cg::Manager> open_ok(const std::string& path, const std::string& id, const cg::Options& o) {
  auto m = cg::Manager::open(path, id, o);
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().what());
  return m ? std::move(*m) : nullptr;
}

berth::oci::LinuxResources full_resources() {
  berth::oci::LinuxResources r;
  berth::oci::LinuxCPU cpu;
  cpu.shares = 1024;
  cpu.quota = 50000;
  cpu.period = 100000;
  cpu.burst = 1000;
  cpu.cpus = "0-1";
  cpu.mems = "0";
  cpu.idle = 0;
  r.cpu = cpu;
  berth::oci::LinuxMemory mem;
  mem.limit = 256 << 20;
  mem.reservation = 128 << 20;
  mem.swap = 512 << 20;
  r.memory = mem;
  r.pids = berth::oci::LinuxPids{100};
  berth::oci::LinuxBlockIO io;
  io.weight = 500;
  io.weightDevice.push_back({8, 0, 300, std::nullopt});
  io.throttleReadBpsDevice.push_back({8, 0, 1048576});
  io.throttleWriteBpsDevice.push_back({8, 0, 2097152});
  io.throttleReadIOPSDevice.push_back({8, 16, 100});
  io.throttleWriteIOPSDevice.push_back({8, 0, 0});
  r.blockIO = io;
  r.hugepageLimits.push_back({"2MB", 1ULL << 30});
  return r;
}

// ---------------------------------------------------------------- path resolution

TEST(CgroupPath, DefaultIsBerthSlashId) {
  TempDir dir;
  auto m = open_ok("", "abc", fake(dir, cg::Version::v2, nullptr));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version(), cg::Version::v2);
  EXPECT_EQ(m->path(), "/berth/abc");
}

TEST(CgroupPath, AbsoluteIsCleanedAndRelativeToRoot) {
  TempDir dir;
  auto m = open_ok("//a/./b//c/", "x", fake(dir, cg::Version::v2, nullptr));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->path(), "/a/b/c");
  EXPECT_EQ(m->paths(), (std::map<std::string, std::string>{{"", "/a/b/c"}}));
}

TEST(CgroupPath, RejectsEscapesRootAndBadIds) {
  TempDir dir;
  auto o = fake(dir, cg::Version::v2, nullptr);
  for (const char* bad : {"/a/../b", "..", "../x", "/", "///", "."}) {
    auto m = cg::Manager::open(bad, "x", o);
    ASSERT_FALSE(m.has_value()) << bad;
    EXPECT_EQ(m.error().code, Errc::invalid_argument) << bad;
    EXPECT_NE(m.error().message.find("linux.cgroupsPath"), std::string::npos) << m.error().message;
  }
  for (const char* bad_id : {"", "a/b", ".."}) {
    auto m = cg::Manager::open("", bad_id, o);
    ASSERT_FALSE(m.has_value()) << bad_id;
    EXPECT_EQ(m.error().code, Errc::invalid_argument);
  }
}

TEST(CgroupPath, RelativeV2IsUnderTheParentOfOwnCgroup) {
  TempDir dir;
  auto o = fake(dir, cg::Version::v2, nullptr);
  o.proc_self_cgroup = dir.path() + "/self-cgroup";
  put(o.proc_self_cgroup, "0::/user.slice/session-1.scope\n");
  auto m = open_ok("ctr/x", "id", o);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->path(), "/user.slice/ctr/x");

  put(o.proc_self_cgroup, "0::/\n");
  m = open_ok("ctr", "id", o);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->path(), "/ctr");

  put(o.proc_self_cgroup, "1:name=systemd:/\n");
  auto missing = cg::Manager::open("ctr", "id", o);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

// The layout of this very host: per-controller mounts, cpu and cpuacct as symlinks to a
// shared one on many distributions, and own cgroups that differ per hierarchy.
void make_v1_tree(const TempDir& dir) {
  for (const char* h : {"memory", "cpu,cpuacct", "cpuset", "pids", "blkio", "devices", "freezer", "systemd"})
    fsys::create_directories(dir.path() + "/" + h);
  fsys::create_directory_symlink("cpu,cpuacct", dir.path() + "/cpu");
  fsys::create_directory_symlink("cpu,cpuacct", dir.path() + "/cpuacct");
  put(dir.path() + "/cpuset/cpuset.cpus", "0-3\n");
  put(dir.path() + "/cpuset/cpuset.mems", "0\n");
}

TEST(CgroupPath, V1HierarchiesAndRelativePathsPerHierarchy) {
  TempDir dir;
  make_v1_tree(dir);
  auto o = fake(dir, cg::Version::v1, nullptr);
  o.proc_self_cgroup = dir.path() + "/self-cgroup";
  put(o.proc_self_cgroup,
      "9:name=systemd:/init.scope\n8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n"
      "3:cpuset:/\n5:devices:/\n6:freezer:/\n7:blkio:/\n0::/\n");
  auto m = open_ok("ctr", "id", o);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version(), cg::Version::v1);
  std::map<std::string, std::string> want{
      {"cpu,cpuacct", "/ctr"}, {"cpuset", "/ctr"},  {"memory", "/process_api/abc/ctr"},
      {"devices", "/ctr"},     {"freezer", "/ctr"}, {"blkio", "/ctr"},
      {"pids", "/ctr"},        {"systemd", "/init.scope/ctr"},
  };
  EXPECT_EQ(m->paths(), want);

  // Reopening from saved paths ignores where the reopening process lives.
  put(o.proc_self_cgroup, "4:memory:/elsewhere\n");
  o.v1_paths = m->paths();
  auto again = open_ok("ctr", "id", o);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->paths(), want);

  auto absolute = open_ok("/docker/abc", "abc", fake(dir, cg::Version::v1, nullptr));
  ASSERT_TRUE(absolute);
  for (const auto& [name, path] : absolute->paths()) EXPECT_EQ(path, "/docker/abc") << name;
}

TEST(CgroupPath, DetectionRefusesADirectoryWithoutCgroups) {
  TempDir dir;
  cg::Options o;
  o.mountpoint = dir.path();
  auto m = cg::Manager::open("", "x", o);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::unsupported);
}

// ---------------------------------------------------------------- v2

// What the kernel shows for /berth/c1 once the ancestors delegate every controller.
void make_v2_tree(const TempDir& dir) {
  const std::string controllers = "cpuset cpu io memory hugetlb pids\n";
  put(dir.path() + "/cgroup.controllers", controllers);
  put(dir.path() + "/cgroup.subtree_control");
  put(dir.path() + "/berth/cgroup.controllers", controllers);
  put(dir.path() + "/berth/cgroup.subtree_control", "cpu\n");
  for (const char* f : {"cgroup.procs", "cgroup.freeze", "cgroup.kill", "cgroup.events", "cpu.weight",
                        "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",
                        "memory.max", "memory.low", "memory.high", "memory.swap.max", "pids.max",
                        "io.weight", "io.max", "hugetlb.2MB.max"})
    put(dir.path() + "/berth/c1/" + f);
}

TEST(CgroupV2, CreateEnablesControllersInEveryAncestor) {
  TempDir dir;
  make_v2_tree(dir);
  Writes writes;
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v2, &writes));
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  EXPECT_EQ(writes, (Writes{{"cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids"},
                            {"berth/cgroup.subtree_control", "+cpuset +io +memory +hugetlb +pids"}}));
  EXPECT_TRUE(fsys::is_directory(dir.path() + "/berth/c1"));
  EXPECT_TRUE(m->drain_warnings().empty());
}

TEST(CgroupV2, ApplyWritesExactValues) {
  TempDir dir;
  make_v2_tree(dir);
  Writes writes;
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v2, &writes));
  ASSERT_TRUE(m);
  auto r = full_resources();
  r.unified = {{"memory.high", "200000000"}, {"pids.max", "200"}};
  auto st = m->apply(r);
  ASSERT_TRUE(st) << st.error().what();
  Writes want{
      {"berth/c1/cpu.weight", "39"},
      {"berth/c1/cpu.max", "50000 100000"},
      {"berth/c1/cpu.max.burst", "1000"},
      {"berth/c1/cpu.idle", "0"},
      {"berth/c1/cpuset.cpus", "0-1"},
      {"berth/c1/cpuset.mems", "0"},
      {"berth/c1/memory.max", "268435456"},
      {"berth/c1/memory.low", "134217728"},
      {"berth/c1/memory.swap.max", "268435456"},
      {"berth/c1/pids.max", "100"},
      {"berth/c1/io.weight", "4950"},
      {"berth/c1/io.weight", "8:0 2930"},
      {"berth/c1/io.max", "8:0 rbps=1048576 wbps=2097152 wiops=max"},
      {"berth/c1/io.max", "8:16 riops=100"},
      {"berth/c1/hugetlb.2MB.max", "1073741824"},
      {"berth/c1/memory.high", "200000000"},
      {"berth/c1/pids.max", "200"},
  };
  EXPECT_EQ(writes, want);
  // Files written once hold exactly the value; unified won over pids.limit.
  EXPECT_EQ(get(dir.path() + "/berth/c1/memory.swap.max"), "268435456");
  EXPECT_EQ(get(dir.path() + "/berth/c1/pids.max"), "200");
  EXPECT_EQ(get(dir.path() + "/berth/c1/cpu.max"), "50000 100000");
}

TEST(CgroupV2, UnlimitedValuesAndPartialUpdates) {
  TempDir dir;
  make_v2_tree(dir);
  Writes writes;
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v2, &writes));
  ASSERT_TRUE(m);
  berth::oci::LinuxResources r;
  r.memory = berth::oci::LinuxMemory{};
  r.memory->limit = -1;
  r.pids = berth::oci::LinuxPids{0};
  r.cpu = berth::oci::LinuxCPU{};
  r.cpu->quota = -1;
  ASSERT_TRUE(m->apply(r));
  EXPECT_EQ(writes, (Writes{{"berth/c1/cpu.max", "max 100000"},
                            {"berth/c1/memory.max", "max"},
                            {"berth/c1/memory.swap.max", "max"},
                            {"berth/c1/pids.max", "max"}}));

  // `update` with swap alone subtracts the limit in force; quota alone keeps the period.
  writes.clear();
  put(dir.path() + "/berth/c1/memory.max", "1000\n");
  put(dir.path() + "/berth/c1/cpu.max", "max 250000\n");
  berth::oci::LinuxResources u;
  u.memory = berth::oci::LinuxMemory{};
  u.memory->swap = 3000;
  u.cpu = berth::oci::LinuxCPU{};
  u.cpu->quota = 1000;
  ASSERT_TRUE(m->apply(u));
  EXPECT_EQ(writes, (Writes{{"berth/c1/cpu.max", "1000 250000"}, {"berth/c1/memory.swap.max", "2000"}}));
}

void expect_field_error(cg::Manager& m, const berth::oci::LinuxResources& r, Errc code,
                        const std::string& field, Writes& writes) {
  writes.clear();
  auto st = m.apply(r);
  ASSERT_FALSE(st) << field;
  EXPECT_EQ(st.error().code, code) << st.error().what();
  EXPECT_NE(st.error().message.find(field), std::string::npos) << st.error().what();
  EXPECT_TRUE(writes.empty()) << field << ": wrote before failing";
}

TEST(CgroupV2, UnsupportedAndInvalidFieldsAreNamedAndNothingIsWritten) {
  TempDir dir;
  make_v2_tree(dir);
  Writes writes;
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v2, &writes));
  ASSERT_TRUE(m);

  auto with = [](auto&& edit) {
    auto r = full_resources();
    edit(r);
    return r;
  };
  expect_field_error(*m, with([](auto& r) { r.memory->kernel = 1 << 20; }), Errc::unsupported,
                     "linux.resources.memory.kernel", writes);
  expect_field_error(*m, with([](auto& r) { r.memory->swappiness = 10; }), Errc::unsupported,
                     "linux.resources.memory.swappiness", writes);
  expect_field_error(*m, with([](auto& r) { r.memory->disableOOMKiller = true; }), Errc::unsupported,
                     "linux.resources.memory.disableOOMKiller", writes);
  expect_field_error(*m, with([](auto& r) { r.cpu->realtimeRuntime = 950000; }), Errc::unsupported,
                     "linux.resources.cpu.realtimeRuntime", writes);
  expect_field_error(*m, with([](auto& r) { r.network = berth::oci::LinuxNetwork{1, {}}; }),
                     Errc::unsupported, "linux.resources.network", writes);
  expect_field_error(*m, with([](auto& r) { r.blockIO->leafWeight = 100; }), Errc::unsupported,
                     "linux.resources.blockIO.leafWeight", writes);
  expect_field_error(*m, with([](auto& r) { r.memory->swap = 1 << 20; }), Errc::invalid_argument,
                     "linux.resources.memory.swap", writes);
  expect_field_error(*m, with([](auto& r) { r.memory->limit = -2; }), Errc::invalid_argument,
                     "linux.resources.memory.limit", writes);
  expect_field_error(*m, with([](auto& r) { r.blockIO->weight = 5; }), Errc::invalid_argument,
                     "linux.resources.blockIO.weight", writes);
  expect_field_error(*m, with([](auto& r) { r.blockIO->throttleReadBpsDevice[0].major = -1; }),
                     Errc::invalid_argument, "linux.resources.blockIO.throttleReadBpsDevice[0]", writes);
  expect_field_error(*m, with([](auto& r) { r.hugepageLimits[0].pageSize = "../2MB"; }),
                     Errc::invalid_argument, "linux.resources.hugepageLimits[0].pageSize", writes);
  expect_field_error(*m, with([](auto& r) { r.unified["../cgroup.procs"] = "1"; }),
                     Errc::invalid_argument, "linux.resources.unified[\"../cgroup.procs\"]", writes);
  expect_field_error(*m, with([](auto& r) { r.devices.push_back({true, "x", {}, {}, "r"}); }),
                     Errc::invalid_argument, "linux.resources.devices[0].type", writes);

  // A knob the kernel does not offer fails after the earlier writes, naming its field.
  auto r = full_resources();
  r.hugepageLimits.push_back({"1GB", 1ULL << 30});
  auto st = m->apply(r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::unsupported);
  EXPECT_NE(st.error().message.find("linux.resources.hugepageLimits[1]"), std::string::npos)
      << st.error().what();
  EXPECT_NE(st.error().message.find("hugetlb.1GB.max"), std::string::npos);
}

TEST(CgroupV2, FreezeProcsPidsStatsFd) {
  TempDir dir;
  make_v2_tree(dir);
  Writes writes;
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v2, &writes));
  ASSERT_TRUE(m);
  const std::string c1 = dir.path() + "/berth/c1/";

  ASSERT_TRUE(m->add_process(1234));
  EXPECT_EQ(get(c1 + "cgroup.procs"), "1234");

  put(c1 + "cgroup.events", "populated 1\nfrozen 1\n");
  ASSERT_TRUE(m->freeze());
  EXPECT_EQ(get(c1 + "cgroup.freeze"), "1");
  EXPECT_EQ(m->frozen().value(), true);
  put(c1 + "cgroup.events", "populated 1\nfrozen 0\n");
  ASSERT_TRUE(m->thaw());
  EXPECT_EQ(get(c1 + "cgroup.freeze"), "0");
  EXPECT_EQ(m->frozen().value(), false);
  // The kernel never reports frozen: time out and undo the request.
  auto st = m->freeze();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::timeout);
  EXPECT_EQ(get(c1 + "cgroup.freeze"), "0");

  put(c1 + "cgroup.procs", "7\n3\n");
  put(c1 + "sub/cgroup.procs", "5\n3\n");
  put(c1 + "sub/deeper/cgroup.procs", "11\n");
  EXPECT_EQ(m->pids().value(), (std::vector<pid_t>{3, 5, 7, 11}));

  writes.clear();
  ASSERT_TRUE(m->kill_all(SIGKILL));
  EXPECT_EQ(writes, (Writes{{"berth/c1/cgroup.kill", "1"}}));

  put(c1 + "memory.current", "4096\n");
  put(c1 + "memory.max", "max\n");
  put(c1 + "memory.peak", "8192\n");
  put(c1 + "memory.stat", "anon 100\nfile 200\n");
  put(c1 + "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n");
  put(c1 + "pids.current", "3\n");
  put(c1 + "pids.max", "64\n");
  put(c1 + "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
  auto s = m->stats();
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->memory_usage, 4096u);
  EXPECT_EQ(s->memory_limit, cg::kUnlimited);
  EXPECT_EQ(s->memory_max_usage, 8192u);
  EXPECT_EQ(s->memory_stat, (std::map<std::string, uint64_t>{{"anon", 100}, {"file", 200}}));
  EXPECT_EQ(s->cpu_usage_ns, 1500000u);
  EXPECT_EQ(s->cpu_user_ns, 1000000u);
  EXPECT_EQ(s->cpu_system_ns, 500000u);
  EXPECT_EQ(s->pids_current, 3u);
  EXPECT_EQ(s->pids_limit, 64u);
  ASSERT_EQ(s->io.count("8:0"), 1u);
  EXPECT_EQ(s->io["8:0"].read_bytes, 10u);
  EXPECT_EQ(s->io["8:0"].write_bytes, 20u);
  EXPECT_EQ(s->io["8:0"].read_ios, 1u);
  EXPECT_EQ(s->io["8:0"].write_ios, 2u);

  int fd = m->open_dir_fd();
  EXPECT_GE(fd, 0);
  EXPECT_EQ(m->open_dir_fd(), fd);
}

TEST(CgroupV2, DestroyOfAMissingCgroupIsSuccess) {
  TempDir dir;
  auto m = open_ok("/berth/never-created", "x", fake(dir, cg::Version::v2, nullptr));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->destroy());
  auto s = m->stats();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::not_found);
}

// ---------------------------------------------------------------- v1

void make_v1_cgroup(const TempDir& dir) {
  make_v1_tree(dir);
  const std::string d = dir.path();
  put(d + "/cpuset/berth/cpuset.cpus");
  put(d + "/cpuset/berth/cpuset.mems");
  std::map<std::string, std::vector<std::string>> knobs{
      {"memory", {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
                  "memory.swappiness", "memory.oom_control"}},
      {"cpu,cpuacct", {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.idle"}},
      {"cpuset", {"cpuset.cpus", "cpuset.mems"}},
      {"pids", {"pids.max"}},
      {"blkio", {"blkio.weight", "blkio.weight_device", "blkio.throttle.read_bps_device",
                 "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
                 "blkio.throttle.write_iops_device"}},
      {"devices", {"devices.allow", "devices.deny"}},
      {"freezer", {"freezer.state"}},
      {"systemd", {}},
  };
  for (const auto& [h, files] : knobs) {
    put(d + "/" + h + "/berth/c1/cgroup.procs");
    for (const auto& f : files) put(d + "/" + h + "/berth/c1/" + f);
  }
}

TEST(CgroupV1, CreateCopiesCpusetAndAddProcessJoinsEveryHierarchy) {
  TempDir dir;
  make_v1_cgroup(dir);
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v1, nullptr));
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->create());
  EXPECT_EQ(get(dir.path() + "/cpuset/berth/cpuset.cpus"), "0-3");
  EXPECT_EQ(get(dir.path() + "/cpuset/berth/c1/cpuset.cpus"), "0-3");
  EXPECT_EQ(get(dir.path() + "/cpuset/berth/c1/cpuset.mems"), "0");
  ASSERT_TRUE(m->add_process(42));
  for (const char* h : {"memory", "cpu,cpuacct", "cpuset", "pids", "blkio", "devices", "freezer", "systemd"})
    EXPECT_EQ(get(dir.path() + "/" + h + "/berth/c1/cgroup.procs"), "42") << h;
  EXPECT_EQ(m->open_dir_fd(), -1);
}

TEST(CgroupV1, ApplyWritesExactValuesAndWarnsAboutTheRest) {
  TempDir dir;
  make_v1_cgroup(dir);
  Writes writes;
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v1, &writes));
  ASSERT_TRUE(m);
  auto r = full_resources();
  r.memory->swappiness = 60;
  r.memory->disableOOMKiller = true;
  r.memory->kernel = 1 << 20;  // no memory.kmem.limit_in_bytes in the tree
  r.network = berth::oci::LinuxNetwork{0x100001, {}};
  r.unified = {{"memory.high", "1"}};
  r.devices = {
      {false, "a", {}, {}, "rwm"},
      {true, "c", 1, 3, "rwm"},
      {true, "a", {}, {}, "r"},
      {false, "c", 5, {}, "w"},
  };
  auto st = m->apply(r);
  ASSERT_TRUE(st) << st.error().what();
  Writes want{
      {"cpu,cpuacct/berth/c1/cpu.shares", "1024"},
      {"cpu,cpuacct/berth/c1/cpu.cfs_period_us", "100000"},
      {"cpu,cpuacct/berth/c1/cpu.cfs_quota_us", "50000"},
      {"cpu,cpuacct/berth/c1/cpu.cfs_burst_us", "1000"},
      {"cpu,cpuacct/berth/c1/cpu.idle", "0"},
      {"cpuset/berth/c1/cpuset.cpus", "0-1"},
      {"cpuset/berth/c1/cpuset.mems", "0"},
      {"memory/berth/c1/memory.limit_in_bytes", "268435456"},
      {"memory/berth/c1/memory.memsw.limit_in_bytes", "536870912"},
      {"memory/berth/c1/memory.soft_limit_in_bytes", "134217728"},
      {"memory/berth/c1/memory.swappiness", "60"},
      {"memory/berth/c1/memory.oom_control", "1"},
      {"pids/berth/c1/pids.max", "100"},
      {"blkio/berth/c1/blkio.weight", "500"},
      {"blkio/berth/c1/blkio.weight_device", "8:0 300"},
      {"blkio/berth/c1/blkio.throttle.read_bps_device", "8:0 1048576"},
      {"blkio/berth/c1/blkio.throttle.write_bps_device", "8:0 2097152"},
      {"blkio/berth/c1/blkio.throttle.read_iops_device", "8:16 100"},
      {"blkio/berth/c1/blkio.throttle.write_iops_device", "8:0 0"},
      {"devices/berth/c1/devices.deny", "a"},
      {"devices/berth/c1/devices.allow", "c 1:3 rwm"},
      {"devices/berth/c1/devices.allow", "c *:* r"},
      {"devices/berth/c1/devices.allow", "b *:* r"},
      {"devices/berth/c1/devices.deny", "c 5:* w"},
  };
  EXPECT_EQ(writes, want);
  auto warnings = m->drain_warnings();
  auto warned = [&](const std::string& field) {
    return std::any_of(warnings.begin(), warnings.end(),
                       [&](const std::string& w) { return w.find(field) != std::string::npos; });
  };
  EXPECT_EQ(warnings.size(), 4u);
  EXPECT_TRUE(warned("linux.resources.memory.kernel"));
  EXPECT_TRUE(warned("linux.resources.hugepageLimits[0]"));
  EXPECT_TRUE(warned("linux.resources.network.classID"));
  EXPECT_TRUE(warned("linux.resources.unified"));
  EXPECT_TRUE(m->drain_warnings().empty());

  // Invalid values are still errors on v1, before any write.
  writes.clear();
  r.memory->swappiness = 101;
  st = m->apply(r);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("linux.resources.memory.swappiness"), std::string::npos);
  EXPECT_TRUE(writes.empty());
}

TEST(CgroupV1, RaisingTheLimitAboveMemswWritesMemswFirst) {
  TempDir dir;
  make_v1_cgroup(dir);
  put(dir.path() + "/memory/berth/c1/memory.memsw.limit_in_bytes", "1048576\n");
  Writes writes;
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v1, &writes));
  ASSERT_TRUE(m);
  berth::oci::LinuxResources r;
  r.memory = berth::oci::LinuxMemory{};
  r.memory->limit = 4 << 20;
  r.memory->swap = 8 << 20;
  ASSERT_TRUE(m->apply(r));
  EXPECT_EQ(writes, (Writes{{"memory/berth/c1/memory.memsw.limit_in_bytes", "8388608"},
                            {"memory/berth/c1/memory.limit_in_bytes", "4194304"}}));
}

TEST(CgroupV1, FreezerStatsAndPids) {
  TempDir dir;
  make_v1_cgroup(dir);
  auto m = open_ok("/berth/c1", "c1", fake(dir, cg::Version::v1, nullptr));
  ASSERT_TRUE(m);
  const std::string d = dir.path();
  ASSERT_TRUE(m->freeze());
  EXPECT_EQ(get(d + "/freezer/berth/c1/freezer.state"), "FROZEN");
  EXPECT_TRUE(m->frozen().value());
  ASSERT_TRUE(m->thaw());
  EXPECT_EQ(get(d + "/freezer/berth/c1/freezer.state"), "THAWED");
  EXPECT_FALSE(m->frozen().value());

  put(d + "/pids/berth/c1/cgroup.procs", "10\n4\n");
  EXPECT_EQ(m->pids().value(), (std::vector<pid_t>{4, 10}));

  put(d + "/memory/berth/c1/memory.usage_in_bytes", "4096\n");
  put(d + "/memory/berth/c1/memory.limit_in_bytes", "9223372036854771712\n");
  put(d + "/memory/berth/c1/memory.max_usage_in_bytes", "8192\n");
  put(d + "/memory/berth/c1/memory.stat", "cache 1\nrss 2\n");
  put(d + "/cpu,cpuacct/berth/c1/cpuacct.usage", "3000\n");
  put(d + "/cpu,cpuacct/berth/c1/cpuacct.usage_user", "2000\n");
  put(d + "/cpu,cpuacct/berth/c1/cpuacct.usage_sys", "1000\n");
  put(d + "/pids/berth/c1/pids.current", "2\n");
  put(d + "/pids/berth/c1/pids.max", "max\n");
  put(d + "/blkio/berth/c1/blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 100\n8:0 Write 200\n8:0 Sync 0\nTotal 300\n");
  put(d + "/blkio/berth/c1/blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\n");
  auto s = m->stats();
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->memory_usage, 4096u);
  EXPECT_EQ(s->memory_limit, cg::kUnlimited);
  EXPECT_EQ(s->memory_max_usage, 8192u);
  EXPECT_EQ(s->memory_stat.at("rss"), 2u);
  EXPECT_EQ(s->cpu_usage_ns, 3000u);
  EXPECT_EQ(s->cpu_user_ns, 2000u);
  EXPECT_EQ(s->cpu_system_ns, 1000u);
  EXPECT_EQ(s->pids_current, 2u);
  EXPECT_EQ(s->pids_limit, cg::kUnlimited);
  EXPECT_EQ(s->io["8:0"].read_bytes, 100u);
  EXPECT_EQ(s->io["8:0"].write_bytes, 200u);
  EXPECT_EQ(s->io["8:0"].read_ios, 1u);
  EXPECT_EQ(s->io["8:0"].write_ios, 2u);
}

// ---------------------------------------------------------------- conversions

TEST(CgroupConvert, SharesAndWeights) {
  using namespace cg::detail;
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
  EXPECT_EQ(shares_to_weight(1), 1u);
  EXPECT_EQ(shares_to_weight(1u << 30), 10000u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
  EXPECT_EQ(limit_or_max(-1), "max");
  EXPECT_EQ(limit_or_max(5), "5");
}

TEST(CgroupConvert, SwapIsMemoryPlusSwapMinusMemory) {
  using namespace cg::detail;
  EXPECT_EQ(swap_max(300, 100).value(), "200");
  EXPECT_EQ(swap_max(100, 100).value(), "0");
  EXPECT_EQ(swap_max(-1, 100).value(), "max");
  EXPECT_EQ(swap_max(-1, -1).value(), "max");
  EXPECT_FALSE(swap_max(50, 100));
  EXPECT_FALSE(swap_max(300, -1));
  EXPECT_FALSE(swap_max(-5, 100));
}

// ---------------------------------------------------------------- device BPF program

// Runs the generated program the way the kernel would call it, checking along the way what
// the verifier would: known opcodes, initialised registers, jumps inside the program.
int run(const std::vector<bpf_insn>& prog, char type, uint32_t major, uint32_t minor, const char* access) {
  uint32_t acc = 0;
  for (const char* c = access; *c; ++c)
    acc |= *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  bpf_cgroup_dev_ctx ctx{(acc << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK), major, minor};
  uint64_t reg[11] = {};
  bool init[11] = {};
  init[1] = true;
  auto use = [&](int r) -> uint64_t {
    EXPECT_TRUE(init[r]) << "r" << r << " read before it is written";
    return reg[r];
  };
  size_t pc = 0;
  for (int steps = 0; steps < 100000; ++steps) {
    if (pc >= prog.size()) {
      ADD_FAILURE() << "fell off the program at " << pc;
      return -1;
    }
    const bpf_insn& i = prog[pc++];
    auto jump = [&](bool taken) {
      if (taken) pc += static_cast<size_t>(static_cast<ptrdiff_t>(i.off));
    };
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        EXPECT_EQ(i.src_reg, 1);
        EXPECT_TRUE(i.off == 0 || i.off == 4 || i.off == 8) << i.off;
        reg[i.dst_reg] = i.off == 0 ? ctx.access_type : i.off == 4 ? ctx.major : ctx.minor;
        init[i.dst_reg] = true;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        reg[i.dst_reg] = static_cast<uint32_t>(use(i.src_reg));
        init[i.dst_reg] = true;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(use(i.dst_reg)) & static_cast<uint32_t>(i.imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(use(i.dst_reg)) >> i.imm;
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        reg[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        init[i.dst_reg] = true;
        break;
      case BPF_JMP32 | BPF_JNE | BPF_K:
        jump(static_cast<uint32_t>(use(i.dst_reg)) != static_cast<uint32_t>(i.imm));
        break;
      case BPF_JMP32 | BPF_JEQ | BPF_K:
        jump(static_cast<uint32_t>(use(i.dst_reg)) == static_cast<uint32_t>(i.imm));
        break;
      case BPF_JMP | BPF_JA:
        jump(true);
        break;
      case BPF_JMP | BPF_EXIT:
        return static_cast<int>(use(0));
      default:
        ADD_FAILURE() << "unexpected opcode " << int(i.code) << " at " << pc - 1;
        return -1;
    }
  }
  ADD_FAILURE() << "no exit";
  return -1;
}

// The verifier refuses programs with instructions no path reaches.
void expect_all_reachable(const std::vector<bpf_insn>& prog) {
  std::vector<bool> seen(prog.size());
  std::vector<size_t> todo{0};
  while (!todo.empty()) {
    size_t pc = todo.back();
    todo.pop_back();
    if (pc >= prog.size() || seen[pc]) continue;
    seen[pc] = true;
    const bpf_insn& i = prog[pc];
    uint8_t cls = BPF_CLASS(i.code);
    bool is_jump = cls == BPF_JMP || cls == BPF_JMP32;
    if (is_jump && BPF_OP(i.code) == BPF_EXIT) continue;
    if (is_jump) todo.push_back(pc + 1 + static_cast<size_t>(static_cast<ptrdiff_t>(i.off)));
    if (!(is_jump && BPF_OP(i.code) == BPF_JA)) todo.push_back(pc + 1);
  }
  for (size_t pc = 0; pc < prog.size(); ++pc) EXPECT_TRUE(seen[pc]) << "unreachable insn " << pc;
}

std::vector<bpf_insn> program(const std::vector<berth::oci::LinuxDeviceCgroup>& rules) {
  auto normalized = cg::normalize_device_rules(rules);
  EXPECT_TRUE(normalized) << normalized.error().what();
  auto prog = cg::device_program(*normalized);
  EXPECT_TRUE(prog) << prog.error().what();
  expect_all_reachable(*prog);
  return *prog;
}

TEST(CgroupDeviceBpf, AllowlistAfterDenyAll) {
  auto p = program({
      {false, "a", {}, {}, "rwm"},
      {true, "c", 1, 3, "rwm"},     // /dev/null
      {true, "c", 1, 5, "rw"},      // /dev/zero, no mknod
      {true, "b", 8, {}, "r"},      // every sd* for reading
      {false, "c", 1, 5, "w"},      // then take writing /dev/zero back
      {true, "", 136, -1, "rwm"},   // pty slaves, char or block
  });
  EXPECT_EQ(run(p, 'c', 1, 3, "r"), 1);
  EXPECT_EQ(run(p, 'c', 1, 3, "rwm"), 1);
  EXPECT_EQ(run(p, 'c', 1, 4, "r"), 0);
  EXPECT_EQ(run(p, 'b', 1, 3, "r"), 0);
  EXPECT_EQ(run(p, 'c', 1, 5, "r"), 1);
  EXPECT_EQ(run(p, 'c', 1, 5, "w"), 0);
  EXPECT_EQ(run(p, 'c', 1, 5, "rw"), 0);
  EXPECT_EQ(run(p, 'c', 1, 5, "m"), 0);
  EXPECT_EQ(run(p, 'b', 8, 0, "r"), 1);
  EXPECT_EQ(run(p, 'b', 8, 17, "r"), 1);
  EXPECT_EQ(run(p, 'b', 8, 0, "w"), 0);
  EXPECT_EQ(run(p, 'c', 8, 0, "r"), 0);
  EXPECT_EQ(run(p, 'c', 136, 2, "rw"), 1);
  EXPECT_EQ(run(p, 'b', 136, 2, "m"), 1);
}

TEST(CgroupDeviceBpf, EachAccessBitIsDecidedByItsOwnLastRule) {
  auto p = program({{false, "a", {}, {}, ""}, {true, "c", 1, 3, "r"}, {true, "c", 1, 3, "w"}});
  EXPECT_EQ(run(p, 'c', 1, 3, "rw"), 1);
  EXPECT_EQ(run(p, 'c', 1, 3, "rwm"), 0);
}

TEST(CgroupDeviceBpf, WithoutDenyAllEverythingElseIsAllowed) {
  EXPECT_EQ(run(program({}), 'c', 1, 3, "rwm"), 1);
  EXPECT_EQ(run(program({}), 'b', 8, 0, "w"), 1);
  auto p = program({{true, "a", {}, {}, "rwm"}, {false, "c", 1, 3, "w"}});
  EXPECT_EQ(run(p, 'c', 1, 3, "r"), 1);
  EXPECT_EQ(run(p, 'c', 1, 3, "w"), 0);
  EXPECT_EQ(run(p, 'c', 1, 3, "rw"), 0);
  EXPECT_EQ(run(p, 'b', 1, 3, "w"), 1);
}

TEST(CgroupDeviceBpf, AMatchAllRuleOverridesEverythingBeforeIt) {
  auto p = program({{true, "c", 1, 3, "rwm"}, {false, "a", {}, {}, "rwm"}});
  EXPECT_EQ(run(p, 'c', 1, 3, "r"), 0);
  auto q = program({{false, "c", 1, 3, "rwm"}, {true, "a", -1, -1, "rwm"}});
  EXPECT_EQ(run(q, 'c', 1, 3, "r"), 1);
  // Rules before a match-all are dropped from the program.
  EXPECT_LT(q.size(), program({{false, "c", 1, 3, "rwm"}}).size());
  // Only allows after a deny-all: no separate deny block.
  EXPECT_EQ(program({{false, "a", {}, {}, "rwm"}, {true, "c", 1, 3, "r"}}).size(), 7u + 5u + 4u);
}

TEST(CgroupDeviceBpf, DeviceNumbersAboveInt32Match) {
  auto p = program({{false, "a", {}, {}, "rwm"}, {true, "c", 4294967294LL, 1, "r"}});
  EXPECT_EQ(run(p, 'c', 4294967294u, 1, "r"), 1);
  EXPECT_EQ(run(p, 'c', 2147483646u, 1, "r"), 0);
  EXPECT_EQ(run(p, 'c', 4294967294u, 2, "r"), 0);
}

TEST(CgroupDeviceBpf, BadRulesNameTheirField) {
  auto expect_bad = [](berth::oci::LinuxDeviceCgroup rule, const std::string& field) {
    auto r = cg::normalize_device_rules({{true, "a", {}, {}, "rwm"}, rule});
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  };
  expect_bad({true, "u", {}, {}, "r"}, "linux.resources.devices[1].type");
  expect_bad({true, "c", {}, {}, "rx"}, "linux.resources.devices[1].access");
  expect_bad({true, "c", -5, {}, "r"}, "linux.resources.devices[1].major");
  expect_bad({true, "c", 1, 1LL << 33, "r"}, "linux.resources.devices[1].minor");
}

}  // namespace
