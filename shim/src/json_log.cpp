#include "json_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "timefmt.h"

namespace berth::shim {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if the bytes there are not one.
size_t utf8_sequence(std::string_view s, size_t i, uint32_t* code_point) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  *code_point = cp;
  return len;
}

std::string_view stream_name(Stream s) { return s == Stream::err ? "stderr" : "stdout"; }

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = utf8_sequence(s, i, &cp);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
    } else if (cp == 0x2028 || cp == 0x2029) {
      // Valid JSON, but they end lines in JavaScript; dockerd escapes them too.
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
      i += len;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  out.push_back('"');
}

std::string format_log_entry(std::string_view log, Stream stream, const struct timespec& time) {
  std::string out;
  out.reserve(log.size() + 80);
  out += "{\"log\":";
  append_json_string(out, log);
  out += ",\"stream\":\"";
  out += stream_name(stream);
  out += "\",\"time\":\"";
  out += rfc3339_nano(time);
  out += "\"}\n";
  return out;
}

Result<JsonFileLog> JsonFileLog::open(JsonLogOptions options) {
  if (options.max_files < 1) options.max_files = 1;
  JsonFileLog log;
  int fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return sys_error("open log " + options.path);
  log.fd_.reset(fd);
  struct stat st {};
  if (::fstat(fd, &st) < 0) return sys_error("stat log " + options.path);
  log.size_ = static_cast<uint64_t>(st.st_size);
  log.options_ = std::move(options);
  return log;
}

Status JsonFileLog::write(Stream stream, std::string_view data, const struct timespec& now) {
  std::string& partial = partial_[static_cast<int>(stream)];
  Status status = ok();
  while (!data.empty()) {
    size_t nl = data.find('\n');
    size_t take = nl == std::string_view::npos ? data.size() : nl + 1;
    // A line is cut at kMaxLogLine bytes like dockerd cuts it.
    size_t room = kMaxLogLine - partial.size();
    if (take > room) take = room;
    partial.append(data.substr(0, take));
    data.remove_prefix(take);
    if (partial.back() == '\n' || partial.size() >= kMaxLogLine) {
      if (auto st = append_entry(partial, stream, now); !st && status) status = st;
      partial.clear();
    }
  }
  if (auto st = flush(); !st && status) status = st;
  return status;
}

Status JsonFileLog::finish(Stream stream, const struct timespec& now) {
  std::string& partial = partial_[static_cast<int>(stream)];
  Status status = ok();
  if (!partial.empty()) status = append_entry(partial, stream, now);
  partial.clear();
  if (auto st = flush(); !st && status) status = st;
  return status;
}

Status JsonFileLog::append_entry(std::string_view log, Stream stream, const struct timespec& now) {
  // As dockerd: rotate before an entry once the file has reached max_size, so a file holds
  // at most max_size plus one entry.
  if (options_.max_size > 0 && size_ >= options_.max_size) {
    BERTH_TRY(flush());
    BERTH_TRY(rotate());
  }
  std::string entry = format_log_entry(log, stream, now);
  size_ += entry.size();
  pending_ += entry;
  return ok();
}

Status JsonFileLog::flush() {
  std::string_view data = pending_;
  Status status = ok();
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      status = sys_error("write log " + options_.path);
      break;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  // Entries that could not be written (disk full) are dropped: the container must not stall.
  if (!data.empty()) size_ -= data.size();
  pending_.clear();
  if (pending_.capacity() > (64 << 10)) std::string().swap(pending_);  // a burst of escapes; keep RSS small
  return status;
}

Status JsonFileLog::rotate() {
  const std::string& path = options_.path;
  if (options_.max_files <= 1) {
    if (::ftruncate(fd_.get(), 0) < 0) return sys_error("truncate log " + path);
    size_ = 0;
    return ok();
  }
  for (int i = options_.max_files - 1; i >= 2; --i) {
    std::string from = path + "." + std::to_string(i - 1), to = path + "." + std::to_string(i);
    if (::rename(from.c_str(), to.c_str()) < 0 && errno != ENOENT) return sys_error("rotate log " + from);
  }
  if (::rename(path.c_str(), (path + ".1").c_str()) < 0) return sys_error("rotate log " + path);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return sys_error("open log " + path);
  fd_.reset(fd);
  size_ = 0;
  return ok();
}

}  // namespace berth::shim
