#include "image_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "safe_fs.h"

namespace berth::agent::image {

namespace {

constexpr uint32_t kMaxId = (1u << 31) - 1;
constexpr size_t kMaxAccountFile = 4 << 20;

std::vector<std::string> keys_of(const Json& obj, const std::string& path) {
  std::vector<std::string> out;
  jsonf::get_object(obj, path);
  for (auto& [k, v] : obj.items()) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

Healthcheck healthcheck_from(const Json& j, const std::string& path) {
  jsonf::get_object(j, path);
  Healthcheck h;
  h.test = jsonf::opt_string_array(j, "Test", path + ".Test");
  h.interval_ns = jsonf::opt_int(j, "Interval", path + ".Interval").value_or(0);
  h.timeout_ns = jsonf::opt_int(j, "Timeout", path + ".Timeout").value_or(0);
  h.start_period_ns = jsonf::opt_int(j, "StartPeriod", path + ".StartPeriod").value_or(0);
  h.start_interval_ns = jsonf::opt_int(j, "StartInterval", path + ".StartInterval").value_or(0);
  h.retries = static_cast<int>(jsonf::opt_int(j, "Retries", path + ".Retries").value_or(0));
  return h;
}

std::optional<uint32_t> parse_id(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v > kMaxId) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i == std::string_view::npos ? i : i - start));
    if (i == std::string_view::npos) break;
    start = i + 1;
  }
  return out;
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// Lines that do not parse are skipped, as libc and runc do; comments too.
template <class Entry, class Fn>
std::vector<Entry> parse_lines(std::string_view text, Fn&& parse_line) {
  std::vector<Entry> out;
  for (auto line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (auto e = parse_line(line)) out.push_back(std::move(*e));
  }
  return out;
}

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  return parse_lines<PasswdEntry>(text, [](std::string_view line) -> std::optional<PasswdEntry> {
    auto f = split(line, ':');
    if (f.size() < 4) return std::nullopt;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) return std::nullopt;
    return PasswdEntry{std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : std::string()};
  });
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  return parse_lines<GroupEntry>(text, [](std::string_view line) -> std::optional<GroupEntry> {
    auto f = split(line, ':');
    if (f.size() < 3) return std::nullopt;
    auto gid = parse_id(f[2]);
    if (!gid) return std::nullopt;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() > 3 && !f[3].empty())
      for (auto m : split(f[3], ',')) g.members.emplace_back(m);
    return g;
  });
}

