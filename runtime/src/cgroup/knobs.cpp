#include "cgroup/knobs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include "berth/common/fs.h"

namespace berth::runtime::cgroup::detail {

std::string join(std::string_view dir, std::string_view rel) {
  std::string out(dir);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  if (rel.empty()) return out;
  if (out != "/") out += '/';
  out += rel;
  return out;
}

Result<std::string> read_knob(const std::string& file) {
  auto text = BERTH_TRY(fs::read_file(file));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t'))
    text.pop_back();
  return text;
}

Status write_knob(const std::string& file, std::string_view value, const Options& options) {
  auto fd = BERTH_TRY(fs::open(file, O_WRONLY | O_TRUNC));
  for (;;) {
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write \"" + std::string(value) + "\" to " + file);
    if (static_cast<size_t>(n) != value.size())
      return make_error(Errc::io, "short write of \"" + std::string(value) + "\" to " + file);
    break;
  }
  if (options.on_write) options.on_write(file, std::string(value));
  return ok();
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<uint64_t> parse_u64(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text == "max") return kUnlimited;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return make_error(Errc::protocol, "not a number: \"" + std::string(text) + "\"");
  return value;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n' && text[i] != '\t') ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::map<std::string, uint64_t> parse_keyed(std::string_view text) {
  std::map<std::string, uint64_t> out;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    auto value = parse_u64(line.substr(sp + 1));
    if (value) out[std::string(line.substr(0, sp))] = *value;
  }
  return out;
}

// Child cgroups are the subdirectories; symlinks are never followed.
static Result<std::vector<std::string>> subdirs(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error("opendir " + dir);
  std::vector<std::string> out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = join(dir, name);
    struct stat st;
    if (e->d_type == DT_DIR ||
        (e->d_type == DT_UNKNOWN && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
      out.push_back(std::move(path));
  }
  ::closedir(d);
  return out;
}

static Status collect_into(const std::string& dir, bool top, std::vector<pid_t>& out) {
  auto procs = fs::read_file(join(dir, "cgroup.procs"));
  if (!procs) {
    // A child cgroup can vanish between readdir and read.
    if (!top && procs.error().sys_errno == ENOENT) return ok();
    return tl::unexpected(procs.error());
  }
  for (const auto& word : split_words(*procs)) {
    auto pid = parse_u64(word);
    if (pid && *pid > 0 && *pid < static_cast<uint64_t>(INT32_MAX))
      out.push_back(static_cast<pid_t>(*pid));
  }
  auto children = subdirs(dir);
  if (!children) {
    if (!top && children.error().sys_errno == ENOENT) return ok();
    return tl::unexpected(children.error());
  }
  for (const auto& child : *children) BERTH_TRY(collect_into(child, false, out));
  return ok();
}

Result<std::vector<pid_t>> collect_procs(const std::string& dir) {
  std::vector<pid_t> out;
  BERTH_TRY(collect_into(dir, true, out));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

static Status remove_below(const std::string& dir, std::chrono::steady_clock::time_point deadline) {
  auto children = subdirs(dir);
  if (!children) {
    if (children.error().sys_errno == ENOENT) return ok();
    return tl::unexpected(children.error());
  }
  for (const auto& child : *children) BERTH_TRY(remove_below(child, deadline));

  int delay = 1;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
    if (errno != EBUSY || std::chrono::steady_clock::now() >= deadline)
      return sys_error("rmdir " + dir);
    sleep_ms(delay);
    delay = std::min(delay * 2, 50);
  }
}

Status remove_tree(const std::string& dir, int timeout_ms) {
  return remove_below(dir, std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms));
}

}  // namespace berth::runtime::cgroup::detail
