#include <gtest/gtest.h>

#include <filesystem>

#include "fake_http_server.h"
#include "image/digest.h"
#include "image/registry_client.h"
#include "test_support.h"

namespace berth::agent::image {
namespace {

using testing::FakeHttpServer;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::TempDir;

const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
    std::string(64, 'c') + R"(","size":2},"layers":[]})";

Reference ref_on(const FakeHttpServer& s, const std::string& path = "test/img:latest") {
  return parse_reference(s.host() + "/" + path).value();
}

std::string blob_data(size_t n) {
  std::string d(n, '\0');
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<char>((i * 7919) % 251);
  return d;
}

TEST(WwwAuthenticate, Parses) {
  std::string scheme;
  std::map<std::string, std::string> p;
  ASSERT_TRUE(parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")", scheme, p));
  EXPECT_EQ(scheme, "bearer");
  EXPECT_EQ(p["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(p["service"], "registry.docker.io");
  EXPECT_EQ(p["scope"], "repository:library/busybox:pull");
  ASSERT_TRUE(parse_www_authenticate(R"(Basic realm="basic-realm")", scheme, p));
  EXPECT_EQ(scheme, "basic");
  EXPECT_EQ(p["realm"], "basic-realm");
}

TEST(RegistryAuthHeader, DecodesDockerForms) {
  // {"username":"u","password":"p:w","serveraddress":"r"} in base64url without padding.
  std::string json = R"({"username":"u","password":"p:w","serveraddress":"r"})";
  std::string b64 = base64_encode(json);
  std::replace(b64.begin(), b64.end(), '+', '-');
  std::replace(b64.begin(), b64.end(), '/', '_');
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  auto a = decode_registry_auth(b64).value();
  EXPECT_EQ(a.username, "u");
  EXPECT_EQ(a.password, "p:w");
  EXPECT_EQ(a.server_address, "r");
  auto from_auth = decode_registry_auth(base64_encode(R"({"auth":")" + base64_encode("me:secret") + R"("})")).value();
  EXPECT_EQ(from_auth.username, "me");
  EXPECT_EQ(from_auth.password, "secret");
  EXPECT_TRUE(decode_registry_auth("").value().anonymous());
  EXPECT_TRUE(decode_registry_auth(base64_encode("{}")).value().anonymous());
  EXPECT_FALSE(decode_registry_auth("!!!"));
  EXPECT_FALSE(decode_registry_auth(base64_encode("[1]")));
}

TEST(RegistryClient, AnonymousBearerTokenFlow) {
  std::unique_ptr<FakeHttpServer> server;
  server = std::make_unique<FakeHttpServer>([&](const FakeRequest& r) {
    if (r.path() == "/token") return FakeResponse::json(200, R"({"token":"tok123","expires_in":300})");
    if (r.header("authorization") != "Bearer tok123") {
      FakeResponse resp = FakeResponse::json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
      resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + server->url() +
                                                        "/token\",service=\"fake\",scope=\"repository:test/img:pull\"");
      return resp;
    }
    FakeResponse ok = FakeResponse::json(200, kManifest);
    ok.headers[0].second = "application/vnd.oci.image.manifest.v1+json";
    return ok;
  });
  RegistryClient client({});
  auto m = client.fetch_manifest(ref_on(*server), {}, "latest");
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->body, kManifest);
  EXPECT_EQ(m->digest, sha256_digest(kManifest));
  EXPECT_EQ(m->media_type, "application/vnd.oci.image.manifest.v1+json");
  auto token_reqs = server->count([](const FakeRequest& r) { return r.path() == "/token"; });
  EXPECT_EQ(token_reqs, 1u);
  for (const auto& r : server->requests())
    if (r.path() == "/token") {
      EXPECT_EQ(r.header("authorization"), "") << "anonymous token requests carry no credentials";
      EXPECT_NE(r.target.find("service=fake"), std::string::npos);
      EXPECT_NE(r.target.find("scope=repository%3Atest%2Fimg%3Apull"), std::string::npos) << r.target;
    }
  // The token is cached: a second fetch asks the token server nothing.
  ASSERT_TRUE(client.fetch_manifest(ref_on(*server), {}, "latest"));
  EXPECT_EQ(server->count([](const FakeRequest& r) { return r.path() == "/token"; }), 1u);
}

