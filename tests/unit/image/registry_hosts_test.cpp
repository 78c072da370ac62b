// Insecure-registry matching (hosts and CIDRs) and mirror validation, as dockerd's registry
// configuration treats them.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "image/registry_hosts.h"

namespace berth::agent::image {
namespace {

TEST(Cidr, ParsesAndMatches) {
  auto n = parse_cidr("10.1.2.3/8").value();
  EXPECT_EQ(n.string(), "10.0.0.0/8") << "host bits dropped, as net.ParseCIDR";
  uint8_t in[4] = {10, 200, 0, 1}, out[4] = {11, 0, 0, 1};
  EXPECT_TRUE(n.contains(AF_INET, in));
  EXPECT_FALSE(n.contains(AF_INET, out));
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 9, 9, 9};
  EXPECT_TRUE(n.contains(AF_INET6, mapped)) << "IPv4-mapped IPv6";
  auto odd = parse_cidr("192.168.1.130/25").value();
  EXPECT_EQ(odd.string(), "192.168.1.128/25");
  uint8_t a129[4] = {192, 168, 1, 129}, a127[4] = {192, 168, 1, 127};
  EXPECT_TRUE(odd.contains(AF_INET, a129));
  EXPECT_FALSE(odd.contains(AF_INET, a127));
  auto v6 = parse_cidr("fd00::/8").value();
  uint8_t ula[16] = {0xfd, 1};
  EXPECT_TRUE(v6.contains(AF_INET6, ula));
  EXPECT_FALSE(v6.contains(AF_INET, in));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0").value().contains(AF_INET, out));
  for (const char* bad : {"10.0.0.0", "10.0.0.0/33", "10.0.0/8", "x/8", "10.0.0.0/", "::/129", "10.0.0.0/8x"})
    EXPECT_FALSE(parse_cidr(bad)) << bad;
}

TEST(InsecureRegistries, ParsesLikeDockerd) {
  auto r = InsecureRegistries::parse({"myreg:5000", "http://plain.example", "10.0.0.0/8", "10.0.0.0/8", "::1"}).value();
  EXPECT_EQ(r.hosts, (std::vector<std::string>{"myreg:5000", "plain.example", "::1"}));
  ASSERT_EQ(r.cidrs.size(), 2u);
  EXPECT_EQ(r.cidrs[0].string(), "10.0.0.0/8");
  EXPECT_EQ(r.cidrs[1].string(), "127.0.0.0/8") << "always there, after the configured ones";
  EXPECT_EQ(InsecureRegistries::parse({}, false).value().cidrs.size(), 0u);

  auto scheme = InsecureRegistries::parse({"ftp://x"});
  ASSERT_FALSE(scheme);
  EXPECT_EQ(scheme.error().message, "insecure registry ftp://x should not contain '://'");
  auto hyphen = InsecureRegistries::parse({"-bad"});
  EXPECT_EQ(hyphen.error().message, "invalid index name (-bad). Cannot begin or end with a hyphen");
  auto host = InsecureRegistries::parse({"bad_host:5000"});
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().code, Errc::invalid_argument);
  EXPECT_NE(host.error().message.find("insecure registry bad_host:5000 is not valid"), std::string::npos);
  EXPECT_FALSE(InsecureRegistries::parse({"10.0.0.0/99"}));
  EXPECT_FALSE(InsecureRegistries::parse({"host:99999"}));
}

TEST(InsecureRegistryMatcher, HostsExactlyCidrsByAddress) {
  InsecureRegistryMatcher m(InsecureRegistries::parse({"myreg:5000", "192.168.0.0/16"}).value(), true);
  EXPECT_TRUE(m.is_insecure("myreg:5000"));
  EXPECT_FALSE(m.is_insecure("myreg:5001")) << "listed hosts match exactly, as dockerd's IndexConfigs";
  EXPECT_FALSE(m.is_insecure("myreg"));
  EXPECT_TRUE(m.is_insecure("192.168.4.5:5000"));
  EXPECT_TRUE(m.is_insecure("192.168.4.5"));
  EXPECT_FALSE(m.is_insecure("192.169.0.1:5000"));
  EXPECT_TRUE(m.is_insecure("127.0.0.1:5000"));
  EXPECT_TRUE(m.is_insecure("127.3.4.5:80"));
  EXPECT_TRUE(m.is_insecure("localhost:5000"));
  EXPECT_TRUE(m.is_insecure("[::1]:5000"));
  EXPECT_FALSE(m.is_insecure("docker.io"));
  EXPECT_FALSE(m.is_insecure("10.0.0.1:5000"));

  InsecureRegistryMatcher strict(InsecureRegistries::parse({}, false).value(), false);
  EXPECT_FALSE(strict.is_insecure("127.0.0.1:5000"));
  EXPECT_FALSE(strict.is_insecure("localhost:5000"));
}

TEST(Mirrors, ValidatedAndNormalised) {
  EXPECT_EQ(validate_mirror("https://mirror.example").value(), "https://mirror.example/");
  EXPECT_EQ(validate_mirror("http://127.0.0.1:5000///").value(), "http://127.0.0.1:5000/");
  EXPECT_EQ(validate_mirror("https://m.example/path").value(), "https://m.example/path/");
  EXPECT_EQ(validate_mirror("mirror.example").error().message,
            "invalid mirror: unsupported scheme \"\" in \"mirror.example\"");
  EXPECT_EQ(validate_mirror("ftp://m").error().message, "invalid mirror: unsupported scheme \"ftp\" in \"ftp://m\"");
  EXPECT_NE(validate_mirror("https://u:p@m.example").error().message.find("username/password not allowed"), std::string::npos);
  EXPECT_NE(validate_mirror("https://m.example/?x=1").error().message.find("query or fragment"), std::string::npos);
  EXPECT_FALSE(validate_mirror("https://"));
}

}  // namespace
}  // namespace berth::agent::image
