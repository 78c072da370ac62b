// OCI runtime-spec (config.json) types. Type names follow specs-go/config.go; field names
// are the JSON keys, so `spec.linux->resources->memory->limit` reads like the document.
// Optional objects and scalars are std::optional; absent arrays are empty vectors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"

namespace berth::oci {

using StringMap = std::map<std::string, std::string>;

struct Box {
  uint32_t height = 0;
  uint32_t width = 0;

  bool operator==(const Box&) const = default;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additionalGids;
  std::string username;  // Windows only; kept for round-tripping

  bool operator==(const User&) const = default;
};

struct LinuxCapabilities {
  std::vector<std::string> bounding;
  std::vector<std::string> effective;
  std::vector<std::string> inheritable;
  std::vector<std::string> permitted;
  std::vector<std::string> ambient;

  bool operator==(const LinuxCapabilities&) const = default;
};

struct POSIXRlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;

  bool operator==(const POSIXRlimit&) const = default;
};

struct LinuxIOPriority {
  std::string class_;  // JSON "class": IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE
  int priority = 0;

  bool operator==(const LinuxIOPriority&) const = default;
};

struct Scheduler {
  std::string policy;  // SCHED_OTHER, SCHED_FIFO, ...
  std::optional<int32_t> nice;
  std::optional<int32_t> priority;
  std::vector<std::string> flags;
  std::optional<uint64_t> runtime;
  std::optional<uint64_t> deadline;
  std::optional<uint64_t> period;

  bool operator==(const Scheduler&) const = default;
};

struct Process {
  bool terminal = false;
  std::optional<Box> consoleSize;
  User user;
  std::vector<std::string> args;
  std::optional<std::string> commandLine;
  std::vector<std::string> env;
  std::string cwd;
  std::optional<LinuxCapabilities> capabilities;
  std::vector<POSIXRlimit> rlimits;
  bool noNewPrivileges = false;
  std::string apparmorProfile;
  std::optional<int> oomScoreAdj;
  std::optional<Scheduler> scheduler;
  std::string selinuxLabel;
  std::optional<LinuxIOPriority> ioPriority;

  bool operator==(const Process&) const = default;
};

struct Root {
  std::string path;
  bool readonly = false;

  bool operator==(const Root&) const = default;
};

struct LinuxIDMapping {
  uint32_t containerID = 0;
  uint32_t hostID = 0;
  uint32_t size = 0;

  bool operator==(const LinuxIDMapping&) const = default;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<LinuxIDMapping> uidMappings;
  std::vector<LinuxIDMapping> gidMappings;

  bool operator==(const Mount&) const = default;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds

  bool operator==(const Hook&) const = default;
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated, still honoured
  std::vector<Hook> createRuntime;
  std::vector<Hook> createContainer;
  std::vector<Hook> startContainer;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;

  bool operator==(const Hooks&) const = default;
};

struct LinuxNamespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // empty: create a new one

  bool operator==(const LinuxNamespace&) const = default;
};

struct LinuxDevice {
  std::string path;
  std::string type;  // c b u p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> fileMode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;

  bool operator==(const LinuxDevice&) const = default;
};

struct LinuxDeviceCgroup {
  bool allow = false;
  std::string type;  // a c b; empty means all
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // rwm

  bool operator==(const LinuxDeviceCgroup&) const = default;
};

struct LinuxMemory {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernelTCP;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disableOOMKiller;
  std::optional<bool> useHierarchy;
  std::optional<bool> checkBeforeUpdate;

  bool operator==(const LinuxMemory&) const = default;
};

struct LinuxCPU {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtimeRuntime;
  std::optional<uint64_t> realtimePeriod;
  std::string cpus;
  std::string mems;
  std::optional<int64_t> idle;

  bool operator==(const LinuxCPU&) const = default;
};

struct LinuxPids {
  int64_t limit = 0;

  bool operator==(const LinuxPids&) const = default;
};

struct LinuxWeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leafWeight;

  bool operator==(const LinuxWeightDevice&) const = default;
};

struct LinuxThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;

  bool operator==(const LinuxThrottleDevice&) const = default;
};

struct LinuxBlockIO {
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leafWeight;
  std::vector<LinuxWeightDevice> weightDevice;
  std::vector<LinuxThrottleDevice> throttleReadBpsDevice;
  std::vector<LinuxThrottleDevice> throttleWriteBpsDevice;
  std::vector<LinuxThrottleDevice> throttleReadIOPSDevice;
  std::vector<LinuxThrottleDevice> throttleWriteIOPSDevice;

  bool operator==(const LinuxBlockIO&) const = default;
};

struct LinuxHugepageLimit {
  std::string pageSize;  // "2MB"
  uint64_t limit = 0;

  bool operator==(const LinuxHugepageLimit&) const = default;
};