TEST(RegistryClient, BearerWithCredentialsAndRefusal) {
  std::unique_ptr<FakeHttpServer> server;
  std::string good = "Basic " + base64_encode("alice:s3cret");
  server = std::make_unique<FakeHttpServer>([&](const FakeRequest& r) {
    if (r.path() == "/token") {
      if (r.header("authorization") != good) return FakeResponse::json(401, R"({"details":"bad credentials"})");
      return FakeResponse::json(200, R"({"access_token":"granted"})");
    }
    if (r.header("authorization") != "Bearer granted") {
      FakeResponse resp = FakeResponse::json(401, "{}");
      resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + server->url() + "/token\",service=\"fake\"");
      return resp;
    }
    return FakeResponse::json(200, kManifest);
  });
  RegistryClient client({});
  RegistryAuth alice{"alice", "s3cret", "", "", ""};
  auto m = client.fetch_manifest(ref_on(*server), alice, "latest");
  ASSERT_TRUE(m) << m.error().what();

  RegistryClient other({});
  auto denied = other.fetch_manifest(ref_on(*server), RegistryAuth{"alice", "wrong", "", "", ""}, "latest");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, Errc::permission);
  auto anon = other.fetch_manifest(ref_on(*server), {}, "latest");
  ASSERT_FALSE(anon);
  EXPECT_EQ(anon.error().code, Errc::permission);
}

TEST(RegistryClient, BasicAuthRegistry) {
  std::string good = "Basic " + base64_encode("bob:pw");
  FakeHttpServer server([&](const FakeRequest& r) {
    if (r.header("authorization") != good) {
      FakeResponse resp = FakeResponse::json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
      resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"basic-realm\"");
      return resp;
    }
    return FakeResponse::json(200, kManifest);
  });
  RegistryClient client({});
  auto anon = client.fetch_manifest(ref_on(server), {}, "latest");
  ASSERT_FALSE(anon);
  EXPECT_EQ(anon.error().code, Errc::permission);
  EXPECT_NE(anon.error().message.find("requires authentication"), std::string::npos) << anon.error().message;
  auto m = client.fetch_manifest(ref_on(server), RegistryAuth{"bob", "pw", "", "", ""}, "latest");
  ASSERT_TRUE(m) << m.error().what();
  // The same user with a wrong password must not ride on the cached header.
  auto wrong = client.fetch_manifest(ref_on(server), RegistryAuth{"bob", "guess", "", "", ""}, "latest");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::permission);
  EXPECT_FALSE(client.fetch_manifest(ref_on(server), {}, "latest"));
}

TEST(RegistryClient, ManifestErrors) {
  FakeHttpServer server([&](const FakeRequest& r) {
    if (r.path().find("/manifests/sha256:") != std::string::npos) return FakeResponse::json(200, kManifest + " ");
    return FakeResponse::json(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  });
  RegistryClient client({});
  auto nf = client.fetch_manifest(ref_on(server), {}, "nope");
  ASSERT_FALSE(nf);
  EXPECT_EQ(nf.error().code, Errc::not_found);
  EXPECT_NE(nf.error().message.find("manifest for " + server.host() + "/test/img:nope not found: manifest unknown"),
            std::string::npos)
      << nf.error().message;
  // Fetched by digest, a body that hashes differently is refused.
  auto bad = client.fetch_manifest(ref_on(server), {}, sha256_digest(kManifest));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::protocol);
}

