// Copies bytes between a hijacked client connection and a process stream from the shim:
// client input to the process's stdin (with Docker's detach keys), output to the client,
// until the process's stream ends, the client leaves or detaches.
#pragma once

#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent {

// "ctrl-p,ctrl-q" → {0x10, 0x11}; Errc::invalid_argument for anything else Docker refuses.
Result<std::vector<char>> parse_detach_keys(const std::string& spec);

struct ProxyOptions {
  bool forward_input = true;     // the client's bytes go to the process (stdin attached)
  std::vector<char> detach_keys;  // empty: none
};

enum class ProxyEnd { process_ended, client_left, detached };

// `client_pending` were read from the client before the hijack; `process_pending` arrived
// with the shim's answer. Client EOF half-closes the process side (stdin EOF) and keeps
// copying output.
ProxyEnd proxy_stream(int client_fd, std::string client_pending, int process_fd, std::string process_pending,
                      const ProxyOptions& options);

}  // namespace berth::agent
