#include "mounts.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "berth/common/fs.h"

namespace berth::agent {

namespace {

const std::set<std::string> kPropagations = {"shared", "rshared", "slave", "rslave", "private", "rprivate"};

std::string clean_path(std::string p) {
  // Collapses "//" and a trailing "/" so duplicate detection sees "/data/" and "/data" as one.
  std::string out;
  for (char c : p) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

Status check_destination(const std::string& spec, const std::string& dst, const std::string& type) {
  if (dst.empty() || dst.front() != '/')
    return make_error(Errc::invalid_argument, "invalid volume specification: '" + spec + "': invalid mount config for type \"" +
                                                  type + "\": invalid mount path: '" + dst + "' mount path must be absolute");
  if (clean_path(dst) == "/")
    return make_error(Errc::invalid_argument, "invalid specification: destination can't be '/' in '" + spec + "'");
  return ok();
}

// Applies a Binds mode ("ro,z,rshared,nocopy") to the mount point.
Status apply_mode(const std::string& spec, const std::string& mode, MountPoint& mp) {
  mp.mode = mode;
  int rw_seen = 0, prop_seen = 0;
  size_t pos = 0;
  while (pos <= mode.size()) {
    size_t comma = mode.find(',', pos);
    std::string opt = mode.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? mode.size() + 1 : comma + 1;
    if (opt.empty()) continue;
    if (opt == "ro" || opt == "rw") {
      mp.rw = opt == "rw";
      ++rw_seen;
    } else if (kPropagations.count(opt)) {
      if (mp.type != "bind") return make_error(Errc::invalid_argument, "invalid mode: " + mode);
      mp.propagation = opt;
      ++prop_seen;
    } else if (opt == "nocopy") {
      if (mp.type != "volume") return make_error(Errc::invalid_argument, "invalid mode: " + mode);
      mp.copy_up = false;
    } else if (opt == "z" || opt == "Z" || opt == "consistent" || opt == "cached" || opt == "delegated") {
      // SELinux relabelling and macOS consistency hints: nothing to do here.
    } else {
      return make_error(Errc::invalid_argument, "invalid mode: " + mode);
    }
  }
  if (rw_seen > 1 || prop_seen > 1)
    return make_error(Errc::invalid_argument, "invalid volume specification: '" + spec + "'");
  return ok();
}

bool is_mode_string(const std::string& s) {
  MountPoint probe;
  probe.type = "volume";
  if (apply_mode("", s, probe)) return true;
  probe.type = "bind";
  return static_cast<bool>(apply_mode("", s, probe));
}

}  // namespace

Result<MountPoint> parse_bind(const std::string& spec) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    size_t c = spec.find(':', pos);
    parts.push_back(spec.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  std::string src, dst, mode;
  switch (parts.size()) {
    case 1:
      dst = parts[0];
      break;
    case 2:
      if (is_mode_string(parts[1]) && !parts[1].empty() && parts[1].front() != '/') {
        dst = parts[0];
        mode = parts[1];
      } else {
        src = parts[0];
        dst = parts[1];
      }
      break;
    case 3:
      src = parts[0];
      dst = parts[1];
      mode = parts[2];
      break;
    default:
      return make_error(Errc::invalid_argument, "invalid volume specification: '" + spec + "'");
  }
  if (spec.empty() || (parts.size() > 1 && parts[0].empty()) || dst.empty())
    return make_error(Errc::invalid_argument, "invalid volume specification: '" + spec + "'");
  MountPoint mp;
  if (src.empty()) {
    mp.type = "volume";
    mp.anonymous = true;
  } else if (src.front() == '/') {
    mp.type = "bind";
    mp.source = clean_path(src);
    mp.propagation = "rprivate";
  } else {
    if (!valid_volume_name(src)) return make_error(Errc::invalid_argument, invalid_volume_name_message(src));
    mp.type = "volume";
    mp.name = src;
  }
  if (mp.type == "volume") {
    mp.driver = "local";
    mp.copy_up = true;
  }
  BERTH_TRY(check_destination(spec, dst, mp.type));
  mp.destination = clean_path(dst);
  if (!mode.empty()) BERTH_TRY(apply_mode(spec, mode, mp));
  if (mp.type == "bind" && mp.propagation.empty()) mp.propagation = "rprivate";
  return mp;
}

Result<std::string> tmpfs_options(const std::string& value, const std::string& destination) {
  std::string out = "noexec,nosuid,nodev";
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    std::string opt = value.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? value.size() + 1 : comma + 1;
    if (opt.empty()) continue;
    std::string key = opt.substr(0, opt.find('='));
    static const std::set<std::string> allowed = {"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "size",
                                                  "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol", "atime",
                                                  "noatime", "diratime", "nodiratime", "strictatime", "relatime",
                                                  "sync", "async", "dirsync", "tmpcopyup", "notmpcopyup"};
    if (!allowed.count(key))
      return make_error(Errc::invalid_argument, "invalid tmpfs option [\"" + opt + "\"] for " + destination);
    if (key == "size") {
      // Docker's units: "64m" → bytes, passed on as the kernel reads it (it knows k/m/g too).
      std::string v = opt.substr(5);
      if (v.empty() || !std::isdigit(static_cast<unsigned char>(v[0])))
        return make_error(Errc::invalid_argument, "invalid tmpfs size \"" + v + "\" for " + destination);
    }
    if (key == "tmpcopyup" || key == "notmpcopyup") continue;
    out += "," + opt;
  }
  return out;
}

Result<std::vector<MountPoint>> parse_mounts(const HostConfig& host, const std::vector<std::string>& image_volumes) {
  std::vector<MountPoint> out;
  std::set<std::string> destinations;
  auto add = [&](MountPoint mp) -> Status {
    if (!destinations.insert(mp.destination).second)
      return make_error(Errc::invalid_argument, "Duplicate mount point: " + mp.destination);
    out.push_back(std::move(mp));
    return ok();
  };
  for (const auto& b : host.binds) {
    auto mp = BERTH_TRY(parse_bind(b));
    BERTH_TRY(add(std::move(mp)));
  }
  for (const auto& m : host.mounts) {
    MountPoint mp;
    mp.type = m.type;
    std::string prefix = "invalid mount config for type \"" + m.type + "\": ";
    if (m.target.empty()) return make_error(Errc::invalid_argument, prefix + "field Target must not be empty");
    if (m.target.front() != '/')
      return make_error(Errc::invalid_argument, prefix + "invalid mount path: '" + m.target + "' mount path must be absolute");
    mp.destination = clean_path(m.target);
    if (mp.destination == "/") return make_error(Errc::invalid_argument, prefix + "invalid specification: destination can't be '/'");
    mp.rw = !m.read_only;
    mp.mode = m.read_only ? "ro" : "";
    if (m.type == "bind") {
      if (m.source.empty()) return make_error(Errc::invalid_argument, prefix + "field Source must not be empty");
      if (m.source.front() != '/')
        return make_error(Errc::invalid_argument, prefix + "invalid mount path: '" + m.source + "' mount path must be absolute");
      struct stat st {};
      if (::stat(m.source.c_str(), &st) < 0) {
        if (!m.create_mountpoint)
          return make_error(Errc::invalid_argument, prefix + "bind source path does not exist: " + m.source);
      }
      if (!m.propagation.empty() && !kPropagations.count(m.propagation))
        return make_error(Errc::invalid_argument, prefix + "invalid propagation mode: " + m.propagation);
      mp.source = clean_path(m.source);
      mp.propagation = m.propagation.empty() ? "rprivate" : m.propagation;
    } else if (m.type == "volume") {
      if (!m.source.empty() && !valid_volume_name(m.source))
        return make_error(Errc::invalid_argument, invalid_volume_name_message(m.source));
      if (!m.propagation.empty()) return make_error(Errc::invalid_argument, prefix + "field BindOptions must not be specified");
      mp.name = m.source;
      mp.anonymous = m.source.empty();
      mp.driver = "local";
      mp.copy_up = !m.no_copy;
    } else if (m.type == "tmpfs") {
      if (!m.source.empty()) return make_error(Errc::invalid_argument, prefix + "field Source must not be specified");
      std::string opts = "noexec,nosuid,nodev";
      if (m.tmpfs_size < 0) return make_error(Errc::invalid_argument, prefix + "invalid tmpfs size");
      if (m.tmpfs_size > 0) opts += ",size=" + std::to_string(m.tmpfs_size);
      if (m.tmpfs_mode) {
        char b[16];
        std::snprintf(b, sizeof b, "%o", m.tmpfs_mode);
        opts += ",mode=" + std::string(b);
      }
      if (m.read_only) opts += ",ro";
      mp.tmpfs_options = opts;
    } else {
      return make_error(Errc::invalid_argument, "invalid mount config: mount type unknown: \"" + m.type + "\"");
    }
    BERTH_TRY(add(std::move(mp)));
  }
  for (const auto& [dst, value] : host.tmpfs) {
    if (dst.empty() || dst.front() != '/')
      return make_error(Errc::invalid_argument, "invalid tmpfs destination: '" + dst + "' mount path must be absolute");
    MountPoint mp;
    mp.type = "tmpfs";
    mp.destination = clean_path(dst);
    mp.tmpfs_options = BERTH_TRY(tmpfs_options(value, dst));
    mp.rw = mp.tmpfs_options.find(",ro") == std::string::npos;
    BERTH_TRY(add(std::move(mp)));
  }
  // Image volumes no explicit mount covers get anonymous volumes.
  for (const auto& v : image_volumes) {
    std::string dst = clean_path(v);
    if (dst.empty() || dst.front() != '/' || destinations.count(dst)) continue;
    MountPoint mp;
    mp.type = "volume";
    mp.destination = dst;
    mp.driver = "local";
    mp.anonymous = true;
    mp.copy_up = true;
    destinations.insert(dst);
    out.push_back(std::move(mp));
  }
  return out;
}

Status materialize_mounts(std::vector<MountPoint>& mounts, VolumeStore& volumes, const std::string& container_id) {
  std::vector<std::string> created;
  auto undo = [&] {
    for (const auto& n : created) (void)volumes.remove(n, {});
  };
  for (auto& mp : mounts) {
    if (mp.type == "volume") {
      bool existed = !mp.name.empty() && volumes.get(mp.name).has_value();
      auto v = volumes.create(mp.name, {}, {}, mp.anonymous);
      if (!v) {
        undo();
        return tl::unexpected(v.error());
      }
      if (!existed) created.push_back(v->name);
      mp.name = v->name;
      mp.source = v->mountpoint;
    } else if (mp.type == "bind") {
      // dockerd creates a missing -v host directory (but not a missing --mount source).
      if (!fs::exists(mp.source)) {
        auto st = fs::mkdir_p(mp.source, 0755);
        if (!st) {
          undo();
          return tl::unexpected(st.error().context("container " + container_id + ": create bind source"));
        }
      }
    }
  }
  return ok();
}

}  // namespace berth::agent