Result<std::string> read_account_file(int rootfs_fd, const char* path) {
  auto fd = safefs::open_in_root(rootfs_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (!fd) {
    if (fd.error().code == Errc::not_found) return std::string();
    return tl::unexpected(fd.error());
  }
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return sys_error(std::string("stat ") + path + " in the image");
  // A FIFO or device planted as /etc/passwd would block or read forever.
  if (!S_ISREG(st.st_mode)) return make_error(Errc::invalid_argument, std::string(path) + " in the image is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxAccountFile)
    return make_error(Errc::invalid_argument, std::string(path) + " in the image is too large");
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd->get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(std::string("read ") + path + " in the image");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace

int64_t parse_config_time(const std::string& s) {
  struct tm tm {};
  const char* rest = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  int64_t t = static_cast<int64_t>(::timegm(&tm));
  if (*rest == '.')
    while (*++rest >= '0' && *rest <= '9') {
    }
  if ((*rest == '+' || *rest == '-') && std::strlen(rest) >= 6) {
    int sign = *rest == '+' ? 1 : -1;
    int hh = (rest[1] - '0') * 10 + (rest[2] - '0');
    int mm = (rest[4] - '0') * 10 + (rest[5] - '0');
    t -= sign * (hh * 3600 + mm * 60);
  }
  return t;
}

Result<ImageConfig> parse_image_config(std::string_view text) {
  auto doc = BERTH_TRY(parse_json(text, "image config"));
  return json_boundary("image config", [&] {
    jsonf::get_object(doc, "config");
    ImageConfig c;
    c.architecture = jsonf::opt_string(doc, "architecture", "architecture").value_or("");
    c.os = jsonf::opt_string(doc, "os", "os").value_or("");
    c.variant = jsonf::opt_string(doc, "variant", "variant").value_or("");
    c.os_version = jsonf::opt_string(doc, "os.version", "os.version").value_or("");
    c.created = jsonf::opt_string(doc, "created", "created").value_or("");
    c.author = jsonf::opt_string(doc, "author", "author").value_or("");
    if (const Json* cfg = jsonf::find(doc, "config")) {
      const std::string p = "config";
      jsonf::get_object(*cfg, p);
      c.user = jsonf::opt_string(*cfg, "User", p + ".User").value_or("");
      c.env = jsonf::opt_string_array(*cfg, "Env", p + ".Env");
      c.entrypoint = jsonf::opt_string_array(*cfg, "Entrypoint", p + ".Entrypoint");
      c.cmd = jsonf::opt_string_array(*cfg, "Cmd", p + ".Cmd");
      c.shell = jsonf::opt_string_array(*cfg, "Shell", p + ".Shell");
      c.on_build = jsonf::opt_string_array(*cfg, "OnBuild", p + ".OnBuild");
      c.working_dir = jsonf::opt_string(*cfg, "WorkingDir", p + ".WorkingDir").value_or("");
      c.stop_signal = jsonf::opt_string(*cfg, "StopSignal", p + ".StopSignal").value_or("");
      c.args_escaped = jsonf::opt_bool(*cfg, "ArgsEscaped", p + ".ArgsEscaped").value_or(false);
      if (const Json* ports = jsonf::find(*cfg, "ExposedPorts")) c.exposed_ports = keys_of(*ports, p + ".ExposedPorts");
      if (const Json* vols = jsonf::find(*cfg, "Volumes")) c.volumes = keys_of(*vols, p + ".Volumes");
      if (const Json* labels = jsonf::find(*cfg, "Labels")) {
        jsonf::get_object(*labels, p + ".Labels");
        for (auto& [k, v] : labels->items()) c.labels[k] = jsonf::get_string(v, p + ".Labels." + k);
      }
      if (const Json* hc = jsonf::find(*cfg, "Healthcheck")) c.healthcheck = healthcheck_from(*hc, p + ".Healthcheck");
    }
    if (const Json* rootfs = jsonf::find(doc, "rootfs")) {
      jsonf::get_object(*rootfs, "rootfs");
      auto type = jsonf::opt_string(*rootfs, "type", "rootfs.type").value_or("");
      if (type != "layers") throw JsonFieldError("rootfs.type", "expected \"layers\", got \"" + type + "\"");
      c.diff_ids = jsonf::opt_string_array(*rootfs, "diff_ids", "rootfs.diff_ids");
    } else {
      throw JsonFieldError("rootfs", "missing");
    }
    if (const Json* hist = jsonf::find(doc, "history")) {
      jsonf::get_array(*hist, "history");
      for (size_t i = 0; i < hist->size(); ++i) {
        std::string p = "history[" + std::to_string(i) + "]";
        const Json& h = jsonf::get_object((*hist)[i], p);
        HistoryItem item;
        item.created = jsonf::opt_string(h, "created", p + ".created").value_or("");
        item.created_by = jsonf::opt_string(h, "created_by", p + ".created_by").value_or("");
        item.author = jsonf::opt_string(h, "author", p + ".author").value_or("");
        item.comment = jsonf::opt_string(h, "comment", p + ".comment").value_or("");
        item.empty_layer = jsonf::opt_bool(h, "empty_layer", p + ".empty_layer").value_or(false);
        c.history.push_back(std::move(item));
      }
    }
    c.raw = doc;
    return c;
  });
}

Result<ResolvedUser> resolve_user_from(std::string_view spec, std::string_view passwd_text, std::string_view group_text) {
  ResolvedUser user;
  std::string_view user_arg = spec, group_arg;
  bool has_group = false;
  if (auto colon = spec.find(':'); colon != std::string_view::npos) {
    user_arg = spec.substr(0, colon);
    group_arg = spec.substr(colon + 1);
    has_group = true;
  }
  auto passwd = parse_passwd(passwd_text);
  if (user_arg.empty()) user_arg = "0";
  auto uid = parse_id(user_arg);
  auto match = std::find_if(passwd.begin(), passwd.end(), [&](const PasswdEntry& e) {
    return uid ? e.uid == *uid : e.name == user_arg;
  });
  if (match != passwd.end()) {
    user.uid = match->uid;
    user.gid = match->gid;
    user.name = match->name;
    if (!match->home.empty()) user.home = match->home;
  } else if (uid) {
    user.uid = *uid;
  } else {
    return make_error(Errc::invalid_argument,
                      "unable to find user " + std::string(user_arg) + ": no matching entries in passwd file");
  }

  auto groups = parse_group(group_text);
  if (has_group && !group_arg.empty()) {
    auto gid = parse_id(group_arg);
    auto g = std::find_if(groups.begin(), groups.end(), [&](const GroupEntry& e) {
      return gid ? e.gid == *gid : e.name == group_arg;
    });
    if (g != groups.end()) user.gid = g->gid;
    else if (gid) user.gid = *gid;
    else
      return make_error(Errc::invalid_argument,
                        "unable to find group " + std::string(group_arg) + ": no matching entries in group file");
  } else if (!user.name.empty()) {
    // Supplementary groups only apply to the implicit form, as in runc.
    for (const auto& g : groups)
      if (std::find(g.members.begin(), g.members.end(), user.name) != g.members.end() &&
          std::find(user.additional_gids.begin(), user.additional_gids.end(), g.gid) == user.additional_gids.end())
        user.additional_gids.push_back(g.gid);
  }
  return user;
}

Result<ResolvedUser> resolve_user(int rootfs_fd, std::string_view spec) {
  auto passwd = BERTH_TRY(read_account_file(rootfs_fd, "/etc/passwd"));
  auto group = BERTH_TRY(read_account_file(rootfs_fd, "/etc/group"));
  return resolve_user_from(spec, passwd, group);
}

std::vector<std::string> merge_env(const std::vector<std::string>& image_env, const std::vector<std::string>& overrides) {
  std::vector<std::string> out = image_env;
  auto key = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  for (const auto& o : overrides) {
    auto it = std::find_if(out.begin(), out.end(), [&](const std::string& e) { return key(e) == key(o); });
    if (it != out.end()) *it = o;
    else out.push_back(o);
  }
  return out;
}

std::vector<std::string> process_args(const ImageConfig& config,
                                      const std::optional<std::vector<std::string>>& entrypoint_override,
                                      const std::optional<std::vector<std::string>>& cmd_override) {
  std::vector<std::string> args = entrypoint_override ? *entrypoint_override : config.entrypoint;
  const std::vector<std::string>* cmd = nullptr;
  if (cmd_override) cmd = &*cmd_override;
  else if (!entrypoint_override) cmd = &config.cmd;
  if (cmd) args.insert(args.end(), cmd->begin(), cmd->end());
  return args;
}

}  // namespace berth::agent::image
