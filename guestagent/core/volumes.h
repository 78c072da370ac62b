// Docker volumes with the "local" driver: <state-root>/volumes/<name>/_data, metadata in
// <name>/volume.json. Anonymous volumes carry the label com.docker.volume.anonymous as in
// Docker >= 23, which is what `volume prune` and `rm -v` look for.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"

namespace berth::agent {

inline constexpr const char* kAnonymousVolumeLabel = "com.docker.volume.anonymous";

struct Volume {
  std::string name;
  std::string driver = "local";
  std::string mountpoint;  // the _data directory
  std::string created_at;  // RFC 3339
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;

  bool anonymous() const { return labels.count(kAnonymousVolumeLabel) != 0; }
};

// Docker's volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least).
bool valid_volume_name(std::string_view name);
// dockerd's message for a name that is not one (and is not an absolute path either).
std::string invalid_volume_name_message(std::string_view name);

Json to_json(const Volume& v, std::optional<int64_t> size = std::nullopt, std::optional<int64_t> ref_count = std::nullopt);

class VolumeStore {
 public:
  explicit VolumeStore(std::string root);  // <state-root>/volumes
  Status load();

  // Creates the volume, or returns the existing one of that name (Docker's behaviour).
  // An empty name makes an anonymous volume with a random name.
  Result<Volume> create(std::string name, std::map<std::string, std::string> labels,
                        std::map<std::string, std::string> options, bool anonymous = false);
  Result<Volume> get(const std::string& name) const;
  std::vector<Volume> list() const;
  // `users` are the containers using it (from the container manager): a non-empty list is
  // Errc::conflict unless `force`... which Docker also refuses for volumes in use.
  Status remove(const std::string& name, const std::vector<std::string>& users);
  // Apparent size of the volume's data.
  int64_t size(const std::string& name) const;

 private:
  std::string dir(const std::string& name) const { return root_ + "/" + name; }
  std::string root_;
  mutable std::mutex mu_;
  std::map<std::string, Volume> volumes_;
};

}  // namespace berth::agent