struct LinuxInterfacePriority {
  std::string name;
  uint32_t priority = 0;

  bool operator==(const LinuxInterfacePriority&) const = default;
};

struct LinuxNetwork {
  std::optional<uint32_t> classID;
  std::vector<LinuxInterfacePriority> priorities;

  bool operator==(const LinuxNetwork&) const = default;
};

struct LinuxResources {
  std::vector<LinuxDeviceCgroup> devices;
  std::optional<LinuxMemory> memory;
  std::optional<LinuxCPU> cpu;
  std::optional<LinuxPids> pids;
  std::optional<LinuxBlockIO> blockIO;
  std::vector<LinuxHugepageLimit> hugepageLimits;
  std::optional<LinuxNetwork> network;
  StringMap unified;

  bool operator==(const LinuxResources&) const = default;
};

struct LinuxSeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t valueTwo = 0;
  std::string op;  // SCMP_CMP_EQ ...

  bool operator==(const LinuxSeccompArg&) const = default;
};

struct LinuxSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<uint32_t> errnoRet;
  std::vector<LinuxSeccompArg> args;

  bool operator==(const LinuxSyscall&) const = default;
};

struct LinuxSeccomp {
  std::string defaultAction;
  std::optional<uint32_t> defaultErrnoRet;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::string listenerPath;
  std::string listenerMetadata;
  std::vector<LinuxSyscall> syscalls;

  bool operator==(const LinuxSeccomp&) const = default;
};

struct LinuxPersonality {
  std::string domain;  // LINUX | LINUX32
  std::vector<std::string> flags;

  bool operator==(const LinuxPersonality&) const = default;
};

struct LinuxTimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;

  bool operator==(const LinuxTimeOffset&) const = default;
};

struct LinuxIntelRdt {
  std::string closID;
  std::string l3CacheSchema;
  std::string memBwSchema;

  bool operator==(const LinuxIntelRdt&) const = default;
};

struct Linux {
  std::vector<LinuxIDMapping> uidMappings;
  std::vector<LinuxIDMapping> gidMappings;
  std::map<std::string, LinuxTimeOffset> timeOffsets;  // "monotonic", "boottime"
  StringMap sysctl;
  std::optional<LinuxResources> resources;
  std::string cgroupsPath;
  std::vector<LinuxNamespace> namespaces;
  std::vector<LinuxDevice> devices;
  std::optional<LinuxSeccomp> seccomp;
  std::string rootfsPropagation;
  std::vector<std::string> maskedPaths;
  std::vector<std::string> readonlyPaths;
  std::string mountLabel;
  std::optional<LinuxIntelRdt> intelRdt;
  std::optional<LinuxPersonality> personality;

  bool operator==(const Linux&) const = default;
};

struct Spec {
  std::string ociVersion;
  std::optional<Process> process;
  std::optional<Root> root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  StringMap annotations;
  std::optional<Linux> linux;

  bool operator==(const Spec&) const = default;
};

// Parses config.json text. Errors are Errc::invalid_argument naming the field
// ("linux.namespaces[2].type: unknown namespace type \"foo\"").
// parse_spec checks JSON types, integer ranges and members the struct cannot represent as
// absent (e.g. an ID mapping's size); enum values, paths and cross-field rules are validate_spec's.
Result<Spec> parse_spec(std::string_view text);
// Semantic checks beyond types (required fields, known enum values, absolute paths).
Status validate_spec(const Spec& spec);

// Fragments, for `exec --process` and `update --resources`.
Result<Process> parse_process(std::string_view text);
Result<LinuxResources> parse_resources(std::string_view text);

Json to_json(const Spec& spec);
Json to_json(const Process& process);
Json to_json(const LinuxResources& resources);

// Checks for the fragments on their own, as `exec --process` and `update --resources` need them.
// Errors are prefixed "process: " / "resources: " instead of "config.json: ".
Status validate_process(const Process& process);
Status validate_resources(const LinuxResources& resources);

// CAP_CHOWN … CAP_CHECKPOINT_RESTORE → 0 … 40; nullopt for names this runtime does not know.
std::optional<int> capability_from_name(std::string_view name);
// RLIMIT_CPU … RLIMIT_RTTIME → the asm-generic numbers (what amd64 and arm64 use); nullopt if unknown.
std::optional<int> rlimit_from_name(std::string_view name);

// validate_spec accepts relative mount destinations because runc does (with a warning) and
// old bundles rely on it; they are relative to the container's root. This gives the
// absolute in-container path: "dev/shm" → "/dev/shm", "/proc" unchanged.
std::string mount_destination(std::string_view destination);

// The runtime-spec version this runtime implements.
inline constexpr const char* kSpecVersion = "1.2.0";

}  // namespace berth::oci