TEST(RegistryClient, UnreachableRegistryIsNamed) {
  int port;
  {
    FakeHttpServer gone([](const FakeRequest&) { return FakeResponse{}; });
    port = gone.port();
  }
  RegistryClient client({});
  auto ref = parse_reference("127.0.0.1:" + std::to_string(port) + "/x/y:z").value();
  auto r = client.fetch_manifest(ref, {}, "z");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("registry 127.0.0.1:" + std::to_string(port) + " is unreachable"), std::string::npos)
      << r.error().message;
}

TEST(RegistryClient, PlainHttpOnlyForInsecureRegistries) {
  FakeHttpServer server([&](const FakeRequest&) { return FakeResponse::json(200, kManifest); });
  RegistryConfig strict;
  strict.loopback_is_insecure = false;
  strict.connect_timeout_s = 5;
  RegistryClient tls_only(strict);
  auto r = tls_only.fetch_manifest(ref_on(server), {}, "latest");
  ASSERT_FALSE(r) << "a registry that is not insecure must not be spoken to over HTTP";
  strict.insecure_registries = {server.host()};
  RegistryClient listed(strict);
  EXPECT_TRUE(listed.fetch_manifest(ref_on(server), {}, "latest"));
}

TEST(RegistryClient, MirrorServesDockerHubImages) {
  FakeHttpServer mirror([&](const FakeRequest& r) {
    if (r.path() == "/v2/library/busybox/manifests/latest") return FakeResponse::json(200, kManifest);
    return FakeResponse::json(404, "{}");
  });
  RegistryConfig cfg;
  cfg.mirrors = {mirror.url() + "/"};
  RegistryClient client(cfg);
  auto m = client.fetch_manifest(parse_reference("busybox").value(), {}, "latest");
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->body, kManifest);
}

class BlobTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = ContentStore::open(dir_ / "content").value(); }
  size_t ingest_count() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ / "content/ingest")) (void)e, ++n;
    return n;
  }
  TempDir dir_;
  std::unique_ptr<ContentStore> store_;
};

TEST_F(BlobTest, RedirectIsFollowedWithoutLeakingCredentials) {
  std::string data = blob_data(50000);
  std::string digest = sha256_digest(data);
  FakeHttpServer storage([&](const FakeRequest& r) {
    FakeResponse resp;
    resp.body = r.path() == "/storage/blob" ? data : "";
    resp.status = r.path() == "/storage/blob" ? 200 : 404;
    return resp;
  });
  std::string good = "Basic " + base64_encode("u:p");
  FakeHttpServer registry([&](const FakeRequest& r) {
    if (r.header("authorization") != good) {
      FakeResponse resp = FakeResponse::json(401, "{}");
      resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"r\"");
      return resp;
    }
    FakeResponse resp;
    resp.status = 307;
    resp.headers.emplace_back("Location", storage.url() + "/storage/blob");
    return resp;
  });
  RegistryClient client({});
  Descriptor d{"application/octet-stream", digest, static_cast<int64_t>(data.size()), std::nullopt, {}, {}};
  auto w = store_->writer(digest, d.size).value();
  int64_t last = 0;
  auto st = client.fetch_blob(ref_on(registry), RegistryAuth{"u", "p", "", "", ""}, d, *w, [&](int64_t c, int64_t) { last = c; });
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_TRUE(store_->has(digest));
  EXPECT_EQ(last, static_cast<int64_t>(data.size()));
  auto reqs = storage.requests();
  ASSERT_FALSE(reqs.empty());
  for (const auto& r : reqs) EXPECT_EQ(r.header("authorization"), "") << "credentials followed the redirect";
}

