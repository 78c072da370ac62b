// A minimal DHCPv4 client for the VM's one interface: DISCOVER, OFFER, REQUEST, ACK (RFC
// 2131), enough for QEMU's user networking (slirp: server 10.0.2.2, address 10.0.2.15) and
// VZ's NAT. No renewal: both hand out the same address for the VM's lifetime and neither
// revokes it (slirp's lease is a day and it never reassigns).
//
// Encoding and parsing are pure (unit-tested); run_dhcp() does the socket work.
#pragma once

#include <netinet/in.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::init {

using MacAddress = std::array<uint8_t, 6>;

enum DhcpMessageType : uint8_t {
  kDhcpDiscover = 1,
  kDhcpOffer = 2,
  kDhcpRequest = 3,
  kDhcpDecline = 4,
  kDhcpAck = 5,
  kDhcpNak = 6,
};

struct DhcpReply {
  uint8_t type = 0;
  in_addr your_address{};
  std::optional<in_addr> server_id;
  std::optional<in_addr> subnet_mask;
  std::optional<in_addr> router;
  std::vector<in_addr> dns;
  std::string domain;
  uint32_t lease_seconds = 0;
};

struct DhcpLease {
  in_addr address{};
  int prefix = 24;
  std::optional<in_addr> router;
  std::vector<in_addr> dns;
  std::string domain;
  in_addr server{};
  uint32_t lease_seconds = 0;
};

std::vector<uint8_t> dhcp_discover(uint32_t xid, const MacAddress& mac, const std::string& hostname);
std::vector<uint8_t> dhcp_request(uint32_t xid, const MacAddress& mac, in_addr requested, in_addr server,
                                  const std::string& hostname);
// A reply to our transaction (op BOOTREPLY, same xid and hardware address), or nullopt for
// anything else on the port.
std::optional<DhcpReply> parse_dhcp_reply(std::span<const uint8_t> packet, uint32_t xid, const MacAddress& mac);
// 255.255.255.0 → 24; -1 for a mask that is not contiguous ones.
int prefix_from_mask(in_addr mask);

// Runs the exchange on `ifname` (up, no address yet) within `timeout`, retransmitting.
Result<DhcpLease> run_dhcp(const std::string& ifname, const MacAddress& mac, const std::string& hostname,
                           std::chrono::milliseconds timeout);

}  // namespace berth::agent::init
