#pragma once
#include <string>
#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
namespace berth::runtime {
// A connected Unix stream socket (CLOEXEC), e.g. to --console-socket.
Result<UniqueFd> connect_unix(const std::string& path);
}  // namespace berth::runtime
