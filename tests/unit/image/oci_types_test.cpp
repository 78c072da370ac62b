#include <gtest/gtest.h>

#include "image/digest.h"
#include "image/oci_types.h"
#include "image/platform.h"

namespace berth::agent::image {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');

TEST(Digest, ValidatesAndHashes) {
  EXPECT_TRUE(is_digest(kD1));
  EXPECT_FALSE(is_digest("sha256:ABC"));
  EXPECT_FALSE(is_digest("sha256:" + std::string(63, 'a')));
  EXPECT_EQ(validate_digest("sha512:" + std::string(128, 'a')).error().code, Errc::unsupported);
  EXPECT_EQ(sha256_digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update("ab");
  h.update("c");
  EXPECT_EQ(h.finish(), sha256_digest("abc"));
  EXPECT_EQ(short_id(kD1), "111111111111");
}

TEST(OciTypes, ParsesDockerSchema2Manifest) {
  std::string doc = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":10,"digest":")" + kD1 + R"("},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":20,"digest":")" + kD2 + R"("}]})";
  auto m = parse_manifest(doc);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media_type::kDockerManifest);
  EXPECT_EQ(m->config.digest, kD1);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 20);
  EXPECT_FALSE(*is_index_document(doc, ""));
}

TEST(OciTypes, ManifestErrorsNameTheField) {
  std::string doc = R"({"schemaVersion":2,"config":{"size":1,"digest":")" + kD1 + R"("},"layers":[{"size":"x","digest":")" + kD2 + R"("}]})";
  auto m = parse_manifest(doc);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("layers[0].size"), std::string::npos) << m.error().message;
  auto bad_digest = parse_manifest(R"({"schemaVersion":2,"config":{"size":1,"digest":"md5:x"}})");
  ASSERT_FALSE(bad_digest);
  EXPECT_NE(bad_digest.error().message.find("config.digest"), std::string::npos);
  auto schema1 = parse_manifest(R"({"schemaVersion":1,"name":"x"})");
  ASSERT_FALSE(schema1);
  EXPECT_EQ(schema1.error().code, Errc::unsupported);
}

TEST(OciTypes, ParsesIndexWithoutMediaType) {
  std::string doc = R"({"schemaVersion":2,"manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kD1 + R"(","size":5,
     "platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kD2 + R"(","size":6,
     "platform":{"os":"linux","architecture":"amd64"}}]})";
  EXPECT_TRUE(*is_index_document(doc, ""));
  auto idx = parse_index(doc);
  ASSERT_TRUE(idx);
  ASSERT_EQ(idx->manifests.size(), 2u);
  EXPECT_EQ(idx->manifests[0].platform->variant, "v8");
  EXPECT_TRUE(*is_index_document(R"({"schemaVersion":2})", media_type::kDockerManifestList));
}

TEST(OciTypes, ManifestRoundTripIsStable) {
  Manifest m;
  m.media_type = std::string(media_type::kOciManifest);
  m.config = {std::string(media_type::kOciConfig), kD1, 3, std::nullopt, {}, {}};
  m.layers.push_back({std::string(media_type::kOciLayer), kD2, 4, std::nullopt, {}, {}});
  std::string a = manifest_to_json(m);
  auto back = parse_manifest(a);
  ASSERT_TRUE(back);
  EXPECT_EQ(manifest_to_json(*back), a);
}

TEST(OciTypes, ChainIds) {
  auto chains = chain_ids({kD1, kD2});
  ASSERT_EQ(chains.size(), 2u);
  EXPECT_EQ(chains[0], kD1);
  EXPECT_EQ(chains[1], sha256_digest(kD1 + " " + kD2));
}

TEST(Platform, NormalisesAndMatches) {
  EXPECT_EQ(parse_platform("linux/arm64")->string(), "linux/arm64/v8");
  EXPECT_EQ(parse_platform("linux/aarch64")->string(), "linux/arm64/v8");
  EXPECT_EQ(parse_platform("linux/x86_64")->string(), "linux/amd64");
  EXPECT_EQ(parse_platform("arm")->string(), "linux/arm/v7");
  EXPECT_FALSE(parse_platform("linux//x"));
  EXPECT_FALSE(parse_platform("a/b/c/d"));
  Platform host = host_platform();
  EXPECT_EQ(host.os, "linux");
  EXPECT_TRUE(host.architecture == "amd64" || host.architecture == "arm64") << host.architecture;

  std::vector<Platform> list = {{"linux", "arm", "v6", ""}, {"linux", "arm64", "", ""}, {"linux", "amd64", "", ""}};
  EXPECT_EQ(select_platform(*parse_platform("linux/arm64/v8"), list), 1);
  EXPECT_EQ(select_platform(*parse_platform("linux/amd64"), list), 2);
  EXPECT_EQ(select_platform(*parse_platform("linux/arm/v7"), list), -1);
  EXPECT_EQ(select_platform(*parse_platform("linux/s390x"), list), -1);
}

}  // namespace
}  // namespace berth::agent::image
