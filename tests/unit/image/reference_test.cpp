#include <gtest/gtest.h>

#include "image/reference.h"

namespace berth::agent::image {
namespace {

struct Case {
  const char* input;
  const char* normalized;
  const char* familiar;
};

TEST(Reference, NormalisesLikeDocker) {
  const Case cases[] = {
      {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"},
      {"user/app:v1", "docker.io/user/app:v1", "user/app:v1"},
      {"library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
      {"host:5000/a/b:tag", "host:5000/a/b:tag", "host:5000/a/b:tag"},
      {"127.0.0.1:5000/test/busybox", "127.0.0.1:5000/test/busybox:latest", "127.0.0.1:5000/test/busybox:latest"},
      {"localhost/foo", "localhost/foo:latest", "localhost/foo:latest"},
      {"ghcr.io/o/r:1.0-rc_1", "ghcr.io/o/r:1.0-rc_1", "ghcr.io/o/r:1.0-rc_1"},
      {"a__b/c--d/e.f", "docker.io/a__b/c--d/e.f:latest", "a__b/c--d/e.f:latest"},
      {"Registry.Example.com/x", "Registry.Example.com/x:latest", "Registry.Example.com/x:latest"},
      {"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
  };
  for (const auto& c : cases) {
    auto r = parse_reference(c.input);
    ASSERT_TRUE(r) << c.input << ": " << r.error().message;
    EXPECT_EQ(r->string(), c.normalized) << c.input;
    EXPECT_EQ(r->familiar(), c.familiar) << c.input;
  }
}

TEST(Reference, Digests) {
  std::string d = "sha256:" + std::string(64, 'a');
  auto r = parse_reference("busybox@" + d);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_tag());
  EXPECT_EQ(r->digest, d);
  EXPECT_EQ(r->manifest_reference(), d);
  EXPECT_EQ(r->string(), "docker.io/library/busybox@" + d);
  EXPECT_EQ(r->familiar(), "busybox@" + d);

  auto both = parse_reference("127.0.0.1:5000/x:1@" + d);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->tag, "1");
  EXPECT_EQ(both->manifest_reference(), d);

  auto rd = parse_reference("busybox:latest")->with_digest(d);
  EXPECT_EQ(rd.string(), "docker.io/library/busybox@" + d);
}

TEST(Reference, RejectsBadInputWithDockerWording) {
  const char* bad[] = {"",          "Busybox",      "busybox:",        ":tag",          "a//b",        "/busybox",
                       "busybox/",  "bu$ybox",      "busybox:-tag",    "-busybox",      "busybox@sha256:abc",
                       "busybox@",  "a..b",         "host:port/x"};
  for (const char* b : bad) {
    auto r = parse_reference(b);
    EXPECT_FALSE(r) << "accepted \"" << b << "\" as " << (r ? r->string() : "");
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::invalid_argument) << b;
      EXPECT_NE(r.error().message.find("invalid"), std::string::npos) << r.error().message;
    }
  }
  EXPECT_FALSE(parse_reference("busybox:" + std::string(129, 'a'))) << "tags are at most 128 characters";
  EXPECT_TRUE(parse_reference("busybox:" + std::string(128, 'a')));
  auto upper = parse_reference("docker.io/Library/busybox");
  ASSERT_FALSE(upper);
  EXPECT_NE(upper.error().message.find("must be lowercase"), std::string::npos);
  auto hex = parse_reference(std::string(64, 'f'));
  ASSERT_FALSE(hex);
  EXPECT_NE(hex.error().message.find("64-byte hexadecimal"), std::string::npos);
  std::string long_name(250, 'a');
  EXPECT_FALSE(parse_reference("example.com/" + long_name));
}

TEST(Reference, NamedKeepsMissingTag) {
  auto r = parse_named("busybox");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_tag());
  EXPECT_EQ(r->string(), "docker.io/library/busybox");
}

TEST(Reference, LoopbackRegistries) {
  EXPECT_TRUE(is_loopback_registry("127.0.0.1:5000"));
  EXPECT_TRUE(is_loopback_registry("localhost:5000"));
  EXPECT_TRUE(is_loopback_registry("localhost"));
  EXPECT_TRUE(is_loopback_registry("[::1]:5000"));
  EXPECT_FALSE(is_loopback_registry("127.evil.com"));
  EXPECT_FALSE(is_loopback_registry("docker.io"));
  EXPECT_FALSE(is_loopback_registry("10.0.0.1:5000"));
}

}  // namespace
}  // namespace berth::agent::image
