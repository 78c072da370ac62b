// The image config document (OCI image-spec config / Docker container.image.v1) and what the
// runtime spec needs from it: env, args, cwd, the user resolved against the image's own
// /etc/passwd and /etc/group, ports, volumes, labels, stop signal, healthcheck.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"

namespace berth::agent::image {

struct Healthcheck {
  std::vector<std::string> test;  // ["CMD-SHELL", "curl -f …"], ["NONE"], …
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
};

struct HistoryItem {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  std::string created;
  std::string author;

  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> shell;
  std::vector<std::string> on_build;
  std::string working_dir;
  std::string stop_signal;
  std::vector<std::string> exposed_ports;  // "80/tcp", sorted
  std::vector<std::string> volumes;        // sorted
  std::map<std::string, std::string> labels;
  std::optional<Healthcheck> healthcheck;
  bool args_escaped = false;

  std::vector<std::string> diff_ids;
  std::vector<HistoryItem> history;

  Json raw;  // the whole document, for inspect
};

// RFC 3339 ("2024-01-02T03:04:05.123456789Z", "+01:00" offsets) to unix seconds; 0 if
// unreadable (the config's `created` and its history's).
int64_t parse_config_time(const std::string& text);

// Errors name the field ("config.Env[2]: expected string").
Result<ImageConfig> parse_image_config(std::string_view json);

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string name;  // empty when the spec was numeric and not in passwd
  std::string home = "/";
};

// Resolves a Docker USER spec ("", "name", "1000", "name:group", "1000:1000", "name:100")
// inside the rootfs directory `rootfs_fd`. Names come from the rootfs's /etc/passwd and
// /etc/group, opened with the rootfs as root so image symlinks cannot point at host files.
// Unknown names are Errc::invalid_argument with runc's wording; numeric ids pass through.
Result<ResolvedUser> resolve_user(int rootfs_fd, std::string_view spec);
// Same, from already-read file contents (either may be empty).
Result<ResolvedUser> resolve_user_from(std::string_view spec, std::string_view passwd, std::string_view group);

// Image env with `overrides` applied by variable name, order kept.
std::vector<std::string> merge_env(const std::vector<std::string>& image_env, const std::vector<std::string>& overrides);
// Docker's rule: an explicit entrypoint drops the image's Cmd unless a cmd is given too.
std::vector<std::string> process_args(const ImageConfig& config,
                                      const std::optional<std::vector<std::string>>& entrypoint_override,
                                      const std::optional<std::vector<std::string>>& cmd_override);

}  // namespace berth::agent::image
