#include "init/netlink.h"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "init/acpi_events.h"

namespace berth::agent::init {
namespace {

template <class T>
T at(const std::vector<uint8_t>& buf, size_t off) {
  T v{};
  std::memcpy(&v, buf.data() + off, sizeof v);
  return v;
}

// Attributes after a fixed-size body: type → payload.
std::map<uint16_t, std::string> attrs(const std::vector<uint8_t>& m, size_t body) {
  std::map<uint16_t, std::string> out;
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(body);
  while (off + sizeof(rtattr) <= m.size()) {
    auto a = at<rtattr>(m, off);
    out[a.rta_type] = std::string(reinterpret_cast<const char*>(m.data() + off + RTA_LENGTH(0)), a.rta_len - RTA_LENGTH(0));
    off += RTA_ALIGN(a.rta_len);
  }
  return out;
}

in_addr addr(const char* s) {
  in_addr a{};
  ::inet_pton(AF_INET, s, &a);
  return a;
}

TEST(Netlink, LinkUp) {
  auto m = link_up_message(7, 2);
  auto h = at<nlmsghdr>(m, 0);
  EXPECT_EQ(h.nlmsg_len, m.size());
  EXPECT_EQ(h.nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ(h.nlmsg_seq, 7u);
  EXPECT_TRUE(h.nlmsg_flags & NLM_F_ACK);
  auto ifi = at<ifinfomsg>(m, NLMSG_HDRLEN);
  EXPECT_EQ(ifi.ifi_index, 2);
  EXPECT_EQ(ifi.ifi_flags & IFF_UP, static_cast<unsigned>(IFF_UP));
  EXPECT_EQ(ifi.ifi_change, static_cast<unsigned>(IFF_UP));
}

TEST(Netlink, AddAddress) {
  auto m = add_address_message(3, 2, addr("10.0.2.15"), 24);
  auto h = at<nlmsghdr>(m, 0);
  EXPECT_EQ(h.nlmsg_len, m.size());
  EXPECT_EQ(h.nlmsg_type, RTM_NEWADDR);
  EXPECT_TRUE(h.nlmsg_flags & NLM_F_CREATE);
  auto ifa = at<ifaddrmsg>(m, NLMSG_HDRLEN);
  EXPECT_EQ(ifa.ifa_family, AF_INET);
  EXPECT_EQ(ifa.ifa_prefixlen, 24);
  EXPECT_EQ(ifa.ifa_index, 2u);
  auto a = attrs(m, sizeof(ifaddrmsg));
  EXPECT_EQ(a[IFA_LOCAL], std::string("\x0a\x00\x02\x0f", 4));
  EXPECT_EQ(a[IFA_ADDRESS], std::string("\x0a\x00\x02\x0f", 4));
  EXPECT_EQ(a[IFA_BROADCAST], std::string("\x0a\x00\x02\xff", 4));
  EXPECT_FALSE(attrs(add_address_message(3, 2, addr("10.0.0.1"), 32), sizeof(ifaddrmsg)).count(IFA_BROADCAST));
}

TEST(Netlink, DefaultRoute) {
  auto m = add_default_route_message(4, 2, addr("10.0.2.2"));
  auto rt = at<rtmsg>(m, NLMSG_HDRLEN);
  EXPECT_EQ(at<nlmsghdr>(m, 0).nlmsg_type, RTM_NEWROUTE);
  EXPECT_EQ(rt.rtm_family, AF_INET);
  EXPECT_EQ(rt.rtm_dst_len, 0);
  EXPECT_EQ(rt.rtm_table, RT_TABLE_MAIN);
  EXPECT_EQ(rt.rtm_type, RTN_UNICAST);
  auto a = attrs(m, sizeof(rtmsg));
  EXPECT_EQ(a[RTA_GATEWAY], std::string("\x0a\x00\x02\x02", 4));
  uint32_t oif = 2;
  EXPECT_EQ(a[RTA_OIF], std::string(reinterpret_cast<const char*>(&oif), 4));
}

std::vector<uint8_t> ack(uint32_t seq, int error) {
  std::vector<uint8_t> m(NLMSG_LENGTH(sizeof(nlmsgerr)), 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(m.size());
  h.nlmsg_type = NLMSG_ERROR;
  h.nlmsg_seq = seq;
  std::memcpy(m.data(), &h, sizeof h);
  nlmsgerr e{};
  e.error = error;
  std::memcpy(m.data() + NLMSG_HDRLEN, &e, sizeof e);
  return m;
}

TEST(Netlink, Acks) {
  EXPECT_EQ(parse_ack(ack(5, 0), 5).value(), 0);
  EXPECT_EQ(parse_ack(ack(5, -EEXIST), 5).value(), EEXIST);
  EXPECT_FALSE(parse_ack(ack(4, 0), 5));
  auto two = ack(4, -EPERM);
  auto second = ack(5, 0);
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(parse_ack(two, 5).value(), 0);
  EXPECT_FALSE(parse_ack(std::vector<uint8_t>(3, 0), 5));
}

// The genetlink side: CTRL_CMD_GETFAMILY request and the ACPI event format.
TEST(Genetlink, FamilyRequestAndReply) {
  auto req = genl_get_family_request(9, "acpi_event");
  auto h = at<nlmsghdr>(req, 0);
  EXPECT_EQ(h.nlmsg_len, req.size());
  EXPECT_EQ(h.nlmsg_type, GENL_ID_CTRL);
  EXPECT_EQ(req[NLMSG_HDRLEN], CTRL_CMD_GETFAMILY);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(req.data() + NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN)), "acpi_event");

  // Build the kernel's reply: family id 0x1a, one group "acpi_mc_group" = 5.
  std::vector<uint8_t> r(NLMSG_HDRLEN + GENL_HDRLEN, 0);
  auto put_attr = [](std::vector<uint8_t>& b, uint16_t type, const void* data, size_t len) {
    nlattr a{};
    a.nla_type = type;
    a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
    size_t off = b.size();
    b.resize(off + NLA_ALIGN(a.nla_len), 0);
    std::memcpy(b.data() + off, &a, sizeof a);
    std::memcpy(b.data() + off + NLA_HDRLEN, data, len);
  };
  uint16_t id = 0x1a;
  put_attr(r, CTRL_ATTR_FAMILY_ID, &id, 2);
  std::vector<uint8_t> group, groups;
  put_attr(group, CTRL_ATTR_MCAST_GRP_NAME, "acpi_mc_group", 14);
  uint32_t gid = 5;
  put_attr(group, CTRL_ATTR_MCAST_GRP_ID, &gid, 4);
  put_attr(groups, 1, group.data(), group.size());
  put_attr(r, CTRL_ATTR_MCAST_GROUPS, groups.data(), groups.size());
  nlmsghdr rh{};
  rh.nlmsg_len = static_cast<uint32_t>(r.size());
  rh.nlmsg_type = GENL_ID_CTRL;
  std::memcpy(r.data(), &rh, sizeof rh);
  auto family = parse_genl_family(r);
  ASSERT_TRUE(family);
  EXPECT_EQ(family->id, 0x1a);
  ASSERT_EQ(family->groups.size(), 1u);
  EXPECT_EQ(family->groups[0].first, "acpi_mc_group");
  EXPECT_EQ(family->groups[0].second, 5u);

  // An event message of that family: struct acpi_genl_event { char class[20]; char bus_id[15]; u32 type, data; }.
  std::vector<uint8_t> ev(NLMSG_HDRLEN + GENL_HDRLEN, 0);
  uint8_t event[44] = {};
  std::memcpy(event, "button/power", 12);
  std::memcpy(event + 20, "PNP0C0C:00", 10);
  put_attr(ev, 1, event, sizeof event);
  nlmsghdr eh{};
  eh.nlmsg_len = static_cast<uint32_t>(ev.size());
  eh.nlmsg_type = 0x1a;
  std::memcpy(ev.data(), &eh, sizeof eh);
  EXPECT_EQ(parse_acpi_events(ev, 0x1a), (std::vector<std::string>{"button/power"}));
  EXPECT_TRUE(parse_acpi_events(ev, 0x1b).empty());
}

}  // namespace
}  // namespace berth::agent::init
