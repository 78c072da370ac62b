// Listening AF_VSOCK sockets for the host's connections (any CID may connect: in a VM the
// only peer is the host).
#pragma once

#include <cstdint>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::agent::init {

Result<UniqueFd> listen_vsock(uint32_t port, int backlog = 128);

}  // namespace berth::agent::init
