// docker cp (archive HEAD/GET/PUT), docker export, docker top, container prune.
#include <set>
#include <sstream>

#include "agent.h"
#include "core/container_archive.h"
#include "core/process.h"
#include "image/safe_fs.h"
#include "helpers.h"
#include "routes.h"

namespace berth::agent {

namespace {

struct Located {
  UniqueFd root;
  std::string path;
  std::string display;  // the path as asked, for messages
};

Result<Located> locate(Agent& agent, http::Request& req, bool for_write) {
  std::string path = req.query.get("path");
  if (path.empty()) return make_error(Errc::invalid_argument, "path is required");
  Located l;
  l.display = path;
  if (path.front() != '/') path = "/" + path;
  l.path = path;
  l.root = BERTH_TRY(agent.containers().open_root(req.param("id"), l.path, for_write));
  return l;
}

Result<PathStat> stat_or_404(Agent& agent, http::Request& req, const Located& l) {
  auto st = stat_in_root(l.root.get(), l.path);
  if (!st) {
    if (st.error().code == Errc::not_found || st.error().sys_errno == ENOTDIR)
      return make_error(Errc::not_found, "Could not find the file " + l.display + " in container " + req.param("id"));
    return tl::unexpected(st.error());
  }
  (void)agent;
  return st;
}

Status archive_head(Agent& agent, http::Request& req, http::Response& res) {
  auto l = BERTH_TRY(locate(agent, req, false));
  auto st = BERTH_TRY(stat_or_404(agent, req, l));
  res.add_header("X-Docker-Container-Path-Stat", path_stat_header(st));
  return res.send(200, "", "");
}

Status archive_get(Agent& agent, http::Request& req, http::Response& res) {
  auto l = BERTH_TRY(locate(agent, req, false));
  auto st = BERTH_TRY(stat_or_404(agent, req, l));
  res.add_header("X-Docker-Container-Path-Stat", path_stat_header(st));
  BERTH_TRY(res.begin_stream(200, "application/x-tar"));
  std::string buf;
  auto out = [&](const void* data, size_t n) -> Status {
    buf.append(static_cast<const char*>(data), n);
    if (buf.size() < 65536) return ok();
    auto w = res.write(buf);
    buf.clear();
    return w;
  };
  if (auto w = write_path_tar(l.root.get(), l.path, out); !w || !res.write(buf)) {
    res.force_close();  // the client sees a truncated archive, as with dockerd
    return ok();
  }
  return res.end_stream();
}

Status archive_put(Agent& agent, http::Request& req, http::Response& res) {
  auto l = BERTH_TRY(locate(agent, req, true));
  ExtractOptions o;
  o.no_overwrite_dir_non_dir = req.query.get_bool("noOverwriteDirNonDir");
  o.copy_uid_gid = req.query.get_bool("copyUIDGID");
  auto in = [&](void* buf, size_t n) -> Result<size_t> { return req.read_body_some(static_cast<char*>(buf), n); };
  auto st = extract_tar(l.root.get(), l.path, in, o);
  if (!st) {
    if (st.error().code == Errc::not_found)
      return make_error(Errc::not_found, "Could not find the file " + l.display + " in container " + req.param("id"));
    return tl::unexpected(st.error());
  }
  return res.empty(200);
}

Status export_container(Agent& agent, http::Request& req, http::Response& res) {
  auto c = BERTH_TRY(agent.containers().get(req.param("id")));
  // The container's own file system, not its volumes: the rootfs, even while it runs.
  auto root = BERTH_TRY(image::safefs::open_dir_path(agent.containers().container_dir(c.id) + "/rootfs"));
  BERTH_TRY(res.begin_stream(200, "application/x-tar"));
  std::string buf;
  auto out = [&](const void* data, size_t n) -> Status {
    buf.append(static_cast<const char*>(data), n);
    if (buf.size() < 65536) return ok();
    auto w = res.write(buf);
    buf.clear();
    return w;
  };
  if (auto w = write_tree_tar(root.get(), out); !w || !res.write(buf)) {
    res.force_close();
    return ok();
  }
  return res.end_stream();
}

std::vector<std::string> split_ws(const std::string& line, size_t max_fields) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    if (pos >= line.size()) break;
    if (max_fields && out.size() + 1 == max_fields) {
      out.push_back(line.substr(pos));
      break;
    }
    size_t end = line.find(' ', pos);
    out.push_back(line.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    pos = end == std::string::npos ? line.size() : end;
  }
  return out;
}

Status top(Agent& agent, http::Request& req, http::Response& res) {
  auto pids = BERTH_TRY(agent.containers().pids(req.param("id")));
  std::string args = req.query.get("ps_args");
  if (args.empty()) args = "-ef";
  std::vector<std::string> argv = {"ps"};
  for (auto& a : split_ws(args, 0)) argv.push_back(a);
  auto r = BERTH_TRY(run_process(argv));
  if (r.status != 0) return make_error(Errc::internal, "ps: " + r.err);
  std::istringstream in(r.out);
  std::string header;
  std::getline(in, header);
  auto titles = split_ws(header, 0);
  size_t pid_col = titles.size();
  for (size_t i = 0; i < titles.size(); ++i)
    if (titles[i] == "PID") pid_col = i;
  if (pid_col == titles.size()) return make_error(Errc::internal, "Couldn't find PID field in ps output");
  std::set<int> want(pids.begin(), pids.end());
  Json procs = Json::array();
  std::string line;
  while (std::getline(in, line)) {
    auto fields = split_ws(line, titles.size());
    if (fields.size() <= pid_col) continue;
    int pid = 0;
    try {
      pid = std::stoi(fields[pid_col]);
    } catch (const std::exception&) {
      continue;
    }
    if (want.count(pid)) procs.push_back(fields);
  }
  return res.json(200, {{"Titles", titles}, {"Processes", procs}});
}

Status prune(Agent& agent, http::Request& req, http::Response& res) {
  auto filters = BERTH_TRY(Filters::parse(req.query.get("filters")));
  auto [ids, space] = BERTH_TRY(agent.containers().prune(filters));
  return res.json(200, {{"ContainersDeleted", ids.empty() ? Json(nullptr) : Json(ids)}, {"SpaceReclaimed", space}});
}

}  // namespace

void register_container_file_routes(http::Router& router, Agent& agent) {
  auto bind = handler_binder(agent);
  router.add("HEAD", "/containers/{id}/archive", bind(archive_head));
  router.add("GET", "/containers/{id}/archive", bind(archive_get));
  router.add("PUT", "/containers/{id}/archive", bind(archive_put));
  router.add("GET", "/containers/{id}/export", bind(export_container));
  router.add("GET", "/containers/{id}/top", bind(top));
  router.add("POST", "/containers/prune", bind(prune));
}

}  // namespace berth::agent
