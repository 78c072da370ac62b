// Passing a descriptor over a Unix socket (SCM_RIGHTS). Allocation-free, so the init can use it.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace berth::runtime {

// Sends `len` bytes of `data` with `fd` attached. False on failure (errno set).
bool send_fd(int sock, int fd, const void* data, size_t len) noexcept;
// Receives up to `len` bytes; *fd_out is the attached descriptor (CLOEXEC) or -1.
// Returns the byte count (0 on EOF) or -1 (errno set).
ssize_t receive_fd(int sock, void* data, size_t len, int* fd_out) noexcept;

}  // namespace berth::runtime
