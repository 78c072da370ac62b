// Runtime spec generation: Docker's defaults and how each HostConfig knob lands in the spec.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/defaults.h"
#include "core/seccomp.h"
#include "core/spec_builder.h"

namespace berth::agent {
namespace {

Container base() {
  Container c;
  c.id = std::string(64, 'a');
  c.name = "/t";
  c.path = "sh";
  c.args = {"-c", "true"};
  c.config.image = "busybox";
  c.config.hostname = "aaaaaaaaaaaa";
  c.config.env = {"FOO=bar"};
  c.host_config.network_mode = "none";
  c.hosts_path = "/s/hosts";
  c.hostname_path = "/s/hostname";
  c.resolv_conf_path = "/s/resolv.conf";
  return c;
}

oci::Spec build(const Container& c, std::string init = "") {
  SpecInput in;
  in.container = &c;
  in.rootfs = "/s/rootfs";
  in.uid = 1000;
  in.gid = 1000;
  in.init_binary = std::move(init);
  auto s = build_spec(in);
  EXPECT_TRUE(s) << (s ? "" : s.error().what());
  return s ? *s : oci::Spec{};
}

const oci::Mount* find_mount(const oci::Spec& s, const std::string& dst) {
  for (const auto& m : s.mounts)
    if (m.destination == dst) return &m;
  return nullptr;
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

bool allowed(const oci::LinuxSeccomp& sc, const std::string& name) {
  for (const auto& r : sc.syscalls)
    if (r.action == "SCMP_ACT_ALLOW" && r.args.empty() && has(r.names, name)) return true;
  return false;
}

TEST(Spec, DockerDefaults) {
  auto s = build(base());
  ASSERT_TRUE(s.process && s.root && s.linux);
  EXPECT_EQ(s.root->path, "/s/rootfs");
  EXPECT_FALSE(s.root->readonly);
  EXPECT_EQ(s.hostname, "aaaaaaaaaaaa");
  EXPECT_EQ(s.process->args, (std::vector<std::string>{"sh", "-c", "true"}));
  EXPECT_EQ(s.process->user.uid, 1000u);
  EXPECT_EQ(s.process->cwd, "/");
  EXPECT_EQ(s.process->env[0], kDefaultPathEnv);
  EXPECT_TRUE(has(s.process->env, "HOSTNAME=aaaaaaaaaaaa"));
  EXPECT_TRUE(has(s.process->env, "FOO=bar"));
  EXPECT_FALSE(s.process->noNewPrivileges);
  auto caps = s.process->capabilities->bounding;
  EXPECT_EQ(caps.size(), 14u);
  EXPECT_TRUE(has(caps, "CAP_CHOWN"));
  EXPECT_TRUE(has(caps, "CAP_NET_BIND_SERVICE"));
  EXPECT_FALSE(has(caps, "CAP_SYS_ADMIN"));
  EXPECT_EQ(s.process->capabilities->effective, caps);
  // Mounts.
  for (const char* d : {"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm", "/etc/resolv.conf",
                        "/etc/hostname", "/etc/hosts"})
    EXPECT_TRUE(find_mount(s, d)) << d;
  EXPECT_EQ(find_mount(s, "/dev")->type, "tmpfs");
  EXPECT_TRUE(has(find_mount(s, "/sys")->options, "ro"));
  EXPECT_TRUE(has(find_mount(s, "/sys/fs/cgroup")->options, "ro"));
  EXPECT_TRUE(has(find_mount(s, "/dev/shm")->options, "size=67108864"));
  EXPECT_EQ(find_mount(s, "/etc/hosts")->source, "/s/hosts");
  EXPECT_EQ(find_mount(s, "/etc/hosts")->type, "bind");
  // Namespaces: all private, network included for "none".
  std::vector<std::string> ns;
  for (const auto& n : s.linux->namespaces) ns.push_back(n.type);
  EXPECT_EQ(ns, (std::vector<std::string>{"pid", "ipc", "uts", "mount", "network", "cgroup"}));
  EXPECT_EQ(s.linux->cgroupsPath, "/berth/" + std::string(64, 'a'));
  EXPECT_TRUE(has(s.linux->maskedPaths, "/proc/kcore"));
  EXPECT_TRUE(has(s.linux->maskedPaths, "/sys/firmware"));
  EXPECT_TRUE(has(s.linux->readonlyPaths, "/proc/sys"));
  EXPECT_TRUE(has(s.linux->readonlyPaths, "/proc/sysrq-trigger"));
  // Devices: deny everything, then Docker's list.
  ASSERT_FALSE(s.linux->resources->devices.empty());
  EXPECT_FALSE(s.linux->resources->devices[0].allow);
  // Seccomp: Docker's default profile, resolved for these capabilities.
  ASSERT_TRUE(s.linux->seccomp);
  EXPECT_EQ(s.linux->seccomp->defaultAction, "SCMP_ACT_ERRNO");
  EXPECT_TRUE(has(s.linux->seccomp->architectures, "SCMP_ARCH_X86_64"));
  EXPECT_TRUE(allowed(*s.linux->seccomp, "read"));
  EXPECT_TRUE(allowed(*s.linux->seccomp, "chroot"));
  EXPECT_FALSE(allowed(*s.linux->seccomp, "mount"));
  EXPECT_FALSE(allowed(*s.linux->seccomp, "reboot"));
  EXPECT_FALSE(allowed(*s.linux->seccomp, "clone"));  // only with a flags check
  // The spec is valid for berth-runtime.
  auto text = oci::to_json(s).dump();
  auto parsed = oci::parse_spec(text);
  ASSERT_TRUE(parsed) << parsed.error().what();
  EXPECT_TRUE(oci::validate_spec(*parsed)) << oci::validate_spec(*parsed).error().what();
}

TEST(Spec, UserMountsBindsVolumesTmpfs) {
  auto c = base();
  MountPoint bind;
  bind.type = "bind";
  bind.source = "/host/dir";
  bind.destination = "/data";
  bind.mode = "ro";
  bind.rw = false;
  bind.propagation = "rprivate";
  MountPoint vol;
  vol.type = "volume";
  vol.name = "v";
  vol.source = "/var/lib/berth/volumes/v/_data";
  vol.destination = "/data/sub";
  MountPoint tmp;
  tmp.type = "tmpfs";
  tmp.destination = "/run";
  tmp.tmpfs_options = "noexec,nosuid,nodev,size=1m";
  MountPoint shm;
  shm.type = "tmpfs";
  shm.destination = "/dev/shm";
  shm.tmpfs_options = "size=2m";
  c.mounts = {vol, bind, tmp, shm};
  auto s = build(c);
  auto* b = find_mount(s, "/data");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->type, "bind");
  EXPECT_EQ(b->source, "/host/dir");
  EXPECT_TRUE(has(b->options, "rbind"));
  EXPECT_TRUE(has(b->options, "ro"));
  auto* v = find_mount(s, "/data/sub");
  ASSERT_TRUE(v);
  EXPECT_FALSE(has(v->options, "ro"));
  // Parents before children.
  auto pos = [&](const std::string& d) {
    for (size_t i = 0; i < s.mounts.size(); ++i)
      if (s.mounts[i].destination == d) return i;
    return s.mounts.size();
  };
  EXPECT_LT(pos("/data"), pos("/data/sub"));
  EXPECT_TRUE(has(find_mount(s, "/run")->options, "size=1m"));
  // A user tmpfs at /dev/shm replaces the default one.
  int shm_count = 0;
  for (const auto& m : s.mounts) shm_count += m.destination == "/dev/shm";
  EXPECT_EQ(shm_count, 1);
  EXPECT_TRUE(has(find_mount(s, "/dev/shm")->options, "size=2m"));
}

TEST(Spec, CapabilitiesAndPrivileged) {
  auto c = base();
  c.host_config.cap_drop = {"ALL"};
  c.host_config.cap_add = {"net_admin", "CAP_SYS_ADMIN"};
  auto s = build(c);
  EXPECT_EQ(s.process->capabilities->bounding, (std::vector<std::string>{"CAP_NET_ADMIN", "CAP_SYS_ADMIN"}));
  // CAP_SYS_ADMIN brings mount/unshare into the seccomp allow list.
  EXPECT_TRUE(allowed(*s.linux->seccomp, "mount"));
  c.host_config.cap_add = {};
  c.host_config.cap_drop = {"chown"};
  auto d = build(c);
  EXPECT_EQ(d.process->capabilities->bounding.size(), 13u);
  EXPECT_FALSE(has(d.process->capabilities->bounding, "CAP_CHOWN"));
  EXPECT_FALSE(effective_capabilities({"CAP_BOGUS"}, {}, false));
  c = base();
  c.host_config.privileged = true;
  auto p = build(c);
  EXPECT_GT(p.process->capabilities->bounding.size(), 30u);
  EXPECT_FALSE(p.linux->seccomp);
  EXPECT_TRUE(p.linux->maskedPaths.empty());
  EXPECT_TRUE(has(find_mount(p, "/sys")->options, "rw"));
  EXPECT_TRUE(p.linux->resources->devices[0].allow);
}

TEST(Spec, ReadonlySecurityOptionsResources) {
  auto c = base();
  c.host_config.readonly_rootfs = true;
  c.host_config.security_opt = {"no-new-privileges", "seccomp=unconfined"};
  c.host_config.memory = 64 << 20;
  c.host_config.memory_swap = 128 << 20;
  c.host_config.nano_cpus = 1500000000;
  c.host_config.cpu_shares = 512;
  c.host_config.pids_limit = 100;
  c.host_config.shm_size = 1 << 20;
  c.host_config.sysctls = {{"net.ipv4.ip_forward", "1"}};
  Ulimit nofile;
  nofile.name = "nofile";
  nofile.soft = 100;
  nofile.hard = 200;
  c.host_config.ulimits = {nofile};
  c.host_config.oom_score_adj = 500;
  auto s = build(c);
  EXPECT_TRUE(s.root->readonly);
  EXPECT_TRUE(has(find_mount(s, "/etc/hosts")->options, "ro"));
  EXPECT_TRUE(s.process->noNewPrivileges);
  EXPECT_FALSE(s.linux->seccomp);
  const auto& r = *s.linux->resources;
  EXPECT_EQ(r.memory->limit, 64 << 20);
  EXPECT_EQ(r.memory->swap, 128 << 20);
  EXPECT_EQ(r.cpu->quota, 150000);
  EXPECT_EQ(r.cpu->period, 100000u);
  EXPECT_EQ(r.cpu->shares, 512u);
  EXPECT_EQ(r.pids->limit, 100);
  EXPECT_TRUE(has(find_mount(s, "/dev/shm")->options, "size=1048576"));
  EXPECT_EQ(s.linux->sysctl.at("net.ipv4.ip_forward"), "1");
  ASSERT_EQ(s.process->rlimits.size(), 1u);
  EXPECT_EQ(s.process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(s.process->rlimits[0].soft, 100u);
  EXPECT_EQ(s.process->rlimits[0].hard, 200u);
  EXPECT_EQ(s.process->oomScoreAdj, 500);
  EXPECT_FALSE(parse_security_options({"bogus=1"}));
}

TEST(Spec, HostNetworkInitTtyAndWorkdir) {
  auto c = base();
  c.host_config.network_mode = "host";
  c.config.tty = true;
  c.config.working_dir = "/srv";
  c.host_config.console_size = {30, 100};
  auto s = build(c, "/usr/bin/docker-init");
  for (const auto& n : s.linux->namespaces) EXPECT_NE(n.type, "network");
  EXPECT_TRUE(s.process->terminal);
  EXPECT_EQ(s.process->consoleSize->height, 30u);
  EXPECT_EQ(s.process->consoleSize->width, 100u);
  EXPECT_TRUE(has(s.process->env, "TERM=xterm"));
  EXPECT_EQ(s.process->cwd, "/srv");
  EXPECT_EQ(s.process->args, (std::vector<std::string>{kInitPath, "--", "sh", "-c", "true"}));
  EXPECT_EQ(find_mount(s, kInitPath)->source, "/usr/bin/docker-init");
}

TEST(Spec, ExecProcessInheritsContainer) {
  auto s = build(base());
  ExecProcessInput in;
  in.container_process = &*s.process;
  in.cmd = {"ls", "-l"};
  in.env = {"FOO=baz", "NEW=1"};
  in.tty = true;
  in.uid = 5;
  auto p = build_exec_process(in);
  EXPECT_EQ(p.args, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_TRUE(has(p.env, "FOO=baz"));
  EXPECT_FALSE(has(p.env, "FOO=bar"));
  EXPECT_TRUE(has(p.env, "NEW=1"));
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.user.uid, 5u);
  EXPECT_EQ(p.user.gid, 5u);
  EXPECT_EQ(p.capabilities->bounding.size(), 14u);
}

TEST(Seccomp, CustomProfileAndArches) {
  auto sc = resolve_seccomp_profile(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["ptrace"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
      {"names":["modify_ldt"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["arm64"]}}]})",
                                    {"CAP_CHOWN"}, "x86_64");
  ASSERT_TRUE(sc) << sc.error().what();
  EXPECT_EQ(sc->defaultAction, "SCMP_ACT_ALLOW");
  ASSERT_EQ(sc->syscalls.size(), 1u);
  EXPECT_EQ(sc->syscalls[0].names[0], "ptrace");
  auto bad = resolve_seccomp_profile(R"({"syscalls":[]})", {}, "x86_64");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("defaultAction"), std::string::npos);
  EXPECT_FALSE(resolve_seccomp_profile("{not json", {}, "x86_64"));
  // The built-in profile parses and has what any program needs.
  auto def = resolve_seccomp_profile(default_seccomp_profile(), default_capabilities(), "aarch64");
  ASSERT_TRUE(def);
  EXPECT_TRUE(has(def->architectures, "SCMP_ARCH_AARCH64"));
}

}  // namespace
}  // namespace berth::agent
