#include "init/cmdline.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

namespace berth::agent::init {
namespace {

std::string ip(in_addr a) {
  char buf[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &a, buf, sizeof buf);
}

TEST(Cmdline, SplitsLikeTheKernel) {
  EXPECT_EQ(split_cmdline("console=ttyS0  panic=-1\n"), (std::vector<std::string>{"console=ttyS0", "panic=-1"}));
  EXPECT_EQ(split_cmdline(R"(a "berth.mount=t:/a b" c)"), (std::vector<std::string>{"a", "berth.mount=t:/a b", "c"}));
  EXPECT_EQ(split_cmdline(R"(berth.mount="t:/x y":ro)"), (std::vector<std::string>{"berth.mount=t:/x y:ro"}));
  EXPECT_TRUE(split_cmdline("   ").empty());
}

TEST(Cmdline, DefaultsWithoutBerthParameters) {
  auto p = parse_cmdline("console=ttyS0 panic=-1 quiet tsc=reliable");
  EXPECT_EQ(p.hostname, "berth");
  EXPECT_FALSE(p.ip);
  EXPECT_TRUE(p.shares.empty());
  EXPECT_FALSE(p.time_unix_nanos);
  EXPECT_FALSE(p.debug);
  EXPECT_TRUE(p.problems.empty());
}

TEST(Cmdline, ParsesEverything) {
  auto p = parse_cmdline(
      "console=ttyS0 berth.hostname=dev-box berth.ip=10.0.2.15/24,10.0.2.2,10.0.2.3,1.1.1.1 "
      "berth.mount=berth0:/Users/me/src berth.mount=berth1:/data:ro berth.time=1700000000.25 berth.debug=1");
  EXPECT_TRUE(p.problems.empty()) << p.problems[0];
  EXPECT_EQ(p.hostname, "dev-box");
  ASSERT_TRUE(p.ip);
  EXPECT_EQ(ip(p.ip->address), "10.0.2.15");
  EXPECT_EQ(p.ip->prefix, 24);
  ASSERT_TRUE(p.ip->gateway);
  EXPECT_EQ(ip(*p.ip->gateway), "10.0.2.2");
  ASSERT_EQ(p.ip->dns.size(), 2u);
  EXPECT_EQ(ip(p.ip->dns[1]), "1.1.1.1");
  ASSERT_EQ(p.shares.size(), 2u);
  EXPECT_EQ(p.shares[0].tag, "berth0");
  EXPECT_EQ(p.shares[0].path, "/Users/me/src");
  EXPECT_FALSE(p.shares[0].read_only);
  EXPECT_EQ(p.shares[1].path, "/data");
  EXPECT_TRUE(p.shares[1].read_only);
  EXPECT_EQ(p.time_unix_nanos, 1700000000250000000);
  EXPECT_TRUE(p.debug);
}

TEST(Cmdline, StaticIpWithoutGatewayOrDns) {
  auto p = parse_cmdline("berth.ip=192.168.5.2/30");
  ASSERT_TRUE(p.ip);
  EXPECT_FALSE(p.ip->gateway);
  EXPECT_TRUE(p.ip->dns.empty());
  EXPECT_FALSE(parse_cmdline("berth.ip=192.168.5.2/30 berth.ip=dhcp").ip);
}

TEST(Cmdline, MountPathsMayContainColons) {
  auto p = parse_cmdline("berth.mount=t:/a:b/c berth.mount=u:/x:ro:ro");
  ASSERT_EQ(p.shares.size(), 2u) << (p.problems.empty() ? "" : p.problems[0]);
  EXPECT_EQ(p.shares[0].path, "/a:b/c");
  EXPECT_EQ(p.shares[1].path, "/x:ro");
  EXPECT_TRUE(p.shares[1].read_only);
  EXPECT_EQ(parse_cmdline("berth.mount=t:/trailing/").shares.at(0).path, "/trailing");
}

// Every malformed entry is reported with its full text, so the console names it.
TEST(Cmdline, MalformedEntriesAreNamed) {
  struct Case {
    const char* word;
    const char* why;
  } cases[] = {
      {"berth.mount=nocolon", "expected TAG:/abs/path"},
      {"berth.mount=t:relative/path", "not absolute"},
      {"berth.mount=t:/a/../etc", "canonical"},
      {"berth.mount=t:/a//b", "canonical"},
      {"berth.mount=t:/proc/x", "needs"},
      {"berth.mount=t:/", "needs"},
      {"berth.mount=t:/var/lib/berth", "needs"},
      {"berth.mount=0123456789012345678901234567890123456:/x", "36 bytes"},
      {"berth.ip=10.0.2.15", "PREFIX"},
      {"berth.ip=10.0.2.300/24", "not an IPv4 address"},
      {"berth.ip=10.0.2.15/33", "prefix"},
      {"berth.ip=10.0.2.15/24,gw", "gateway"},
      {"berth.ip=10.0.2.15/24,10.0.2.2,dns", "DNS"},
      {"berth.time=yesterday", "Unix seconds"},
      {"berth.time=12", "Unix seconds"},
      {"berth.time=1700000000.x", "Unix seconds"},
      {"berth.hostname=-bad", "host name"},
      {"berth.hostname=has_underscore", "host name"},
      {"berth.debug=yes", "0 or 1"},
      {"berth.mystery=1", "unknown parameter berth.mystery"},
      {"berth.hostname", "expected berth.hostname=VALUE"},
  };
  for (const auto& c : cases) {
    auto p = parse_cmdline(std::string("console=ttyS0 ") + c.word + " quiet");
    ASSERT_EQ(p.problems.size(), 1u) << c.word;
    EXPECT_EQ(p.problems[0].rfind(std::string(c.word) + ": ", 0), 0u) << p.problems[0];
    EXPECT_NE(p.problems[0].find(c.why), std::string::npos) << c.word << " → " << p.problems[0];
  }
}

TEST(Cmdline, BadEntriesDoNotDisturbGoodOnes) {
  auto p = parse_cmdline("berth.mount=good:/src berth.mount=bad berth.hostname=ok berth.mount=dup:/src");
  ASSERT_EQ(p.shares.size(), 1u);
  EXPECT_EQ(p.shares[0].tag, "good");
  EXPECT_EQ(p.hostname, "ok");
  ASSERT_EQ(p.problems.size(), 2u);
  EXPECT_NE(p.problems[1].find("berth.mount=dup:/src: another berth.mount"), std::string::npos);
}

TEST(Cmdline, Hostnames) {
  EXPECT_TRUE(valid_hostname("berth"));
  EXPECT_TRUE(valid_hostname("a.b-c.d9"));
  EXPECT_FALSE(valid_hostname(""));
  EXPECT_FALSE(valid_hostname("a..b"));
  EXPECT_FALSE(valid_hostname(std::string(65, 'a')));
}

}  // namespace
}  // namespace berth::agent::init
