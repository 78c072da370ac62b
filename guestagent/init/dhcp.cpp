#include "init/dhcp.h"

#include <arpa/inet.h>

#include <cstring>

namespace berth::agent::init {

namespace {

// BOOTP layout (RFC 951/2131): fixed 236 bytes, then the magic cookie and options.
constexpr size_t kOp = 0, kHtype = 1, kHlen = 2, kXid = 4, kFlags = 10, kYiaddr = 16, kChaddr = 28;
constexpr size_t kCookie = 236, kOptions = 240;
constexpr uint8_t kBootRequest = 1, kBootReply = 2;
constexpr uint32_t kMagicCookie = 0x63825363;

enum Option : uint8_t {
  kPad = 0,
  kSubnetMask = 1,
  kRouter = 3,
  kDns = 6,
  kHostName = 12,
  kDomainName = 15,
  kRequestedIp = 50,
  kLeaseTime = 51,
  kMessageType = 53,
  kServerId = 54,
  kParameterList = 55,
  kMaxMessageSize = 57,
  kClientId = 61,
  kEnd = 255,
};

std::vector<uint8_t> header(uint32_t xid, const MacAddress& mac) {
  std::vector<uint8_t> p(kOptions, 0);
  p[kOp] = kBootRequest;
  p[kHtype] = 1;  // Ethernet
  p[kHlen] = 6;
  uint32_t x = htonl(xid);
  std::memcpy(&p[kXid], &x, 4);
  // Broadcast flag: the server answers to 255.255.255.255, which a UDP socket on an
  // interface without an address can receive (a unicast to the offered address it cannot).
  p[kFlags] = 0x80;
  std::memcpy(&p[kChaddr], mac.data(), mac.size());
  uint32_t cookie = htonl(kMagicCookie);
  std::memcpy(&p[kCookie], &cookie, 4);
  return p;
}

void option(std::vector<uint8_t>& p, uint8_t code, const void* data, size_t size) {
  p.push_back(code);
  p.push_back(static_cast<uint8_t>(size));
  const auto* b = static_cast<const uint8_t*>(data);
  p.insert(p.end(), b, b + size);
}

void common_options(std::vector<uint8_t>& p, const MacAddress& mac, const std::string& hostname) {
  uint8_t client_id[7] = {1};  // type 1 (Ethernet) + MAC
  std::memcpy(client_id + 1, mac.data(), 6);
  option(p, kClientId, client_id, sizeof client_id);
  uint16_t max_size = htons(1500);
  option(p, kMaxMessageSize, &max_size, sizeof max_size);
  const uint8_t wanted[] = {kSubnetMask, kRouter, kDns, kDomainName, kLeaseTime};
  option(p, kParameterList, wanted, sizeof wanted);
  if (!hostname.empty() && hostname.size() < 256) option(p, kHostName, hostname.data(), hostname.size());
}

void finish(std::vector<uint8_t>& p) {
  p.push_back(kEnd);
  // Some servers drop requests shorter than BOOTP's 300 bytes.
  if (p.size() < 300) p.resize(300, kPad);
}

in_addr addr_at(const uint8_t* p) {
  in_addr a{};
  std::memcpy(&a, p, 4);
  return a;
}

}  // namespace

std::vector<uint8_t> dhcp_discover(uint32_t xid, const MacAddress& mac, const std::string& hostname) {
  auto p = header(xid, mac);
  uint8_t type = kDhcpDiscover;
  option(p, kMessageType, &type, 1);
  common_options(p, mac, hostname);
  finish(p);
  return p;
}

std::vector<uint8_t> dhcp_request(uint32_t xid, const MacAddress& mac, in_addr requested, in_addr server,
                                  const std::string& hostname) {
  auto p = header(xid, mac);
  uint8_t type = kDhcpRequest;
  option(p, kMessageType, &type, 1);
  option(p, kRequestedIp, &requested, 4);
  option(p, kServerId, &server, 4);
  common_options(p, mac, hostname);
  finish(p);
  return p;
}

std::optional<DhcpReply> parse_dhcp_reply(std::span<const uint8_t> packet, uint32_t xid, const MacAddress& mac) {
  if (packet.size() < kOptions || packet[kOp] != kBootReply || packet[kHlen] != 6) return std::nullopt;
  uint32_t x = 0, cookie = 0;
  std::memcpy(&x, &packet[kXid], 4);
  std::memcpy(&cookie, &packet[kCookie], 4);
  if (ntohl(x) != xid || ntohl(cookie) != kMagicCookie) return std::nullopt;
  if (std::memcmp(&packet[kChaddr], mac.data(), 6) != 0) return std::nullopt;
  DhcpReply r;
  r.your_address = addr_at(&packet[kYiaddr]);
  size_t i = kOptions;
  while (i < packet.size()) {
    uint8_t code = packet[i++];
    if (code == kPad) continue;
    if (code == kEnd || i >= packet.size()) break;
    size_t len = packet[i++];
    if (i + len > packet.size()) return std::nullopt;  // truncated option: not a packet to trust
    const uint8_t* v = &packet[i];
    switch (code) {
      case kMessageType:
        if (len == 1) r.type = v[0];
        break;
      case kSubnetMask:
        if (len == 4) r.subnet_mask = addr_at(v);
        break;
      case kRouter:
        if (len >= 4) r.router = addr_at(v);
        break;
      case kDns:
        for (size_t k = 0; k + 4 <= len; k += 4) r.dns.push_back(addr_at(v + k));
        break;
      case kDomainName:
        r.domain.assign(reinterpret_cast<const char*>(v), len);
        while (!r.domain.empty() && r.domain.back() == '\0') r.domain.pop_back();
        break;
      case kLeaseTime:
        if (len == 4) {
          uint32_t t;
          std::memcpy(&t, v, 4);
          r.lease_seconds = ntohl(t);
        }
        break;
      case kServerId:
        if (len == 4) r.server_id = addr_at(v);
        break;
      default:
        break;
    }
    i += len;
  }
  if (r.type == 0) return std::nullopt;  // plain BOOTP, not DHCP
  return r;
}

int prefix_from_mask(in_addr mask) {
  uint32_t m = ntohl(mask.s_addr);
  int prefix = 0;
  while (prefix < 32 && (m & (0x80000000u >> prefix))) ++prefix;
  uint32_t expect = prefix == 0 ? 0 : (0xffffffffu << (32 - prefix));
  return m == expect ? prefix : -1;
}

}  // namespace berth::agent::init
