#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "berth/common/oci/spec.h"

namespace berth::oci {
namespace {

using Strings = std::vector<std::string>;

// What `runc spec` writes (runc 1.1), byte for byte apart from whitespace.
constexpr const char* kRuncSpec = R"json({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                   {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})json";

// Every section the types know, in the canonical form to_json writes (keys Go always emits are
// present, empty ones absent), so to_json(parse(x)) must give back exactly x.
constexpr const char* kFullSpec = R"json({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 40, "width": 120},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 27, 4294967295], "username": "svc"},
    "args": ["/usr/bin/server", "--port", "8080", ""],
    "commandLine": "server --port 8080",
    "env": ["PATH=/usr/bin:/bin", "EMPTY="],
    "cwd": "/srv",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_CHECKPOINT_RESTORE"],
      "effective": ["CAP_NET_BIND_SERVICE"],
      "inheritable": ["CAP_KILL"],
      "permitted": ["CAP_NET_BIND_SERVICE", "CAP_BPF"],
      "ambient": ["CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1024},
      {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}
    ],
    "noNewPrivileges": true,
    "apparmorProfile": "berth-default",
    "oomScoreAdj": -500,
    "scheduler": {"policy": "SCHED_DEADLINE", "nice": -5, "priority": 0, "flags": ["SCHED_FLAG_RESET_ON_FORK"],
                  "runtime": 1000000, "deadline": 5000000, "period": 10000000},
    "selinuxLabel": "system_u:system_r:container_t:s0:c1,c2",
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4}
  },
  "root": {"path": "/var/lib/berth/containers/abc/rootfs", "readonly": true},
  "hostname": "web",
  "domainname": "example.internal",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "rw"],
     "uidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
     "gidMappings": [{"containerID": 0, "hostID": 300000, "size": 1000}, {"containerID": 1000, "hostID": 1000, "size": 1}]},
    {"destination": "dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "size=64m"]}
  ],
  "hooks": {
    "prestart": [{"path": "/usr/libexec/legacy-hook"}],
    "createRuntime": [{"path": "/usr/libexec/net-setup", "args": ["net-setup", "--ns", "abc"],
                       "env": ["NETWORK=berth0"], "timeout": 10}],
    "createContainer": [{"path": "/usr/libexec/cc"}],
    "startContainer": [{"path": "/bin/echo", "args": ["echo", "started"]}],
    "poststart": [{"path": "/usr/libexec/notify", "timeout": 3}],
    "poststop": [{"path": "/usr/libexec/cleanup", "args": ["cleanup"]}, {"path": "/usr/libexec/audit"}]
  },
  "annotations": {"org.opencontainers.image.ref.name": "latest", "com.example.empty": ""},
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "timeOffsets": {"monotonic": {"secs": -86400, "nanosecs": 500}, "boottime": {"secs": 3600, "nanosecs": 0}},
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"},
    "resources": {
      "devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 136, "access": "rw"}
      ],
      "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824, "kernel": -1,
                 "kernelTCP": 67108864, "swappiness": 60, "disableOOMKiller": false, "useHierarchy": true,
                 "checkBeforeUpdate": true},
      "cpu": {"shares": 1024, "quota": 50000, "burst": 10000, "period": 100000, "realtimeRuntime": 950000,
              "realtimePeriod": 1000000, "cpus": "0-3", "mems": "0", "idle": 0},
      "pids": {"limit": 4096},
      "blockIO": {
        "weight": 500, "leafWeight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 300}, {"major": 8, "minor": 16}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 104857600}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 52428800}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 1000}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 500}]
      },
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}, {"pageSize": "1GB", "limit": 0}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}, {"name": "lo", "priority": 0}]},
      "unified": {"memory.high": "400000000", "io.max": "8:0 rbps=1048576"}
    },
    "cgroupsPath": "/berth/abc",
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/berth-abc"}, {"type": "ipc"},
                   {"type": "uts"}, {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}],
    "devices": [
      {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
      {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
      {"path": "/dev/initctl", "type": "p", "major": 0, "minor": 0}
    ],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
      "listenerPath": "/run/berth/seccomp.sock",
      "listenerMetadata": "container=abc",
      "syscalls": [
        {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 255, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
      ]
    },
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore", "/sys/firmware"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0:c1,c2",
    "intelRdt": {"closID": "guaranteed", "l3CacheSchema": "L3:0=7f0", "memBwSchema": "MB:0=20"},
    "personality": {"domain": "LINUX32", "flags": ["SOME_FUTURE_FLAG"]}
  }
})json";

