// berth-agent's configuration file, in dockerd's daemon.json format. berth reads the registry
// settings from it: "registry-mirrors" (for docker.io) and "insecure-registries" (hosts and
// CIDRs). `berth-agent --config-file PATH` names it; without the flag `<state-root>/daemon.json`
// is read when it exists. Other dockerd keys are accepted and reported as unused.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "image/registry_client.h"

namespace berth::agent {

struct DaemonConfig {
  bool has_mirrors = false;
  std::vector<std::string> registry_mirrors;
  bool has_insecure = false;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> unused_keys;  // dockerd options berth does not implement
};

// Errc::invalid_argument naming the file and the field for malformed JSON or wrong types.
Result<DaemonConfig> parse_daemon_config(std::string_view text, const std::string& path);
// Reads `path`; a missing file is an error only when `must_exist` (an explicit --config-file).
Result<DaemonConfig> load_daemon_config(const std::string& path, bool must_exist);

// The registry settings from the flags (`flags`) and the file, validated as dockerd does
// (mirrors normalised to "https://host/", insecure entries checked). Like dockerd, an option
// given both as a flag and in the file is an error.
Result<image::RegistryConfig> merge_registry_config(image::RegistryConfig flags, const DaemonConfig& file);

// GET /info's RegistryConfig: IndexConfigs, InsecureRegistryCIDRs, Mirrors.
Json registry_info_json(const image::RegistryConfig& config);

}  // namespace berth::agent
