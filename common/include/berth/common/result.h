// Result<T> and Error: the one error type crossing module boundaries.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace berth {

enum class Errc {
  invalid_argument,  // bad input from a user or a file (maps to 400 / exit 1)
  not_found,         // maps to 404
  already_exists,    // maps to 409
  conflict,          // state does not allow the operation (409)
  permission,
  unsupported,
  io,                // a system call failed; errno says why
  protocol,          // a peer spoke something we do not understand
  timeout,
  internal,
};

std::string_view errc_name(Errc code);

struct Error {
  Errc code = Errc::internal;
  int sys_errno = 0;  // 0 when the error did not come from a system call
  std::string message;

  // "message: strerror(errno)" — what users read.
  std::string what() const;
  // Prefixes the message with where it happened, keeping code and errno.
  Error& context(std::string_view where);
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> make_error(Errc code, std::string message, int sys_errno = 0) {
  return tl::unexpected<Error>(Error{code, sys_errno, std::move(message)});
}

// Captures errno at the call site; the code follows from errno.
tl::unexpected<Error> sys_error(std::string message, int sys_errno = errno);

inline Status ok() { return {}; }

}  // namespace berth

namespace berth::detail {
template <class T, class E>
T take_value(tl::expected<T, E>&& r) {
  return std::move(r).value();
}
template <class E>
void take_value(tl::expected<void, E>&&) {}
}  // namespace berth::detail

// Propagates an error from an expression returning Result<…>, yielding its value otherwise
// (a GNU statement expression: GCC and clang both have it).
#define BERTH_TRY(expr)                                                             \
  ({                                                                                \
    auto&& berth_try_r_ = (expr);                                                   \
    if (!berth_try_r_) return tl::unexpected(std::move(berth_try_r_).error());      \
    ::berth::detail::take_value(std::move(berth_try_r_));                           \
  })