TEST(OciSpec, ParsesWhatRuncSpecWrites) {
  auto spec = parse_spec(kRuncSpec);
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->ociVersion, "1.0.2-dev");
  ASSERT_TRUE(spec->process);
  const Process& p = *spec->process;
  EXPECT_TRUE(p.terminal);
  EXPECT_FALSE(p.consoleSize);
  EXPECT_EQ(p.user.uid, 0u);
  EXPECT_EQ(p.args, Strings{"sh"});
  EXPECT_EQ(p.env.at(1), "TERM=xterm");
  EXPECT_EQ(p.cwd, "/");
  ASSERT_TRUE(p.capabilities);
  EXPECT_EQ(p.capabilities->bounding, (Strings{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rlimits[0].hard, 1024u);
  EXPECT_TRUE(p.noNewPrivileges);
  ASSERT_TRUE(spec->root);
  EXPECT_EQ(spec->root->path, "rootfs");
  EXPECT_TRUE(spec->root->readonly);
  EXPECT_EQ(spec->hostname, "runc");
  ASSERT_EQ(spec->mounts.size(), 7u);
  EXPECT_EQ(spec->mounts[2].destination, "/dev/pts");
  EXPECT_EQ(spec->mounts[2].options.at(3), "ptmxmode=0666");
  EXPECT_FALSE(spec->hooks);
  ASSERT_TRUE(spec->linux);
  ASSERT_TRUE(spec->linux->resources);
  ASSERT_EQ(spec->linux->resources->devices.size(), 1u);
  EXPECT_FALSE(spec->linux->resources->devices[0].allow);
  EXPECT_EQ(spec->linux->resources->devices[0].access, "rwm");
  EXPECT_FALSE(spec->linux->resources->devices[0].major);
  ASSERT_EQ(spec->linux->namespaces.size(), 6u);
  EXPECT_EQ(spec->linux->namespaces[5].type, "cgroup");
  EXPECT_TRUE(spec->linux->namespaces[5].path.empty());
  EXPECT_EQ(spec->linux->maskedPaths.size(), 10u);
  EXPECT_EQ(spec->linux->readonlyPaths.back(), "/proc/sysrq-trigger");

  auto valid = validate_spec(*spec);
  EXPECT_TRUE(valid) << valid.error().message;
  EXPECT_EQ(to_json(*spec), Json::parse(kRuncSpec));
}

TEST(OciSpec, FullSpecParsesIntoTheRightFields) {
  auto spec = parse_spec(kFullSpec);
  ASSERT_TRUE(spec) << spec.error().message;
  const Process& p = spec->process.value();
  EXPECT_EQ(p.consoleSize.value().height, 40u);
  EXPECT_EQ(p.consoleSize->width, 120u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1001u);
  EXPECT_EQ(p.user.umask, 18u);
  EXPECT_EQ(p.user.additionalGids, (std::vector<uint32_t>{5, 27, 4294967295u}));
  EXPECT_EQ(p.user.username, "svc");
  EXPECT_EQ(p.args.back(), "");
  EXPECT_EQ(p.commandLine, "server --port 8080");
  EXPECT_EQ(p.capabilities->inheritable, Strings{"CAP_KILL"});
  EXPECT_EQ(p.capabilities->permitted, (Strings{"CAP_NET_BIND_SERVICE", "CAP_BPF"}));
  EXPECT_EQ(p.rlimits[1].hard, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(p.rlimits[1].soft, 0u);
  EXPECT_EQ(p.apparmorProfile, "berth-default");
  EXPECT_EQ(p.oomScoreAdj, -500);
  const Scheduler& sched = p.scheduler.value();
  EXPECT_EQ(sched.policy, "SCHED_DEADLINE");
  EXPECT_EQ(sched.nice, -5);
  EXPECT_EQ(sched.priority, 0);
  EXPECT_EQ(sched.runtime, 1000000u);
  EXPECT_EQ(sched.deadline, 5000000u);
  EXPECT_EQ(sched.period, 10000000u);
  EXPECT_EQ(sched.flags, Strings{"SCHED_FLAG_RESET_ON_FORK"});
  EXPECT_EQ(p.ioPriority.value().class_, "IOPRIO_CLASS_BE");
  EXPECT_EQ(p.ioPriority->priority, 4);

  EXPECT_EQ(spec->domainname, "example.internal");
  const Mount& idmapped = spec->mounts.at(1);
  ASSERT_EQ(idmapped.uidMappings.size(), 1u);
  EXPECT_EQ(idmapped.uidMappings[0].hostID, 200000u);
  ASSERT_EQ(idmapped.gidMappings.size(), 2u);
  EXPECT_EQ(idmapped.gidMappings[1].containerID, 1000u);
  EXPECT_EQ(idmapped.gidMappings[0].size, 1000u);

  const Hooks& hooks = spec->hooks.value();
  EXPECT_EQ(hooks.prestart.at(0).path, "/usr/libexec/legacy-hook");
  EXPECT_EQ(hooks.createRuntime.at(0).args, (Strings{"net-setup", "--ns", "abc"}));
  EXPECT_EQ(hooks.createRuntime[0].env, Strings{"NETWORK=berth0"});
  EXPECT_EQ(hooks.createRuntime[0].timeout, 10);
  EXPECT_EQ(hooks.createContainer.at(0).path, "/usr/libexec/cc");
  EXPECT_EQ(hooks.startContainer.at(0).args.at(1), "started");
  EXPECT_EQ(hooks.poststart.at(0).timeout, 3);
  EXPECT_EQ(hooks.poststop.size(), 2u);
  EXPECT_FALSE(hooks.poststop[1].timeout);
  EXPECT_EQ(spec->annotations.at("com.example.empty"), "");

  const Linux& l = spec->linux.value();
  EXPECT_EQ(l.timeOffsets.at("monotonic").secs, -86400);
  EXPECT_EQ(l.timeOffsets.at("monotonic").nanosecs, 500u);
  EXPECT_EQ(l.timeOffsets.at("boottime").secs, 3600);
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(l.cgroupsPath, "/berth/abc");
  EXPECT_EQ(l.namespaces.at(1).path, "/var/run/netns/berth-abc");
  EXPECT_EQ(l.devices.at(0).fileMode, 438u);
  EXPECT_EQ(l.devices[0].minor, 229);
  EXPECT_EQ(l.devices[0].uid, 0u);
  EXPECT_EQ(l.devices[2].type, "p");
  EXPECT_EQ(l.rootfsPropagation, "rslave");
  EXPECT_EQ(l.mountLabel, "system_u:object_r:container_file_t:s0:c1,c2");
  EXPECT_EQ(l.intelRdt.value().l3CacheSchema, "L3:0=7f0");
  EXPECT_EQ(l.intelRdt->memBwSchema, "MB:0=20");
  EXPECT_EQ(l.personality.value().domain, "LINUX32");

  const LinuxResources& r = l.resources.value();
  EXPECT_TRUE(r.devices.at(2).allow);
  EXPECT_EQ(r.devices[2].major, 136);
  EXPECT_FALSE(r.devices[2].minor);
  const LinuxMemory& mem = r.memory.value();
  EXPECT_EQ(mem.limit, 536870912);
  EXPECT_EQ(mem.reservation, 268435456);
  EXPECT_EQ(mem.swap, 1073741824);
  EXPECT_EQ(mem.kernel, -1);
  EXPECT_EQ(mem.kernelTCP, 67108864);
  EXPECT_EQ(mem.swappiness, 60u);
  EXPECT_EQ(mem.disableOOMKiller, false);
  EXPECT_EQ(mem.useHierarchy, true);
  EXPECT_EQ(mem.checkBeforeUpdate, true);
  const LinuxCPU& cpu = r.cpu.value();
  EXPECT_EQ(cpu.shares, 1024u);
  EXPECT_EQ(cpu.quota, 50000);
  EXPECT_EQ(cpu.burst, 10000u);
  EXPECT_EQ(cpu.period, 100000u);
  EXPECT_EQ(cpu.realtimeRuntime, 950000);
  EXPECT_EQ(cpu.realtimePeriod, 1000000u);
  EXPECT_EQ(cpu.cpus, "0-3");
  EXPECT_EQ(cpu.mems, "0");
  EXPECT_EQ(cpu.idle, 0);
  EXPECT_EQ(r.pids.value().limit, 4096);
  const LinuxBlockIO& bio = r.blockIO.value();
  EXPECT_EQ(bio.weight, 500);
  EXPECT_EQ(bio.leafWeight, 300);
  EXPECT_EQ(bio.weightDevice.at(0).weight, 600);
  EXPECT_FALSE(bio.weightDevice.at(1).weight);
  EXPECT_EQ(bio.throttleReadBpsDevice.at(0).rate, 104857600u);
  EXPECT_EQ(bio.throttleWriteBpsDevice.at(0).rate, 52428800u);
  EXPECT_EQ(bio.throttleReadIOPSDevice.at(0).minor, 16);
  EXPECT_EQ(bio.throttleWriteIOPSDevice.at(0).rate, 500u);
  EXPECT_EQ(r.hugepageLimits.at(1).pageSize, "1GB");
  EXPECT_EQ(r.network.value().classID, 1048577u);
  EXPECT_EQ(r.network->priorities.at(0).priority, 500u);
  EXPECT_EQ(r.unified.at("io.max"), "8:0 rbps=1048576");

  const LinuxSeccomp& sc = l.seccomp.value();
  EXPECT_EQ(sc.defaultAction, "SCMP_ACT_ERRNO");
  EXPECT_EQ(sc.defaultErrnoRet, 1u);
  EXPECT_EQ(sc.architectures.size(), 3u);
  EXPECT_EQ(sc.flags, Strings{"SECCOMP_FILTER_FLAG_SPEC_ALLOW"});
  EXPECT_EQ(sc.listenerPath, "/run/berth/seccomp.sock");
  EXPECT_EQ(sc.listenerMetadata, "container=abc");
  ASSERT_EQ(sc.syscalls.size(), 5u);
  EXPECT_EQ(sc.syscalls[1].args.at(1).value, 8u);
  EXPECT_EQ(sc.syscalls[2].args.at(0).index, 1u);
  EXPECT_EQ(sc.syscalls[2].args[0].valueTwo, 16u);
  EXPECT_EQ(sc.syscalls[2].args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(sc.syscalls[4].errnoRet, 38u);
  EXPECT_FALSE(sc.syscalls[0].errnoRet);
}

TEST(OciSpec, FullSpecValidatesAndRoundTrips) {
  auto spec = parse_spec(kFullSpec);
  ASSERT_TRUE(spec) << spec.error().message;
  auto valid = validate_spec(*spec);
  EXPECT_TRUE(valid) << valid.error().message;

  Json emitted = to_json(*spec);
  EXPECT_EQ(emitted, Json::parse(kFullSpec)) << emitted.dump(2);

  auto again = parse_spec(emitted.dump());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *spec);
}

TEST(OciSpec, ExtremeValuesRoundTrip) {
  Spec s;
  s.ociVersion = kSpecVersion;
  s.root = Root{"/r", false};
  Process p;
  p.args = {"a"};
  p.cwd = "/";
  p.user.uid = std::numeric_limits<uint32_t>::max();
  p.oomScoreAdj = std::numeric_limits<int>::min();
  p.rlimits = {{"RLIMIT_AS", std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint64_t>::max()}};
  p.scheduler = Scheduler{"SCHED_FIFO", std::numeric_limits<int32_t>::min(), 99, {}, std::nullopt, std::nullopt, 0};
  s.process = p;
  Linux l;
  l.timeOffsets["boottime"] = {std::numeric_limits<int64_t>::min(), std::numeric_limits<uint32_t>::max()};
  LinuxResources r;
  r.memory = LinuxMemory{};
  r.memory->limit = std::numeric_limits<int64_t>::max();
  r.memory->swap = std::numeric_limits<int64_t>::min();
  r.blockIO = LinuxBlockIO{};
  r.blockIO->weight = std::numeric_limits<uint16_t>::max();
  r.pids = LinuxPids{};
  l.resources = r;
  LinuxSeccomp sc;
  sc.defaultAction = "SCMP_ACT_ALLOW";
  sc.syscalls = {{{"x"}, "SCMP_ACT_ERRNO", 0, {{5, std::numeric_limits<uint64_t>::max(), 0, "SCMP_CMP_NE"}}}};
  l.seccomp = sc;
  s.linux = l;
  s.hooks = Hooks{};

  Json j = to_json(s);
  EXPECT_TRUE(j["hooks"].is_object() && j["hooks"].empty());
  EXPECT_TRUE(j["linux"]["resources"]["memory"].contains("swap"));
  EXPECT_FALSE(j["linux"]["resources"]["memory"].contains("reservation"));
  EXPECT_EQ(j["linux"]["resources"]["pids"], (Json{{"limit", 0}}));
  auto back = parse_spec(j.dump());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  EXPECT_EQ(back->process->scheduler->period, 0u);
}

TEST(OciSpec, ToJsonOmitsUnsetAndEmpty) {
  Spec s;
  s.ociVersion = "1.2.0";
  Json j = to_json(s);
  EXPECT_EQ(j, (Json{{"ociVersion", "1.2.0"}}));

  Process p;
  EXPECT_EQ(to_json(p), (Json{{"user", {{"uid", 0}, {"gid", 0}}}, {"cwd", ""}}));
  EXPECT_EQ(to_json(LinuxResources{}), Json::object());

  s.linux = Linux{};
  s.linux->resources = LinuxResources{};
  s.linux->resources->cpu = LinuxCPU{};
  EXPECT_EQ(to_json(s)["linux"], (Json{{"resources", {{"cpu", Json::object()}}}}));
}

TEST(OciSpec, UnknownKeysAndNullsAreIgnored) {
  auto spec = parse_spec(R"({
    "ociVersion": "1.3.0", "futureTopLevel": {"x": [1, 2]},
    "process": {"args": ["sh"], "cwd": "/", "newKnob": true, "apparmorProfile": null},
    "root": {"path": "rootfs", "overlay": "yes"},
    "linux": {"vendorThing": 3, "resources": {"rdma": {"mlx5_0": {"hcaHandles": 3}}, "memory": null}},
    "windows": {"layerFolders": []}
  })");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->ociVersion, "1.3.0");
  EXPECT_EQ(spec->process->apparmorProfile, "");
  EXPECT_FALSE(spec->linux->resources->memory);
  EXPECT_TRUE(validate_spec(*spec));
}

// ---------------------------------------------------------------------------------------------
// Bad input: every error is invalid_argument and names the field.

struct BadInput {
  const char* name;
  const char* json;
  const char* message;
};

class OciSpecBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(OciSpecBadInput, NamesTheField) {
  auto spec = parse_spec(GetParam().json);
  ASSERT_FALSE(spec) << "accepted: " << GetParam().json;
  EXPECT_EQ(spec.error().code, Errc::invalid_argument);
  EXPECT_EQ(spec.error().message, GetParam().message);
}

const BadInput kBadInputs[] = {
    {"ArgNotString", R"({"process": {"args": ["sh", 1], "cwd": "/"}})",
     "config.json: process.args[1]: expected string, got number"},
    {"NamespaceTypeNotString", R"({"linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": 7}]}})",
     "config.json: linux.namespaces[2].type: expected string, got number"},
    {"NegativeUid", R"({"process": {"user": {"uid": -1, "gid": 0}}})",
     "config.json: process.user.uid: must not be negative"},
    {"UidTooLarge", R"({"process": {"user": {"uid": 4294967296, "gid": 0}}})",
     "config.json: process.user.uid: value 4294967296 out of range for uint32"},
    {"BlkioWeightTooLarge", R"({"linux": {"resources": {"blockIO": {"weight": 70000}}}})",
     "config.json: linux.resources.blockIO.weight: value 70000 out of range for uint16"},
    {"TerminalNotBool", R"({"process": {"terminal": "yes"}})",
     "config.json: process.terminal: expected boolean, got string"},
    {"MountOptionsNotArray", R"({"mounts": [{"destination": "/a"}, {"destination": "/b", "options": "ro"}]})",
     "config.json: mounts[1].options: expected array, got string"},
    {"IdMappingWithoutSize", R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000}]}})",
     "config.json: linux.uidMappings[0].size: required field missing"},
    {"TimeOffsetNanosecsNotInt", R"({"linux": {"timeOffsets": {"monotonic": {"secs": 1, "nanosecs": "5"}}}})",
     "config.json: linux.timeOffsets.monotonic.nanosecs: expected integer, got string"},
    {"TimeOffsetNotObject", R"({"linux": {"timeOffsets": {"boottime": 5}}})",
     "config.json: linux.timeOffsets.boottime: expected object, got number"},
    {"IoPriorityClassNotString", R"({"process": {"ioPriority": {"class": 2, "priority": 0}}})",
     "config.json: process.ioPriority.class: expected string, got number"},
    {"SeccompArgValueFloat",
     R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["clone"],
         "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
         {"index": 1, "value": 1.5, "op": "SCMP_CMP_EQ"}]}]}}})",
     "config.json: linux.seccomp.syscalls[0].args[1].value: expected integer, got number"},
    {"AnnotationNotString", R"({"annotations": {"org.example.key": 3}})",
     "config.json: annotations[\"org.example.key\"]: expected string, got number"},
    {"SysctlNotObject", R"({"linux": {"sysctl": ["net.ipv4.ip_forward=1"]}})",
     "config.json: linux.sysctl: expected object, got array"},
    {"RlimitWithoutSoft", R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 10}]}})",
     "config.json: process.rlimits[0].soft: required field missing"},
    {"HookTimeoutString", R"({"hooks": {"poststop": [{"path": "/bin/true", "timeout": "5"}]}})",
     "config.json: hooks.poststop[0].timeout: expected integer, got string"},
    {"OomScoreAdjOutOfInt", R"({"process": {"oomScoreAdj": 3000000000}})",
     "config.json: process.oomScoreAdj: value 3000000000 out of range for int32"},
    {"CharDeviceWithoutMajor", R"({"linux": {"devices": [{"path": "/dev/x", "type": "c", "minor": 1}]}})",
     "config.json: linux.devices[0].major: required field missing"},
    {"MemoryLimitBeyondInt64", R"({"linux": {"resources": {"memory": {"limit": 18446744073709551615}}}})",
     "config.json: linux.resources.memory.limit: integer out of range"},
    {"NiceNotInt", R"({"process": {"scheduler": {"policy": "SCHED_OTHER", "nice": "low"}}})",
     "config.json: process.scheduler.nice: expected integer, got string"},
    {"ProcessNotObject", R"({"process": "sh"})", "config.json: process: expected object, got string"},
    {"UnifiedValueNotString", R"({"linux": {"resources": {"unified": {"memory.max": 1024}}}})",
     "config.json: linux.resources.unified[\"memory.max\"]: expected string, got number"},
    {"HugepageLimitNegative", R"({"linux": {"resources": {"hugepageLimits": [{"pageSize": "2MB", "limit": -1}]}}})",
     "config.json: linux.resources.hugepageLimits[0].limit: must not be negative"},
    {"InterfacePriorityTooLarge",
     R"({"linux": {"resources": {"network": {"priorities": [{"name": "eth0", "priority": 4294967296}]}}}})",
     "config.json: linux.resources.network.priorities[0].priority: value 4294967296 out of range for uint32"},
    {"DeviceCgroupWithoutAllow", R"({"linux": {"resources": {"devices": [{"access": "rwm"}]}}})",
     "config.json: linux.resources.devices[0].allow: required field missing"},
    {"MountWithoutDestination", R"({"mounts": [{"source": "/a"}]})",
     "config.json: mounts[0].destination: required field missing"},
    {"AdditionalGidNegative", R"({"process": {"user": {"uid": 0, "gid": 0, "additionalGids": [1, -2]}}})",
     "config.json: process.user.additionalGids[1]: must not be negative"},
    {"RootReadonlyNotBool", R"({"root": {"path": "rootfs", "readonly": 1}})",
     "config.json: root.readonly: expected boolean, got number"},
    {"SeccompWithoutDefaultAction", R"({"linux": {"seccomp": {"syscalls": []}}})",
     "config.json: linux.seccomp.defaultAction: required field missing"},
    {"TopLevelArray", R"([{"ociVersion": "1.2.0"}])", "config.json: expected a JSON object, got array"},
};

