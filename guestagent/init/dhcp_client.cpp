// run_dhcp(): the DHCP exchange over a UDP socket bound to the interface. No packet socket
// is needed: the kernel sends to 255.255.255.255 out of the bound interface from 0.0.0.0,
// and with the broadcast flag set the server's answers arrive as broadcasts too.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <cstring>

#include "berth/common/unique_fd.h"
#include "init/dhcp.h"

namespace berth::agent::init {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint16_t kServerPort = 67, kClientPort = 68;

Result<UniqueFd> dhcp_socket(const std::string& ifname) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("DHCP socket");
  int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on) < 0) return sys_error("SO_BROADCAST");
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size())) < 0)
    return sys_error("SO_BINDTODEVICE " + ifname);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kClientPort);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return sys_error("bind DHCP client port");
  return fd;
}

Status send_broadcast(int fd, const std::vector<uint8_t>& packet) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kServerPort);
  to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
  if (::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    return sys_error("send DHCP packet");
  return ok();
}

// Sends `packet` and waits for a reply of type `want` (or NAK), retransmitting after a
// short, doubling interval until `deadline`.
Result<DhcpReply> exchange(int fd, const std::vector<uint8_t>& packet, uint8_t want, uint32_t xid,
                           const MacAddress& mac, Clock::time_point deadline) {
  auto interval = std::chrono::milliseconds(250);
  while (Clock::now() < deadline) {
    BERTH_TRY(send_broadcast(fd, packet));
    auto resend_at = std::min(deadline, Clock::now() + interval);
    interval = std::min(interval * 2, std::chrono::milliseconds(2000));
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(resend_at - Clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      uint8_t buf[1500];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) continue;
      auto reply = parse_dhcp_reply(std::span<const uint8_t>(buf, static_cast<size_t>(n)), xid, mac);
      if (!reply) continue;
      if (reply->type == kDhcpNak) return make_error(Errc::protocol, "the DHCP server refused (NAK)");
      if (reply->type == want) return *reply;
    }
  }
  return make_error(Errc::timeout, want == kDhcpOffer ? "no DHCP offer" : "no DHCP acknowledgement");
}

}  // namespace

Result<DhcpLease> run_dhcp(const std::string& ifname, const MacAddress& mac, const std::string& hostname,
                           std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  UniqueFd fd = BERTH_TRY(dhcp_socket(ifname));
  uint32_t xid = 0;
  if (::getrandom(&xid, sizeof xid, GRND_NONBLOCK) != sizeof xid) xid = static_cast<uint32_t>(Clock::now().time_since_epoch().count());

  DhcpReply offer = BERTH_TRY(exchange(fd.get(), dhcp_discover(xid, mac, hostname), kDhcpOffer, xid, mac, deadline));
  if (!offer.server_id) return make_error(Errc::protocol, "DHCP offer without a server identifier");
  DhcpReply ack = BERTH_TRY(exchange(fd.get(), dhcp_request(xid, mac, offer.your_address, *offer.server_id, hostname),
                                     kDhcpAck, xid, mac, deadline));
  DhcpLease lease;
  lease.address = ack.your_address;
  lease.server = *offer.server_id;
  auto mask = ack.subnet_mask ? ack.subnet_mask : offer.subnet_mask;
  if (mask) {
    int prefix = prefix_from_mask(*mask);
    if (prefix < 0) return make_error(Errc::protocol, "DHCP subnet mask is not contiguous");
    lease.prefix = prefix;
  }
  lease.router = ack.router ? ack.router : offer.router;
  lease.dns = ack.dns.empty() ? offer.dns : ack.dns;
  lease.domain = ack.domain.empty() ? offer.domain : ack.domain;
  lease.lease_seconds = ack.lease_seconds;
  return lease;
}

}  // namespace berth::agent::init
