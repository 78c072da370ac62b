#include "init/netlink.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>

namespace berth::agent::init {

namespace {

// A netlink message under construction: header, fixed part, then attributes, each padded
// to 4 bytes as NLMSG_ALIGN / RTA_ALIGN require.
class Message {
 public:
  Message(uint16_t type, uint16_t flags, uint32_t seq) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    append(&h, sizeof h);
  }
  template <class T>
  void fixed(const T& body) {
    append(&body, sizeof body);
  }
  void attr(uint16_t type, const void* data, size_t size) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(size));
    append(&a, sizeof a);
    append(data, size);
  }
  std::vector<uint8_t> finish() {
    uint32_t len = static_cast<uint32_t>(buf_.size());
    std::memcpy(buf_.data() + offsetof(nlmsghdr, nlmsg_len), &len, sizeof len);
    return std::move(buf_);
  }

 private:
  void append(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    buf_.insert(buf_.end(), p, p + size);
    buf_.resize(NLMSG_ALIGN(buf_.size()), 0);
  }
  std::vector<uint8_t> buf_;
};

}  // namespace

std::vector<uint8_t> link_up_message(uint32_t seq, int ifindex) {
  Message m(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  m.fixed(ifi);
  return m.finish();
}

std::vector<uint8_t> add_address_message(uint32_t seq, int ifindex, in_addr address, int prefix) {
  // NLM_F_REPLACE: a second boot step (DHCP after a static attempt, a retry) must not fail
  // on an address that is already there.
  Message m(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<uint8_t>(prefix);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  m.fixed(ifa);
  m.attr(IFA_LOCAL, &address, sizeof address);
  m.attr(IFA_ADDRESS, &address, sizeof address);
  if (prefix < 31) {
    uint32_t host_mask = prefix == 0 ? 0xffffffffu : (0xffffffffu >> prefix);
    in_addr broadcast{address.s_addr | htonl(host_mask)};
    m.attr(IFA_BROADCAST, &broadcast, sizeof broadcast);
  }
  return m.finish();
}

std::vector<uint8_t> add_default_route_message(uint32_t seq, int ifindex, in_addr gateway) {
  Message m(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_dst_len = 0;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  m.fixed(rt);
  m.attr(RTA_GATEWAY, &gateway, sizeof gateway);
  uint32_t oif = static_cast<uint32_t>(ifindex);
  m.attr(RTA_OIF, &oif, sizeof oif);
  return m.finish();
}

Result<int> parse_ack(std::span<const uint8_t> reply, uint32_t seq) {
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= reply.size()) {
    nlmsghdr h{};
    std::memcpy(&h, reply.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > reply.size()) break;
    if (h.nlmsg_seq == seq && h.nlmsg_type == NLMSG_ERROR && h.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
      nlmsgerr e{};
      std::memcpy(&e, reply.data() + off + NLMSG_HDRLEN, sizeof e);
      return -e.error;
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return make_error(Errc::protocol, "netlink: no acknowledgement for request " + std::to_string(seq));
}

Result<RtNetlink> RtNetlink::open() {
  RtNetlink nl;
  nl.fd_ = UniqueFd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!nl.fd_) return sys_error("netlink socket");
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (::bind(nl.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return sys_error("bind netlink");
  // A dead kernel answer must not hang boot.
  timeval tv{2, 0};
  ::setsockopt(nl.fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return nl;
}

Status RtNetlink::request(const std::vector<uint8_t>& message, uint32_t seq) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return sys_error("netlink send");
  std::vector<uint8_t> buf(8192);
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("netlink receive");
    auto code = parse_ack(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)), seq);
    if (!code) continue;  // something else (an earlier request's late answer): keep reading
    if (*code != 0) return sys_error("netlink request", *code);
    return ok();
  }
}

}  // namespace berth::agent::init