INSTANTIATE_TEST_SUITE_P(Parse, OciSpecBadInput, ::testing::ValuesIn(kBadInputs),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(OciSpec, MalformedJsonIsInvalidArgument) {
  for (const char* text : {"{\"ociVersion\": ", "", "{'a': 1}", "{\"a\": 1} trailing"}) {
    auto spec = parse_spec(text);
    ASSERT_FALSE(spec) << text;
    EXPECT_EQ(spec.error().code, Errc::invalid_argument);
    EXPECT_EQ(spec.error().message.rfind("config.json: malformed JSON", 0), 0u) << spec.error().message;
  }
}

// ---------------------------------------------------------------------------------------------
// Fragments

TEST(OciSpec, ParseProcessForExec) {
  auto p = parse_process(R"({"terminal": false, "user": {"uid": 33, "gid": 33, "additionalGids": [4]},
                              "args": ["/bin/ls", "-l"], "env": ["A=b"], "cwd": "/tmp",
                              "capabilities": {"bounding": ["CAP_KILL"]}})");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->user.uid, 33u);
  EXPECT_EQ(p->args, (Strings{"/bin/ls", "-l"}));
  EXPECT_EQ(p->capabilities->bounding, Strings{"CAP_KILL"});
  EXPECT_TRUE(validate_process(*p));
  auto back = parse_process(to_json(*p).dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *p);

  auto bad = parse_process(R"({"args": [1], "cwd": "/"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad.error().message, "process: args[0]: expected string, got number");

  auto malformed = parse_process("{");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().message.rfind("process: malformed JSON", 0), 0u) << malformed.error().message;

  Process relative = *p;
  relative.cwd = "tmp";
  auto invalid = validate_process(relative);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().message, "process: cwd: must be an absolute path, got \"tmp\"");
}

