#include "init/acpi_events.h"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstring>

namespace berth::agent::init {

namespace {

constexpr const char* kAcpiFamily = "acpi_event";
constexpr const char* kAcpiGroup = "acpi_mc_group";
constexpr uint16_t kAcpiAttrEvent = 1;  // ACPI_GENL_ATTR_EVENT
constexpr size_t kDeviceClassSize = 20;  // struct acpi_genl_event starts with char[20]

// Calls fn(type, payload) for each netlink attribute in `attrs`.
template <class Fn>
void for_each_attr(std::span<const uint8_t> attrs, Fn&& fn) {
  size_t off = 0;
  while (off + sizeof(nlattr) <= attrs.size()) {
    nlattr a{};
    std::memcpy(&a, attrs.data() + off, sizeof a);
    if (a.nla_len < sizeof a || off + a.nla_len > attrs.size()) return;
    fn(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK), attrs.subspan(off + NLA_HDRLEN, a.nla_len - NLA_HDRLEN));
    off += NLA_ALIGN(a.nla_len);
  }
}

// Calls fn(type, genl_payload_attrs) for each generic netlink message in `packet`.
template <class Fn>
void for_each_genl(std::span<const uint8_t> packet, Fn&& fn) {
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= packet.size()) {
    nlmsghdr h{};
    std::memcpy(&h, packet.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > packet.size()) return;
    size_t body = NLMSG_HDRLEN + GENL_HDRLEN;
    if (h.nlmsg_len >= body) fn(h.nlmsg_type, packet.subspan(off + body, h.nlmsg_len - body));
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
}

}  // namespace

std::vector<uint8_t> genl_get_family_request(uint32_t seq, const std::string& family) {
  size_t name_len = family.size() + 1;
  size_t total = NLMSG_HDRLEN + GENL_HDRLEN + NLA_ALIGN(NLA_HDRLEN + name_len);
  std::vector<uint8_t> buf(total, 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(total);
  h.nlmsg_type = GENL_ID_CTRL;
  h.nlmsg_flags = NLM_F_REQUEST;
  h.nlmsg_seq = seq;
  std::memcpy(buf.data(), &h, sizeof h);
  genlmsghdr g{};
  g.cmd = CTRL_CMD_GETFAMILY;
  g.version = 1;
  std::memcpy(buf.data() + NLMSG_HDRLEN, &g, sizeof g);
  nlattr a{};
  a.nla_type = CTRL_ATTR_FAMILY_NAME;
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + name_len);
  std::memcpy(buf.data() + NLMSG_HDRLEN + GENL_HDRLEN, &a, sizeof a);
  std::memcpy(buf.data() + NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN, family.c_str(), name_len);
  return buf;
}

std::optional<GenlFamily> parse_genl_family(std::span<const uint8_t> reply) {
  std::optional<GenlFamily> out;
  for_each_genl(reply, [&](uint16_t type, std::span<const uint8_t> attrs) {
    if (type != GENL_ID_CTRL) return;
    GenlFamily f;
    for_each_attr(attrs, [&](uint16_t t, std::span<const uint8_t> v) {
      if (t == CTRL_ATTR_FAMILY_ID && v.size() >= 2) std::memcpy(&f.id, v.data(), 2);
      if (t != CTRL_ATTR_MCAST_GROUPS) return;
      for_each_attr(v, [&](uint16_t, std::span<const uint8_t> group) {
        std::string name;
        uint32_t id = 0;
        for_each_attr(group, [&](uint16_t gt, std::span<const uint8_t> gv) {
          if (gt == CTRL_ATTR_MCAST_GRP_NAME)
            name.assign(reinterpret_cast<const char*>(gv.data()), strnlen(reinterpret_cast<const char*>(gv.data()), gv.size()));
          if (gt == CTRL_ATTR_MCAST_GRP_ID && gv.size() >= 4) std::memcpy(&id, gv.data(), 4);
        });
        if (!name.empty()) f.groups.emplace_back(name, id);
      });
    });
    if (f.id != 0) out = f;
  });
  return out;
}

std::vector<std::string> parse_acpi_events(std::span<const uint8_t> packet, uint16_t family_id) {
  std::vector<std::string> classes;
  for_each_genl(packet, [&](uint16_t type, std::span<const uint8_t> attrs) {
    if (type != family_id) return;
    for_each_attr(attrs, [&](uint16_t t, std::span<const uint8_t> v) {
      if (t != kAcpiAttrEvent || v.size() < kDeviceClassSize) return;
      classes.emplace_back(reinterpret_cast<const char*>(v.data()),
                           strnlen(reinterpret_cast<const char*>(v.data()), kDeviceClassSize));
    });
  });
  return classes;
}

Result<AcpiEvents> AcpiEvents::open() {
  AcpiEvents ev;
  ev.fd_ = UniqueFd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_GENERIC));
  if (!ev.fd_) return sys_error("generic netlink socket");
  int fd = ev.fd_.get();
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return sys_error("bind generic netlink");
  auto request = genl_get_family_request(1, kAcpiFamily);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return sys_error("ask for the acpi_event netlink family");
  // The kernel answers synchronously within sendto(); the reply is already queued.
  std::vector<uint8_t> buf(8192);
  ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n < 0) return sys_error("read the acpi_event netlink family");
  auto family = parse_genl_family(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
  if (!family) return make_error(Errc::not_found, "the kernel has no acpi_event netlink family (no ACPI)");
  for (const auto& [name, id] : family->groups) {
    if (name != kAcpiGroup) continue;
    if (::setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &id, sizeof id) < 0)
      return sys_error("join the ACPI event group");
    ev.family_id_ = family->id;
    return ev;
  }
  return make_error(Errc::not_found, "the acpi_event family has no acpi_mc_group");
}

bool AcpiEvents::power_button_pressed() {
  bool pressed = false;
  std::vector<uint8_t> buf(8192);
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (const auto& cls : parse_acpi_events(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)), family_id_))
      pressed = pressed || cls == "button/power";
  }
  return pressed;
}

}  // namespace berth::agent::init
