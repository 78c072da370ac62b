#include "berth/common/result.h"

#include <cstring>

namespace berth {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_found: return "not found";
    case Errc::already_exists: return "already exists";
    case Errc::conflict: return "conflict";
    case Errc::permission: return "permission denied";
    case Errc::unsupported: return "unsupported";
    case Errc::io: return "i/o error";
    case Errc::protocol: return "protocol error";
    case Errc::timeout: return "timeout";
    case Errc::internal: return "internal error";
  }
  return "unknown";
}

std::string Error::what() const {
  if (sys_errno == 0) return message;
  return message + ": " + std::strerror(sys_errno);
}

Error& Error::context(std::string_view where) {
  message = std::string(where) + ": " + message;
  return *this;
}

tl::unexpected<Error> sys_error(std::string message, int sys_errno) {
  Errc code = Errc::io;
  switch (sys_errno) {
    case ENOENT: code = Errc::not_found; break;
    case EEXIST: code = Errc::already_exists; break;
    case EACCES:
    case EPERM: code = Errc::permission; break;
    case EINVAL: code = Errc::invalid_argument; break;
    case ENOSYS:
    case EOPNOTSUPP: code = Errc::unsupported; break;
    case ETIMEDOUT: code = Errc::timeout; break;
    default: break;
  }
  return tl::unexpected<Error>(Error{code, sys_errno, std::move(message)});
}

}  // namespace berth
