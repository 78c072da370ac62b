// Raw system-call helpers safe to use between clone() and execve(): no allocation, no locks.
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace berth::runtime::sys {

inline int openat2(int dirfd, const char* path, int flags, unsigned long long resolve, int mode = 0) {
  struct open_how how {};
  how.flags = static_cast<unsigned long long>(flags);
  how.mode = static_cast<unsigned long long>(mode);
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

inline int pivot_root(const char* new_root, const char* put_old) {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

inline int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Formats `/proc/self/fd/<fd>` into buf (at least 32 bytes) so that mount(2) acts on the
// object the fd refers to rather than on a path an attacker could swap.
inline const char* fd_path(char* buf, size_t size, int fd) {
  static const char prefix[] = "/proc/self/fd/";
  char digits[16];
  int n = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && n < 15);
  size_t pos = sizeof prefix - 1;
  if (pos + static_cast<size_t>(n) + 1 > size) return nullptr;
  std::memcpy(buf, prefix, pos);
  while (n) buf[pos++] = digits[--n];
  buf[pos] = '\0';
  return buf;
}

// Bounded string helpers for fixed buffers.
inline bool append(char* buf, size_t size, size_t* len, const char* s) {
  size_t n = std::strlen(s);
  if (*len + n + 1 > size) return false;
  std::memcpy(buf + *len, s, n + 1);
  *len += n;
  return true;
}

inline void format_uint(char* buf, size_t size, unsigned long long v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && n < 23);
  size_t pos = 0;
  while (n && pos + 1 < size) buf[pos++] = digits[--n];
  buf[pos] = '\0';
}

inline bool write_all(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

inline bool read_all(int fd, void* data, size_t len) {
  char* p = static_cast<char*>(data);
  while (len) {
    ssize_t n = ::read(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EPIPE;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace berth::runtime::sys
