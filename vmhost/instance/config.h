// An instance's settings: embedded defaults, overridden by `berth start` flags, persisted in
// config.json so that later starts (and `berth restart`) use the same VM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/result.h"
#include "instance/mounts.h"

namespace berth::instance {

inline constexpr unsigned kDefaultCpus = 2;
inline constexpr uint64_t kDefaultMemory = uint64_t{2} << 30;
inline constexpr uint64_t kDefaultDisk = uint64_t{20} << 30;
inline constexpr uint64_t kMinMemory = uint64_t{256} << 20;
inline constexpr uint64_t kMinDisk = uint64_t{1} << 30;
inline constexpr unsigned kMaxCpus = 255;

// "amd64" or "arm64" (the guest image's naming, as in Docker platforms).
std::string host_arch();
Status validate_arch(const std::string& arch);
// "auto", "qemu" or "vz"; which one a host can run is the backend's call.
Status validate_vm_type(const std::string& vm_type);

struct Config {
  int schema = 1;
  std::string name;
  std::string arch;
  std::string vm_type = "auto";
  unsigned cpus = kDefaultCpus;
  uint64_t memory = kDefaultMemory;
  uint64_t disk = kDefaultDisk;
  std::vector<Mount> mounts;

  bool operator==(const Config&) const = default;
};

// Defaults for a new instance: host architecture, 2 CPUs, 2 GiB, 20 GiB, `home` (if not
// empty) mounted read-write at the same path.
Config default_config(const std::string& name, const std::string& home);

// What `berth start` flags ask for; unset fields keep the instance's current value.
struct Overrides {
  std::optional<unsigned> cpus;
  std::optional<uint64_t> memory;
  std::optional<uint64_t> disk;
  std::optional<std::vector<Mount>> mounts;  // replaces the list when given
  std::optional<std::string> vm_type;
  std::optional<std::string> arch;
};

// `existing` is true for an instance that already has a disk: its architecture is fixed
// and its disk can grow but not shrink.
Result<Config> apply_overrides(Config config, const Overrides& overrides, bool existing);

// Range and consistency checks; errors name the field.
Status validate(const Config& config);

std::string to_json(const Config& config);
// Errors name the field ("config.json: memory: ...").
Result<Config> from_json(std::string_view text);

Result<Config> load(const std::string& path);
Status save(const std::string& path, const Config& config);

}  // namespace berth::instance