TEST(OciSpec, ParseResourcesForUpdate) {
  auto r = parse_resources(R"({"memory": {"limit": 1073741824, "swap": -1}, "cpu": {"quota": -1, "cpus": "1"},
                                "pids": {"limit": 100}, "unified": {"cpu.weight": "50"}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->memory->limit, 1073741824);
  EXPECT_EQ(r->memory->swap, -1);
  EXPECT_FALSE(r->memory->reservation);
  EXPECT_EQ(r->cpu->quota, -1);
  EXPECT_EQ(r->pids->limit, 100);
  EXPECT_EQ(r->unified.at("cpu.weight"), "50");
  EXPECT_TRUE(validate_resources(*r));
  auto back = parse_resources(to_json(*r).dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *r);

  auto bad = parse_resources(R"({"memory": {"limit": "1G"}})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "resources: memory.limit: expected integer, got string");
  bad = parse_resources(R"({"cpu": {"shares": -2}})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "resources: cpu.shares: must not be negative");
  bad = parse_resources("[]");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "resources: expected a JSON object, got array");

  LinuxResources swappy;
  swappy.memory = LinuxMemory{};
  swappy.memory->swappiness = 101;
  auto invalid = validate_resources(swappy);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().message, "resources: memory.swappiness: must be between 0 and 100, got 101");
}

