#include "log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <thread>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/unique_fd.h"
#include "berth/shim/frame.h"
#include "ids.h"

namespace berth::agent {

namespace {

constexpr size_t kBlock = 64 * 1024;

// The rotated files, oldest first, then the live one.
std::vector<std::string> log_files(const std::string& path) {
  std::vector<std::string> rotated;
  for (int i = 1; i < 1000; ++i) {
    std::string p = path + "." + std::to_string(i);
    if (::access(p.c_str(), F_OK) != 0) break;
    rotated.push_back(p);
  }
  std::vector<std::string> out(rotated.rbegin(), rotated.rend());
  out.push_back(path);
  return out;
}

// Offset in `fd` (of `size` bytes) where its last `n` complete lines begin; `found` says how
// many lines were there (fewer than n means the whole file).
off_t tail_offset(int fd, off_t size, int64_t n, int64_t& found) {
  found = 0;
  if (n <= 0 || size == 0) return size;
  std::vector<char> buf(kBlock);
  off_t end = size;
  // A final newline ends the last line rather than starting a new one.
  bool skip_last_newline = true;
  while (end > 0) {
    off_t start = end > static_cast<off_t>(kBlock) ? end - static_cast<off_t>(kBlock) : 0;
    ssize_t r = ::pread(fd, buf.data(), static_cast<size_t>(end - start), start);
    if (r <= 0) break;
    for (ssize_t i = r - 1; i >= 0; --i) {
      if (buf[static_cast<size_t>(i)] != '\n') continue;
      if (skip_last_newline && start + i == size - 1) {
        skip_last_newline = false;
        continue;
      }
      if (++found == n) return start + i + 1;
    }
    skip_last_newline = false;
    end = start;
  }
  // Whole file: count the first line too.
  ++found;
  return 0;
}

struct Selector {
  const LogQuery& q;
  const LogSink& sink;
  bool done = false;  // past `until`

  Status line(std::string_view text) {
    if (done) return ok();
    auto e = parse_log_line(text);
    if (!e) return ok();
    if (q.until_ns > 0 && e->time_ns > q.until_ns) {
      done = true;
      return ok();
    }
    if (q.since_ns > 0 && e->time_ns < q.since_ns) return ok();
    if (e->stream == "stdout" && !q.stdout) return ok();
    if (e->stream == "stderr" && !q.stderr) return ok();
    return sink(*e);
  }
};

// Reads complete lines from `fd` starting at `offset`; keeps a trailing partial line in
// `partial`. Returns the new offset.
Result<off_t> pump(int fd, off_t offset, std::string& partial, Selector& sel) {
  std::vector<char> block(kBlock);  // handlers run on small stacks
  char* buf = block.data();
  for (;;) {
    ssize_t r = ::pread(fd, buf, block.size(), offset);
    if (r < 0) {
      if (errno == EINTR) continue;
      return sys_error("read log");
    }
    if (r == 0) return offset;
    offset += r;
    partial.append(buf, static_cast<size_t>(r));
    size_t pos = 0;
    for (;;) {
      size_t nl = partial.find('\n', pos);
      if (nl == std::string::npos) break;
      BERTH_TRY(sel.line(std::string_view(partial).substr(pos, nl - pos)));
      pos = nl + 1;
    }
    partial.erase(0, pos);
    if (sel.done) return offset;
  }
}

}  // namespace

std::optional<LogEntry> parse_log_line(std::string_view line) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  try {
    Json j = Json::parse(line);
    if (!j.is_object()) return std::nullopt;
    LogEntry e;
    e.text = j.value("log", "");
    e.stream = j.value("stream", "stdout");
    e.time = j.value("time", "");
    e.time_ns = parse_time_ns(e.time).value_or(0);
    return e;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

std::string format_log_entry(const LogEntry& e, bool timestamps, bool multiplexed) {
  std::string payload = timestamps ? e.time + " " + e.text : e.text;
  if (!multiplexed) return payload;
  std::string out;
  shim::append_frame(out, e.stream == "stderr" ? shim::Stream::err : shim::Stream::out, payload);
  return out;
}

Status read_logs(const std::string& path, const LogQuery& q, bool follow, const LogSink& sink,
                 const std::function<bool()>& should_stop) {
  Selector sel{q, sink};
  auto files = log_files(path);
  // Where to start in each file: everything, or the last `tail` lines across files.
  std::vector<off_t> starts(files.size(), 0);
  if (q.tail) {
    int64_t need = *q.tail;
    for (size_t i = files.size(); i-- > 0;) {
      UniqueFd fd(::open(files[i].c_str(), O_RDONLY | O_CLOEXEC));
      struct stat st {};
      if (!fd || ::fstat(fd.get(), &st) < 0) {
        starts[i] = -1;
        continue;
      }
      if (need <= 0) {
        starts[i] = -1;  // skip entirely
        continue;
      }
      int64_t found = 0;
      starts[i] = tail_offset(fd.get(), st.st_size, need, found);
      need -= found;
    }
  }
  // Rotated files first, as they stand.
  for (size_t i = 0; i + 1 < files.size() && !sel.done; ++i) {
    if (starts[i] < 0) continue;
    UniqueFd fd(::open(files[i].c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    std::string partial;
    BERTH_TRY(pump(fd.get(), starts[i], partial, sel));
  }
  // The live file; with follow, reopened when rotation replaces it.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  off_t offset = starts.back() < 0 ? 0 : starts.back();
  if (starts.back() < 0 && fd) {
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0) offset = st.st_size;
  }
  std::string partial;
  auto idle_since = std::chrono::steady_clock::now();
  for (;;) {
    if (fd) {
      off_t before = offset;
      offset = BERTH_TRY(pump(fd.get(), offset, partial, sel));
      if (offset != before) idle_since = std::chrono::steady_clock::now();
    }
    if (!follow || sel.done) return ok();
    // Rotated (a new inode at `path`) or truncated (max-file 1): continue with the new file.
    struct stat cur {}, open_st {};
    bool path_ok = ::stat(path.c_str(), &cur) == 0;
    if (path_ok && (!fd || ::fstat(fd.get(), &open_st) < 0 || cur.st_ino != open_st.st_ino)) {
      if (fd) offset = BERTH_TRY(pump(fd.get(), offset, partial, sel));
      fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      offset = 0;
      partial.clear();
      continue;
    }
    if (fd && path_ok && cur.st_size < offset) {
      offset = 0;
      partial.clear();
      continue;
    }
    // Asked only after a quiet moment, so output written just before the container stopped is
    // delivered first.
    if (std::chrono::steady_clock::now() - idle_since > std::chrono::milliseconds(150) && should_stop && should_stop()) {
      if (fd) offset = BERTH_TRY(pump(fd.get(), offset, partial, sel));
      return ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace berth::agent
