#include "stream_proxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/io.h"

namespace berth::agent {

Result<std::vector<char>> parse_detach_keys(const std::string& spec) {
  std::vector<char> out;
  if (spec.empty()) return out;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string k = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? spec.size() + 1 : comma + 1;
    if (k.size() == 1) {
      out.push_back(k[0]);
    } else if (k.size() == 6 && k.compare(0, 5, "ctrl-") == 0) {
      char c = k[5];
      if (c >= 'a' && c <= 'z') {
        out.push_back(static_cast<char>(c - 'a' + 1));
      } else if (c == '@') {
        out.push_back(0);
      } else if (c >= '[' && c <= '_') {
        out.push_back(static_cast<char>(c - '[' + 27));
      } else {
        return make_error(Errc::invalid_argument, "Invalid detach keys (" + spec + ") provided");
      }
    } else {
      return make_error(Errc::invalid_argument, "Invalid detach keys (" + spec + ") provided");
    }
  }
  return out;
}

namespace {

// Holds back input that might be the start of the detach sequence.
struct DetachMatcher {
  const std::vector<char>& keys;
  size_t matched = 0;

  // Appends to `out` what should reach the process; true when the sequence completed.
  bool feed(const char* data, size_t n, std::string& out) {
    for (size_t i = 0; i < n; ++i) {
      char c = data[i];
      if (keys.empty()) {
        out.push_back(c);
        continue;
      }
      if (c == keys[matched]) {
        if (++matched == keys.size()) return true;
        continue;
      }
      // Not the sequence after all: release what was held back.
      out.append(keys.data(), matched);
      matched = 0;
      if (c == keys[0]) {
        matched = 1;
        if (keys.size() == 1) return true;
      } else {
        out.push_back(c);
      }
    }
    return false;
  }
};

}  // namespace

ProxyEnd proxy_stream(int client_fd, std::string client_pending, int process_fd, std::string process_pending,
                      const ProxyOptions& options) {
  DetachMatcher detach{options.detach_keys};
  auto forward = [&](const char* data, size_t n) -> int {  // 0 ok, 1 detached, -1 failed
    if (!options.forward_input) return 0;
    std::string out;
    bool done = detach.feed(data, n, out);
    if (!out.empty() && !http::write_all(process_fd, out)) return -1;
    return done ? 1 : 0;
  };
  if (!process_pending.empty() && !http::write_all(client_fd, process_pending)) return ProxyEnd::client_left;
  if (!client_pending.empty()) {
    int r = forward(client_pending.data(), client_pending.size());
    if (r == 1) return ProxyEnd::detached;
  }
  bool client_open = true;
  char buf[32768];
  for (;;) {
    pollfd p[2] = {{process_fd, POLLIN, 0}, {client_fd, static_cast<short>(client_open ? POLLIN : 0), 0}};
    int rc = ::poll(p, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return ProxyEnd::client_left;
    }
    if (p[0].revents) {
      auto n = http::read_some(process_fd, buf, sizeof buf, 0);
      if (!n || *n == 0) {
        if (n || n.error().code != Errc::timeout) return ProxyEnd::process_ended;
      } else if (!http::write_all(client_fd, std::string_view(buf, *n))) {
        return ProxyEnd::client_left;
      }
    }
    if (p[1].revents & (POLLERR | POLLNVAL)) return ProxyEnd::client_left;
    if (client_open && (p[1].revents & (POLLIN | POLLHUP))) {
      auto n = http::read_some(client_fd, buf, sizeof buf, 0);
      if (!n && n.error().code == Errc::timeout) continue;
      if (!n || *n == 0) {
        // End of the client's input: the process sees end of file on stdin; output goes on.
        client_open = false;
        if (options.forward_input) ::shutdown(process_fd, SHUT_WR);
        continue;
      }
      int r = forward(buf, *n);
      if (r == 1) return ProxyEnd::detached;
      if (r < 0) return ProxyEnd::process_ended;
    } else if (!client_open && (p[1].revents & POLLHUP)) {
      return ProxyEnd::client_left;
    }
  }
}

}  // namespace berth::agent