// ---------------------------------------------------------------------------------------------
// validate_spec

Scheduler scheduler(std::string policy, std::optional<int32_t> priority = std::nullopt,
                    std::optional<uint64_t> runtime = std::nullopt) {
  Scheduler s;
  s.policy = std::move(policy);
  s.priority = priority;
  s.runtime = runtime;
  return s;
}

Spec valid_base() {
  Spec s;
  s.ociVersion = "1.2.0";
  s.root = Root{"rootfs", false};
  Process p;
  p.args = {"sh"};
  p.env = {"PATH=/bin", "HOME=/root"};
  p.cwd = "/";
  p.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
  p.capabilities = LinuxCapabilities{};
  p.capabilities->bounding = {"CAP_KILL", "CAP_CHOWN"};
  p.capabilities->permitted = {"CAP_KILL", "CAP_CHOWN"};
  s.process = p;
  s.hostname = "box";
  s.mounts = {{"/proc", "proc", "proc", {}, {}, {}}};
  s.hooks = Hooks{};
  s.hooks->createRuntime = {{"/usr/bin/hook", {}, {}, 5}};
  s.hooks->poststop = {{"/usr/bin/hook", {}, {}, std::nullopt}};
  Linux l;
  l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};
  l.devices = {{"/dev/fuse", "c", 10, 229, 0666, std::nullopt, std::nullopt}};
  l.sysctl = {{"net.ipv4.ip_forward", "1"}};
  l.resources = LinuxResources{};
  l.resources->memory = LinuxMemory{};
  LinuxSeccomp sc;
  sc.defaultAction = "SCMP_ACT_ERRNO";
  sc.syscalls = {{{"read", "write"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 1, 0, "SCMP_CMP_EQ"}}},
                 {{"ptrace"}, "SCMP_ACT_ERRNO", 1, {}}};
  l.seccomp = sc;
  s.linux = l;
  return s;
}

