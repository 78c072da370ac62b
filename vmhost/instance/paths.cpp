#include "instance/paths.h"

#include <sys/un.h>

#include <cstdlib>
#include <vector>

namespace berth::instance {

Result<std::string> berth_home() {
  if (const char* env = std::getenv("BERTH_HOME"); env && *env) {
    std::string home = env;
    if (home.front() != '/') return make_error(Errc::invalid_argument, "BERTH_HOME must be an absolute path: " + home);
    while (home.size() > 1 && home.back() == '/') home.pop_back();
    return home;
  }
  const char* home = std::getenv("HOME");
  if (!home || !*home) return make_error(Errc::invalid_argument, "neither BERTH_HOME nor HOME is set");
  return std::string(home) + "/.berth";
}

std::string Paths::virtiofs_socket(size_t index) const {
  return dir_ + "/" + kVirtiofsPrefix + std::to_string(index) + ".sock";
}

std::string Paths::virtiofs_pid(size_t index) const {
  return dir_ + "/" + kVirtiofsPrefix + std::to_string(index) + ".pid";
}

std::vector<std::string> Paths::runtime_files(size_t mounts) const {
  std::vector<std::string> files = {docker_socket(), qmp_socket(),  vsock_socket(),
                                    vhost_vsock_socket(), vmhost_pid(), qemu_pid()};
  for (size_t i = 0; i < mounts; ++i) {
    files.push_back(virtiofs_socket(i));
    files.push_back(virtiofs_pid(i));
  }
  return files;
}

Status Paths::check_socket_lengths(size_t mounts) const {
  // The userspace vsock device also binds "vsock.sock_<port>" for guest-initiated
  // connections; five digits cover every port berth uses.
  std::vector<std::string> sockets = {docker_socket(), qmp_socket(), vsock_socket() + "_65535", vhost_vsock_socket()};
  for (size_t i = 0; i < mounts; ++i) sockets.push_back(virtiofs_socket(i));
  constexpr size_t kMax = sizeof(sockaddr_un{}.sun_path) - 1;
  for (const auto& s : sockets) {
    if (s.size() > kMax) {
      return make_error(Errc::invalid_argument, "instance directory " + dir_ + " is too deep for Unix sockets (" + s +
                                                    " is " + std::to_string(s.size()) + " bytes, the limit is " +
                                                    std::to_string(kMax) + "); set BERTH_HOME to a shorter path");
    }
  }
  return ok();
}

}  // namespace berth::instance
