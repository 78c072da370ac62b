#pragma once
#include <string>
#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
namespace berth::runtime {
// A connected Unix stream socket (CLOEXEC), e.g. to --console-socket.
Result<UniqueFd> connect_unix(const std::string& path);
struct SyncMessage;
// One message from a container process on its sync socket, with the fd it passed (if any).
// At end of file msg->type is 0: the process exec'd or is gone.
Result<UniqueFd> receive_message(int sock, SyncMessage* msg);
}  // namespace berth::runtime
