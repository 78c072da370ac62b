#include "errlog.h"

#include <unistd.h>

#include "timefmt.h"

namespace berth::shim::errlog {

namespace {

std::string& container() {
  static std::string id;
  return id;
}

void write_line(std::string_view level, std::string_view message) {
  std::string line = rfc3339_nano(wall_now());
  line += ' ';
  line += level;
  line += " [shim] ";
  line += container();
  line += ": ";
  line += message;
  line += '\n';
  // One write() per line so concurrent writers do not interleave inside a line.
  ssize_t n;
  do {
    n = ::write(2, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
}

}  // namespace

void set_container(std::string id) { container() = std::move(id); }
void error(std::string_view message) { write_line("error", message); }
void warn(std::string_view message) { write_line("warning", message); }
void info(std::string_view message) { write_line("info", message); }

}  // namespace berth::shim::errlog
