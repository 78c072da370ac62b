// Configuring interfaces over raw rtnetlink (no `ip` binary in the image): bring a link up,
// add an IPv4 address, add the default route. Message builders are pure and unit-tested;
// RtNetlink sends one request at a time and waits for the kernel's acknowledgement.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <span>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::agent::init {

std::vector<uint8_t> link_up_message(uint32_t seq, int ifindex);
std::vector<uint8_t> add_address_message(uint32_t seq, int ifindex, in_addr address, int prefix);
std::vector<uint8_t> add_default_route_message(uint32_t seq, int ifindex, in_addr gateway);

// The kernel's answer to request `seq`: 0 for success, else a positive errno.
// Errc::protocol if `reply` holds no acknowledgement for `seq`.
Result<int> parse_ack(std::span<const uint8_t> reply, uint32_t seq);

class RtNetlink {
 public:
  static Result<RtNetlink> open();
  // Sends a message built with sequence number next_seq() and waits for its ack.
  Status request(const std::vector<uint8_t>& message, uint32_t seq);
  uint32_t next_seq() { return ++seq_; }

 private:
  UniqueFd fd_;
  uint32_t seq_ = 0;
};

}  // namespace berth::agent::init
