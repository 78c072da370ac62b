#include "listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

namespace berth::agent::http {

Result<Listener> listen_unix(const std::string& path, mode_t mode, int backlog) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return make_error(Errc::invalid_argument, "socket path \"" + path + "\" is empty or too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return make_error(Errc::already_exists, path + " exists and is not a socket");
    ::unlink(path.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return sys_error("socket");
  // umask is process-wide; binding happens once at startup, before other threads use it.
  static std::mutex umask_mu;
  int rc;
  {
    std::lock_guard lock(umask_mu);
    mode_t old = ::umask(static_cast<mode_t>(~mode & 0777));
    rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int saved = errno;
    ::umask(old);
    errno = saved;
  }
  if (rc < 0) return sys_error("bind " + path);
  if (::chmod(path.c_str(), mode) < 0) return sys_error("chmod " + path);
  if (::listen(fd.get(), backlog) < 0) return sys_error("listen on " + path);
  return Listener{std::move(fd), AF_UNIX, "unix:" + path};
}

Result<Listener> adopt_listener(UniqueFd fd, std::string description, int backlog) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) < 0) return sys_error("getsockopt SO_TYPE");
  if (type != SOCK_STREAM) return make_error(Errc::invalid_argument, description + ": not a stream socket");
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &sl) < 0) return sys_error("getsockname");
  if (::listen(fd.get(), backlog) < 0) return sys_error("listen on " + description);
  return Listener{std::move(fd), ss.ss_family, std::move(description)};
}

}  // namespace berth::agent::http
