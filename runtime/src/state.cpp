#include "state.h"

#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include "berth/common/fs.h"
#include "cgroup/cgroup.h"

namespace berth::runtime {

std::string_view status_name(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::creating: return "creating";
    case ContainerStatus::created: return "created";
    case ContainerStatus::running: return "running";
    case ContainerStatus::paused: return "paused";
    case ContainerStatus::stopped: return "stopped";
  }
  return "unknown";
}

Status validate_container_id(const std::string& id) {
  if (id.empty()) return make_error(Errc::invalid_argument, "container id cannot be empty");
  if (id == "." || id == ".." || id.size() > 1024)
    return make_error(Errc::invalid_argument, "invalid container id \"" + id + "\"");
  for (char c : id) {
    bool okc = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+';
    if (!okc) return make_error(Errc::invalid_argument, "invalid container id \"" + id + "\": only [A-Za-z0-9_+.-] allowed");
  }
  return ok();
}

Status save_state(const RuntimePaths& paths, const ContainerState& s) {
  Json j = {{"id", s.id},           {"bundle", s.bundle},
            {"rootfs", s.rootfs},   {"pid", s.pid},
            {"pid_start_time", s.pid_start_time}, {"created", s.created},
            {"owner", s.owner},     {"annotations", s.annotations},
            {"cgroup_path", s.cgroup_path}, {"cgroup_mountpoint", s.cgroup_mountpoint},
            {"cgroup_paths", s.cgroup_paths}};
  return fs::replace_file(paths.state_file(s.id), j.dump(), 0600);
}

Result<ContainerState> load_state(const RuntimePaths& paths, const std::string& id) {
  BERTH_TRY(validate_container_id(id));
  auto text = fs::read_file(paths.state_file(id));
  if (!text) {
    if (text.error().code == Errc::not_found) return make_error(Errc::not_found, "container \"" + id + "\" does not exist");
    return tl::unexpected(text.error());
  }
  auto doc = BERTH_TRY(parse_json(*text, paths.state_file(id)));
  return json_boundary(paths.state_file(id), [&] {
    ContainerState s;
    s.id = doc.at("id").get<std::string>();
    s.bundle = doc.at("bundle").get<std::string>();
    s.rootfs = doc.at("rootfs").get<std::string>();
    s.pid = doc.at("pid").get<pid_t>();
    s.pid_start_time = doc.at("pid_start_time").get<uint64_t>();
    s.created = doc.at("created").get<std::string>();
    s.owner = doc.value("owner", "");
    s.annotations = doc.value("annotations", oci::StringMap{});
    s.cgroup_path = doc.value("cgroup_path", "");
    s.cgroup_mountpoint = doc.value("cgroup_mountpoint", "/sys/fs/cgroup");
    s.cgroup_paths = doc.value("cgroup_paths", std::map<std::string, std::string>{});
    return s;
  });
}

Result<oci::Spec> load_saved_config(const RuntimePaths& paths, const std::string& id) {
  auto text = BERTH_TRY(fs::read_file(paths.config_file(id)));
  return oci::parse_spec(text);
}

std::vector<std::string> list_ids(const RuntimePaths& paths) {
  std::vector<std::string> out;
  DIR* d = ::opendir(paths.root.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (fs::exists(paths.state_file(name))) out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t process_start_time(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = content.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(content.substr(close + 2));
  std::string field;
  // Fields after the command: state is field 3; starttime is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
    if (i == 3 && (field == "Z" || field == "X")) return 0;  // a zombie has exited
  }
  return std::stoull(field);
}

bool process_alive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  uint64_t now = process_start_time(pid);
  return now != 0 && now == start_time;
}

ContainerStatus current_status(const RuntimePaths& paths, const ContainerState& state) {
  if (!process_alive(state.pid, state.pid_start_time)) return ContainerStatus::stopped;
  if (fs::exists(paths.fifo(state.id))) return ContainerStatus::created;
  if (!state.cgroup_path.empty()) {
    if (auto mgr = open_container_cgroup(state)) {
      if (auto frozen = (*mgr)->frozen(); frozen && *frozen) return ContainerStatus::paused;
    }
  }
  return ContainerStatus::running;
}

Result<std::unique_ptr<cgroup::Manager>> open_container_cgroup(const ContainerState& s) {
  cgroup::Options opts;
  opts.mountpoint = s.cgroup_mountpoint;
  opts.v1_paths = s.cgroup_paths;
  return cgroup::Manager::open(s.cgroup_path, s.id, opts);
}

OrderedJson state_json(const ContainerState& s, ContainerStatus status) {
  OrderedJson j;
  j["ociVersion"] = oci::kSpecVersion;
  j["id"] = s.id;
  j["pid"] = status == ContainerStatus::stopped ? 0 : s.pid;
  j["status"] = status_name(status);
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

std::string now_rfc3339() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%09ldZ", buf, ts.tv_nsec);
  return out;
}

}  // namespace berth::runtime