struct BadSpec {
  const char* name;
  std::function<void(Spec&)> mutate;
  const char* message;
};

class OciSpecInvalid : public ::testing::TestWithParam<BadSpec> {};

TEST(OciSpec, ValidBaseIsValid) {
  auto valid = validate_spec(valid_base());
  EXPECT_TRUE(valid) << valid.error().message;
}

TEST_P(OciSpecInvalid, NamesTheField) {
  Spec s = valid_base();
  GetParam().mutate(s);
  auto valid = validate_spec(s);
  ASSERT_FALSE(valid) << "accepted";
  EXPECT_EQ(valid.error().code, Errc::invalid_argument);
  EXPECT_EQ(valid.error().message, GetParam().message);
}

const BadSpec kBadSpecs[] = {
    {"NoVersion", [](Spec& s) { s.ociVersion.clear(); }, "config.json: ociVersion: required field missing"},
    {"NoRoot", [](Spec& s) { s.root.reset(); }, "config.json: root: required field missing"},
    {"NoRootPath", [](Spec& s) { s.root->path.clear(); }, "config.json: root.path: required field missing"},
    {"EmptyArgs", [](Spec& s) { s.process->args.clear(); }, "config.json: process.args: must not be empty"},
    {"EmptyExecutable", [](Spec& s) { s.process->args = {"", "x"}; },
     "config.json: process.args[0]: must not be empty"},
    {"NulInArg", [](Spec& s) { s.process->args.push_back(std::string("a\0b", 3)); },
     "config.json: process.args[1]: contains a NUL byte"},
    {"RelativeCwd", [](Spec& s) { s.process->cwd = "srv"; },
     "config.json: process.cwd: must be an absolute path, got \"srv\""},
    {"EmptyCwd", [](Spec& s) { s.process->cwd.clear(); }, "config.json: process.cwd: required field missing"},
    {"EnvWithoutEquals", [](Spec& s) { s.process->env[1] = "NOEQUALS"; },
     "config.json: process.env[1]: expected KEY=value, got \"NOEQUALS\""},
    {"MountWithoutDestination", [](Spec& s) { s.mounts[0].destination.clear(); },
     "config.json: mounts[0].destination: required field missing"},
    {"UnknownNamespace", [](Spec& s) { s.linux->namespaces[2].type = "foo"; },
     "config.json: linux.namespaces[2].type: unknown namespace type \"foo\""},
    {"DuplicateNamespace", [](Spec& s) { s.linux->namespaces.push_back({"pid", ""}); },
     "config.json: linux.namespaces[5].type: duplicate namespace \"pid\""},
    {"RelativeNamespacePath", [](Spec& s) { s.linux->namespaces[1].path = "proc/1/ns/net"; },
     "config.json: linux.namespaces[1].path: must be an absolute path, got \"proc/1/ns/net\""},
    {"UidMappingsWithoutUserns", [](Spec& s) { s.linux->uidMappings = {{0, 1000, 1}}; },
     "config.json: linux.uidMappings: requires a user namespace"},
    {"GidMappingsWithoutUserns", [](Spec& s) { s.linux->gidMappings = {{0, 1000, 1}}; },
     "config.json: linux.gidMappings: requires a user namespace"},
    {"UsernsWithoutMappings", [](Spec& s) { s.linux->namespaces.push_back({"user", ""}); },
     "config.json: linux.uidMappings: a new user namespace needs uid and gid mappings"},
    {"ZeroSizeMapping",
     [](Spec& s) {
       s.linux->namespaces.push_back({"user", ""});
       s.linux->uidMappings = {{0, 1000, 1}, {1, 100000, 0}};
     },
     "config.json: linux.uidMappings[1].size: must be greater than 0"},
    {"MappingOverflow",
     [](Spec& s) {
       s.linux->namespaces.push_back({"user", ""});
       s.linux->gidMappings = {{0, 4294967295u, 2}};
     },
     "config.json: linux.gidMappings[0].size: hostID + size exceeds 2^32"},
    {"TimeOffsetsWithoutTimens", [](Spec& s) { s.linux->timeOffsets["monotonic"] = {1, 0}; },
     "config.json: linux.timeOffsets: requires a time namespace"},
    {"TimeOffsetsJoiningTimens",
     [](Spec& s) {
       s.linux->namespaces.push_back({"time", "/proc/7/ns/time"});
       s.linux->timeOffsets["monotonic"] = {1, 0};
     },
     "config.json: linux.timeOffsets: cannot be applied when joining an existing time namespace"},
    {"UnknownClock",
     [](Spec& s) {
       s.linux->namespaces.push_back({"time", ""});
       s.linux->timeOffsets["realtime"] = {1, 0};
     },
     "config.json: linux.timeOffsets.realtime: unknown clock \"realtime\" (monotonic or boottime)"},
    {"NanosecsTooLarge",
     [](Spec& s) {
       s.linux->namespaces.push_back({"time", ""});
       s.linux->timeOffsets["boottime"] = {1, 1000000000};
     },
     "config.json: linux.timeOffsets.boottime.nanosecs: must be less than 1000000000"},
    {"UnknownRlimit", [](Spec& s) { s.process->rlimits[0].type = "RLIMIT_FOO"; },
     "config.json: process.rlimits[0].type: unknown rlimit type \"RLIMIT_FOO\""},
    {"SoftAboveHard", [](Spec& s) { s.process->rlimits[0].soft = 2048; },
     "config.json: process.rlimits[0].soft: soft limit 2048 exceeds hard limit 1024"},
    {"DuplicateRlimit", [](Spec& s) { s.process->rlimits.push_back({"RLIMIT_NOFILE", 1, 1}); },
     "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""},
    {"UnknownCapability", [](Spec& s) { s.process->capabilities->permitted[1] = "CAP_FLY"; },
     "config.json: process.capabilities.permitted[1]: unknown capability \"CAP_FLY\""},
    {"CapabilityWithoutPrefix", [](Spec& s) { s.process->capabilities->ambient = {"KILL"}; },
     "config.json: process.capabilities.ambient[0]: unknown capability \"KILL\""},
    {"OomScoreAdjRange", [](Spec& s) { s.process->oomScoreAdj = 1001; },
     "config.json: process.oomScoreAdj: must be between -1000 and 1000, got 1001"},
    {"UmaskRange", [](Spec& s) { s.process->user.umask = 01000; },
     "config.json: process.user.umask: must be at most 0777, got 512"},
    {"RelativeHookPath", [](Spec& s) { s.hooks->createRuntime[0].path = "bin/hook"; },
     "config.json: hooks.createRuntime[0].path: must be an absolute path, got \"bin/hook\""},
    {"ZeroHookTimeout", [](Spec& s) { s.hooks->poststop[0].timeout = 0; },
     "config.json: hooks.poststop[0].timeout: must be greater than 0, got 0"},
    {"BadDeviceType", [](Spec& s) { s.linux->devices[0].type = "x"; },
     "config.json: linux.devices[0].type: must be c, b, u or p, got \"x\""},
    {"RelativeDevicePath", [](Spec& s) { s.linux->devices[0].path = "dev/fuse"; },
     "config.json: linux.devices[0].path: must be an absolute path, got \"dev/fuse\""},
    {"NegativeDeviceMajor", [](Spec& s) { s.linux->devices[0].major = -3; },
     "config.json: linux.devices[0].major: must not be negative"},
    {"UnknownDefaultAction", [](Spec& s) { s.linux->seccomp->defaultAction = "SCMP_ACT_MAYBE"; },
     "config.json: linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_MAYBE\""},
    {"UnknownSyscallAction", [](Spec& s) { s.linux->seccomp->syscalls[1].action = "ALLOW"; },
     "config.json: linux.seccomp.syscalls[1].action: unknown seccomp action \"ALLOW\""},
    {"UnknownArgOp", [](Spec& s) { s.linux->seccomp->syscalls[0].args[0].op = "SCMP_CMP_ABOUT"; },
     "config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_ABOUT\""},
    {"ArgIndexTooLarge", [](Spec& s) { s.linux->seccomp->syscalls[0].args[0].index = 6; },
     "config.json: linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5, got 6"},
    {"ErrnoRetWithAllow", [](Spec& s) { s.linux->seccomp->syscalls[0].errnoRet = 1; },
     "config.json: linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
    {"NotifyWithoutListener", [](Spec& s) { s.linux->seccomp->syscalls[1].action = "SCMP_ACT_NOTIFY"; },
     "config.json: linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY"},
    {"UnknownArch", [](Spec& s) { s.linux->seccomp->architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"}; },
     "config.json: linux.seccomp.architectures[1]: unknown seccomp architecture \"SCMP_ARCH_Z80\""},
    {"EmptySyscallNames", [](Spec& s) { s.linux->seccomp->syscalls[0].names.clear(); },
     "config.json: linux.seccomp.syscalls[0].names: must not be empty"},
    {"EmptySysctlKey", [](Spec& s) { s.linux->sysctl[""] = "1"; },
     "config.json: linux.sysctl[\"\"]: empty sysctl name"},
    {"BadPersonality", [](Spec& s) { s.linux->personality = LinuxPersonality{"LINUX64", {}}; },
     "config.json: linux.personality.domain: must be LINUX or LINUX32, got \"LINUX64\""},
    {"BadIoPriorityClass", [](Spec& s) { s.process->ioPriority = LinuxIOPriority{"IOPRIO_CLASS_FAST", 0}; },
     "config.json: process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_FAST\""},
    {"IoPriorityRange", [](Spec& s) { s.process->ioPriority = LinuxIOPriority{"IOPRIO_CLASS_RT", 8}; },
     "config.json: process.ioPriority.priority: must be between 0 and 7, got 8"},
    {"BadSchedulerPolicy", [](Spec& s) { s.process->scheduler = scheduler("SCHED_FAST"); },
     "config.json: process.scheduler.policy: unknown scheduler policy \"SCHED_FAST\""},
    {"PriorityWithSchedOther", [](Spec& s) { s.process->scheduler = scheduler("SCHED_OTHER", 10); },
     "config.json: process.scheduler.priority: only valid with SCHED_FIFO or SCHED_RR"},
    {"RuntimeWithoutDeadline",
     [](Spec& s) { s.process->scheduler = scheduler("SCHED_RR", 5, 100); },
     "config.json: process.scheduler.runtime: only valid with SCHED_DEADLINE"},
    {"HostnameWithoutUts", [](Spec& s) { s.linux->namespaces.erase(s.linux->namespaces.begin() + 3); },
     "config.json: hostname: requires a uts namespace"},
    {"IdmapOnlyUid",
     [](Spec& s) {
       s.mounts.push_back({"/data", "bind", "/srv", {"rbind"}, {{0, 1000, 10}}, {}});
     },
     "config.json: mounts[1].gidMappings: id-mapped mounts need both uidMappings and gidMappings"},
    {"IdmapNotBind",
     [](Spec& s) {
       s.mounts[0].uidMappings = {{0, 1000, 10}};
       s.mounts[0].gidMappings = {{0, 1000, 10}};
     },
     "config.json: mounts[0].uidMappings: id-mapped mounts must be bind mounts"},
    {"Swappiness", [](Spec& s) { s.linux->resources->memory->swappiness = 200; },
     "config.json: linux.resources.memory.swappiness: must be between 0 and 100, got 200"},
    {"SwapBelowLimit",
     [](Spec& s) {
       s.linux->resources->memory->limit = 2048;
       s.linux->resources->memory->swap = 1024;
     },
     "config.json: linux.resources.memory.swap: memory+swap limit must not be lower than the memory limit"},
    {"BlkioWeightRange",
     [](Spec& s) {
       s.linux->resources->blockIO = LinuxBlockIO{};
       s.linux->resources->blockIO->weightDevice = {{8, 0, 5, std::nullopt}};
     },
     "config.json: linux.resources.blockIO.weightDevice[0].weight: must be 0 (unset) or between 10 and 1000, got 5"},
    {"DeviceCgroupAccess", [](Spec& s) { s.linux->resources->devices = {{true, "c", 1, 3, "rwx"}}; },
     "config.json: linux.resources.devices[0].access: must be a combination of r, w and m, got \"rwx\""},
    {"HugepageSize", [](Spec& s) { s.linux->resources->hugepageLimits = {{"2M", 1}}; },
     "config.json: linux.resources.hugepageLimits[0].pageSize: expected a size like \"2MB\", got \"2M\""},
    {"UnifiedKeyWithSlash", [](Spec& s) { s.linux->resources->unified = {{"../cpu.max", "1"}}; },
     "config.json: linux.resources.unified[\"../cpu.max\"]: must be a cgroup file name"},
    {"RelativeMaskedPath", [](Spec& s) { s.linux->maskedPaths = {"/proc/kcore", "proc/keys"}; },
     "config.json: linux.maskedPaths[1]: must be an absolute path, got \"proc/keys\""},
    {"BadPropagation", [](Spec& s) { s.linux->rootfsPropagation = "rsomething"; },
     "config.json: linux.rootfsPropagation: unknown propagation \"rsomething\""},
    {"EmptyAnnotationKey", [](Spec& s) { s.annotations[""] = "x"; },
     "config.json: annotations: keys must not be empty"},
};

INSTANTIATE_TEST_SUITE_P(Validate, OciSpecInvalid, ::testing::ValuesIn(kBadSpecs),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(OciSpec, ValidateAcceptsWhatRuncAccepts) {
  Spec s = valid_base();
  // Relative mount destinations: runc warns and mounts them under the root.
  s.mounts.push_back({"dev/shm", "tmpfs", "shm", {}, {}, {}});
  // No process: allowed by the spec; `create` checks for it.
  s.process.reset();
  // Joining an existing user namespace needs no mappings.
  s.linux->namespaces.push_back({"user", "/proc/1/ns/user"});
  // uint64 max is the "leave it alone" spelling of -1 some clients send.
  s.linux->resources->memory->swappiness = std::numeric_limits<uint64_t>::max();
  auto valid = validate_spec(s);
  EXPECT_TRUE(valid) << valid.error().message;

  // Priority 0 is what Go's omitempty drops, so it does not count as set.
  Spec t = valid_base();
  t.process->scheduler = scheduler("SCHED_OTHER", 0, 0);
  valid = validate_spec(t);
  EXPECT_TRUE(valid) << valid.error().message;
}

TEST(OciSpec, Helpers) {
  EXPECT_EQ(mount_destination("dev/shm"), "/dev/shm");
  EXPECT_EQ(mount_destination("/proc"), "/proc");
  EXPECT_EQ(capability_from_name("CAP_CHOWN"), 0);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(capability_from_name("CAP_NOPE"));
  EXPECT_FALSE(capability_from_name("cap_chown"));
  EXPECT_EQ(rlimit_from_name("RLIMIT_CPU"), 0);
  EXPECT_EQ(rlimit_from_name("RLIMIT_NOFILE"), 7);
  EXPECT_EQ(rlimit_from_name("RLIMIT_RTTIME"), 15);
  EXPECT_FALSE(rlimit_from_name("RLIMIT_NOPE"));
}

}  // namespace
}  // namespace berth::oci
