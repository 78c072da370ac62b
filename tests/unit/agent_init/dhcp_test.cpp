#include "init/dhcp.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <cstring>

namespace berth::agent::init {
namespace {

const MacAddress kMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint32_t kXid = 0x11223344;

in_addr addr(const char* s) {
  in_addr a{};
  ::inet_pton(AF_INET, s, &a);
  return a;
}

// Options as TLV → {code: bytes}; stops at END.
std::map<uint8_t, std::string> options(const std::vector<uint8_t>& p) {
  std::map<uint8_t, std::string> out;
  for (size_t i = 240; i < p.size();) {
    uint8_t code = p[i++];
    if (code == 0) continue;
    if (code == 255) break;
    uint8_t len = p[i++];
    out[code] = std::string(reinterpret_cast<const char*>(&p[i]), len);
    i += len;
  }
  return out;
}

// What slirp answers: BOOTREPLY, our xid and MAC, yiaddr, and options.
std::vector<uint8_t> reply(uint8_t type, uint32_t xid = kXid, MacAddress mac = kMac) {
  std::vector<uint8_t> p(240, 0);
  p[0] = 2;
  p[1] = 1;
  p[2] = 6;
  uint32_t x = htonl(xid);
  std::memcpy(&p[4], &x, 4);
  in_addr yi = addr("10.0.2.15");
  std::memcpy(&p[16], &yi, 4);
  std::memcpy(&p[28], mac.data(), 6);
  uint32_t cookie = htonl(0x63825363);
  std::memcpy(&p[236], &cookie, 4);
  auto opt = [&](uint8_t code, std::string v) {
    p.push_back(code);
    p.push_back(static_cast<uint8_t>(v.size()));
    p.insert(p.end(), v.begin(), v.end());
  };
  auto a4 = [](const char* s) {
    in_addr a = addr(s);
    return std::string(reinterpret_cast<const char*>(&a), 4);
  };
  opt(53, std::string(1, static_cast<char>(type)));
  opt(54, a4("10.0.2.2"));
  opt(1, a4("255.255.255.0"));
  opt(3, a4("10.0.2.2"));
  opt(6, a4("10.0.2.3") + a4("8.8.8.8"));
  opt(15, std::string("example.test\0", 13));
  uint32_t lease = htonl(86400);
  opt(51, std::string(reinterpret_cast<const char*>(&lease), 4));
  p.push_back(255);
  return p;
}

TEST(Dhcp, DiscoverEncoding) {
  auto p = dhcp_discover(kXid, kMac, "berth");
  ASSERT_GE(p.size(), 300u);
  EXPECT_EQ(p[0], 1);  // BOOTREQUEST
  EXPECT_EQ(p[1], 1);  // Ethernet
  EXPECT_EQ(p[2], 6);
  uint32_t xid;
  std::memcpy(&xid, &p[4], 4);
  EXPECT_EQ(ntohl(xid), kXid);
  EXPECT_EQ(p[10], 0x80) << "broadcast flag";
  EXPECT_EQ(0, std::memcmp(&p[28], kMac.data(), 6));
  EXPECT_EQ(p[236], 0x63);
  EXPECT_EQ(p[239], 0x63);
  auto o = options(p);
  EXPECT_EQ(o[53], std::string(1, '\x01'));
  EXPECT_EQ(o[12], "berth");
  EXPECT_EQ(o[61], std::string("\x01\x52\x54\x00\x12\x34\x56", 7));
  EXPECT_NE(o[55].find('\x03'), std::string::npos) << "asks for the router";
  EXPECT_FALSE(o.count(50));
}

TEST(Dhcp, RequestNamesTheOfferAndServer) {
  auto p = dhcp_request(kXid, kMac, addr("10.0.2.15"), addr("10.0.2.2"), "berth");
  auto o = options(p);
  EXPECT_EQ(o[53], std::string(1, '\x03'));
  EXPECT_EQ(o[50], std::string("\x0a\x00\x02\x0f", 4));
  EXPECT_EQ(o[54], std::string("\x0a\x00\x02\x02", 4));
}

TEST(Dhcp, ParsesAnOffer) {
  auto r = parse_dhcp_reply(reply(2), kXid, kMac);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, kDhcpOffer);
  char buf[INET_ADDRSTRLEN];
  EXPECT_STREQ(::inet_ntop(AF_INET, &r->your_address, buf, sizeof buf), "10.0.2.15");
  ASSERT_TRUE(r->server_id);
  ASSERT_TRUE(r->router);
  ASSERT_TRUE(r->subnet_mask);
  EXPECT_EQ(prefix_from_mask(*r->subnet_mask), 24);
  ASSERT_EQ(r->dns.size(), 2u);
  EXPECT_STREQ(::inet_ntop(AF_INET, &r->dns[1], buf, sizeof buf), "8.8.8.8");
  EXPECT_EQ(r->domain, "example.test");
  EXPECT_EQ(r->lease_seconds, 86400u);
}

TEST(Dhcp, IgnoresOtherTransactionsAndGarbage) {
  EXPECT_FALSE(parse_dhcp_reply(reply(2, kXid + 1), kXid, kMac));
  EXPECT_FALSE(parse_dhcp_reply(reply(2, kXid, {1, 2, 3, 4, 5, 6}), kXid, kMac));
  auto truncated = reply(5);
  truncated.resize(100);
  EXPECT_FALSE(parse_dhcp_reply(truncated, kXid, kMac));
  auto bad_option = reply(5);
  bad_option.pop_back();          // END
  bad_option.push_back(6);        // DNS...
  bad_option.push_back(200);      // ...claiming more bytes than there are
  EXPECT_FALSE(parse_dhcp_reply(bad_option, kXid, kMac));
  auto request = dhcp_discover(kXid, kMac, "x");  // our own broadcast, looped back
  EXPECT_FALSE(parse_dhcp_reply(request, kXid, kMac));
}

TEST(Dhcp, PrefixFromMask) {
  EXPECT_EQ(prefix_from_mask(addr("255.255.255.0")), 24);
  EXPECT_EQ(prefix_from_mask(addr("255.255.255.255")), 32);
  EXPECT_EQ(prefix_from_mask(addr("0.0.0.0")), 0);
  EXPECT_EQ(prefix_from_mask(addr("255.255.240.0")), 20);
  EXPECT_EQ(prefix_from_mask(addr("255.0.255.0")), -1);
}

}  // namespace
}  // namespace berth::agent::init