TEST_F(BlobTest, DroppedDownloadResumesWithRange) {
  std::string data = blob_data(400000);
  std::string digest = sha256_digest(data);
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeRequest& r) {
    FakeResponse resp;
    if (++calls == 1) {
      resp.body = data;
      resp.cut_after = 150000;
      return resp;
    }
    std::string range = r.header("range");
    size_t from = std::stoul(range.substr(6));
    resp.status = 206;
    resp.headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(data.size() - 1) +
                                                   "/" + std::to_string(data.size()));
    resp.body = data.substr(from);
    return resp;
  });
  RegistryClient client({});
  Descriptor d{"", digest, static_cast<int64_t>(data.size()), std::nullopt, {}, {}};
  auto w = store_->writer(digest, d.size).value();
  auto st = client.fetch_blob(ref_on(server), {}, d, *w);
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(store_->read(digest, 1 << 20).value(), data);
  auto reqs = server.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].header("range"), "");
  EXPECT_NE(reqs.back().header("range"), "");
  EXPECT_EQ(reqs.back().header("range"), "bytes=" + std::to_string(150000) + "-");
}

TEST_F(BlobTest, PartialFromAnEarlierRunIsResumedAndServerIgnoringRangeIsHandled) {
  std::string data = blob_data(100000);
  std::string digest = sha256_digest(data);
  {
    auto w = store_->writer(digest, static_cast<int64_t>(data.size())).value();
    ASSERT_TRUE(w->write(data.data(), 30000));
  }
  FakeHttpServer ignores_range([&](const FakeRequest&) {
    FakeResponse resp;
    resp.body = data;
    return resp;
  });
  RegistryClient client({});
  Descriptor d{"", digest, static_cast<int64_t>(data.size()), std::nullopt, {}, {}};
  auto w = store_->writer(digest, d.size).value();
  EXPECT_EQ(w->offset(), 30000);
  ASSERT_TRUE(client.fetch_blob(ref_on(ignores_range), {}, d, *w));
  EXPECT_EQ(store_->read(digest, 1 << 20).value(), data);
  EXPECT_EQ(ignores_range.requests().at(0).header("range"), "bytes=30000-");
}

TEST_F(BlobTest, WrongContentIsRejectedAndNotKept) {
  std::string data = blob_data(20000);
  std::string digest = sha256_digest(data);
  std::string evil = data;
  evil[100] ^= 1;
  FakeHttpServer server([&](const FakeRequest&) {
    FakeResponse resp;
    resp.body = evil;
    return resp;
  });
  RegistryClient client({});
  Descriptor d{"", digest, static_cast<int64_t>(data.size()), std::nullopt, {}, {}};
  auto w = store_->writer(digest, d.size).value();
  auto st = client.fetch_blob(ref_on(server), {}, d, *w);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::protocol);
  EXPECT_NE(st.error().message.find("digest mismatch"), std::string::npos);
  w.reset();
  EXPECT_FALSE(store_->has(digest));
  EXPECT_EQ(ingest_count(), 0u);
}

TEST_F(BlobTest, OversizedBodyIsCutOff) {
  std::string data = blob_data(1000);
  std::string digest = sha256_digest(data);
  FakeHttpServer server([&](const FakeRequest&) {
    FakeResponse resp;
    resp.body = data + std::string(100000, 'x');
    return resp;
  });
  RegistryClient client({});
  Descriptor d{"", digest, static_cast<int64_t>(data.size()), std::nullopt, {}, {}};
  auto w = store_->writer(digest, d.size).value();
  auto st = client.fetch_blob(ref_on(server), {}, d, *w);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::protocol);
  EXPECT_FALSE(store_->has(digest));
}

TEST_F(BlobTest, MissingBlobIsNotFound) {
  FakeHttpServer server([&](const FakeRequest&) {
    return FakeResponse::json(404, R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})");
  });
  RegistryClient client({});
  std::string digest = sha256_digest("x");
  Descriptor d{"", digest, 1, std::nullopt, {}, {}};
  auto w = store_->writer(digest, 1).value();
  auto st = client.fetch_blob(ref_on(server), {}, d, *w);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::not_found);
  EXPECT_NE(st.error().message.find("blob unknown"), std::string::npos);
}

}  // namespace
}  // namespace berth::agent::image
