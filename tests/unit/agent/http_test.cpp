// The HTTP framework: versioned paths, routing, queries, statuses, and a live server on a
// Unix socket (keep-alive, chunked bodies both ways, HEAD, hijack with and without Upgrade).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

#include "http/api_version.h"
#include "http/io.h"
#include "http/listener.h"
#include "http/query.h"
#include "http/router.h"
#include "http/server.h"
#include "http/status.h"
#include <sys/stat.h>

namespace berth::agent::http {
namespace {

TEST(ApiVersion, ParsesAndCompares) {
  EXPECT_EQ(parse_api_version("1.41"), (ApiVersion{1, 41}));
  EXPECT_FALSE(parse_api_version("1"));
  EXPECT_FALSE(parse_api_version("1.x"));
  EXPECT_FALSE(parse_api_version(""));
  EXPECT_LT((ApiVersion{1, 9}), (ApiVersion{1, 41}));
}

TEST(ApiVersion, SplitsVersionedPaths) {
  auto v = split_versioned_path("/v1.41/containers/json");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->version, (ApiVersion{1, 41}));
  EXPECT_EQ(v->path, "/containers/json");
  auto u = split_versioned_path("/containers/json");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->version);
  EXPECT_EQ(u->path, "/containers/json");
  auto old = split_versioned_path("/v1.12/info");
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, Errc::invalid_argument);
  EXPECT_NE(old.error().message.find("client version 1.12 is too old. Minimum supported API version is 1.24"), std::string::npos);
  auto neu = split_versioned_path("/v1.48/info");
  ASSERT_FALSE(neu);
  EXPECT_NE(neu.error().message.find("is too new. Maximum supported API version is 1.47"), std::string::npos);
  auto notver = split_versioned_path("/volumes/x");
  ASSERT_TRUE(notver);
  EXPECT_EQ(notver->path, "/volumes/x");
}

TEST(Query, DecodesAndReadsBooleansLikeDocker) {
  auto q = Query::parse("all=1&name=a%2Fb+c&f=false&z=0&n=none&e=&t=true&num=42&bad=4x");
  EXPECT_EQ(q.get("name"), "a/b c");
  EXPECT_TRUE(q.get_bool("all"));
  EXPECT_TRUE(q.get_bool("t"));
  EXPECT_FALSE(q.get_bool("f"));
  EXPECT_FALSE(q.get_bool("z"));
  EXPECT_FALSE(q.get_bool("n"));
  EXPECT_FALSE(q.get_bool("e"));
  EXPECT_FALSE(q.get_bool("missing"));
  EXPECT_TRUE(q.get_bool_or("missing", true));
  EXPECT_EQ(q.get_int("num").value(), 42);
  EXPECT_FALSE(q.get_int("bad"));
  EXPECT_FALSE(q.get_int("missing").value());
  EXPECT_EQ(url_decode("%41%zz", false), "A%zz");
}

TEST(Status, MapsErrorCodesLikeDockerd) {
  EXPECT_EQ(status_for(Errc::invalid_argument), 400);
  EXPECT_EQ(status_for(Errc::not_found), 404);
  EXPECT_EQ(status_for(Errc::already_exists), 409);
  EXPECT_EQ(status_for(Errc::conflict), 409);
  EXPECT_EQ(status_for(Errc::permission), 403);
  EXPECT_EQ(status_for(Errc::unsupported), 501);
  EXPECT_EQ(status_for(Errc::io), 500);
  EXPECT_EQ(status_for(Errc::internal), 500);
  EXPECT_EQ(error_body("no \"such\""), "{\"message\":\"no \\\"such\\\"\"}\n");
}

TEST(Router, MatchesParamsAndRestSegments) {
  Router r;
  int hit = 0;
  r.add("GET", "/containers/{id}/json", [&](Request&, Response&) { hit = 1; return ok(); });
  r.add("GET", "/images/{name*}/json", [&](Request&, Response&) { hit = 2; return ok(); });
  r.add("GET", "/containers/json", [&](Request&, Response&) { hit = 3; return ok(); });
  auto m = r.match("GET", "/containers/abc/json");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(m.params["id"], "abc");
  auto img = r.match("GET", "/images/registry:5000/org/app:1/json");
  ASSERT_TRUE(img.handler);
  EXPECT_EQ(img.params["name"], "registry:5000/org/app:1");
  auto enc = r.match("GET", "/images/a%2Fb/json");
  ASSERT_TRUE(enc.handler);
  EXPECT_EQ(enc.params["name"], "a/b");
  EXPECT_TRUE(r.match("GET", "/containers/json").handler);
  EXPECT_FALSE(r.match("GET", "/containers/abc/nope").handler);
  auto wrong = r.match("POST", "/containers/abc/json");
  EXPECT_FALSE(wrong.handler);
  EXPECT_TRUE(wrong.path_known);
  // HEAD falls back to GET.
  EXPECT_TRUE(r.match("HEAD", "/containers/abc/json").handler);
}

TEST(Router, LaterRegistrationReplacesEarlier) {
  Router r;
  int hit = 0;
  r.add("GET", "/images/json", [&](Request&, Response&) { hit = 1; return ok(); });
  r.add("GET", "/images/json", [&](Request&, Response&) { hit = 2; return ok(); });
  EXPECT_EQ(r.size(), 1u);
  Request req;
  Response res(nullptr, req);
  (*r.match("GET", "/images/json").handler)(req, res);
  EXPECT_EQ(hit, 2);
}

// A live server on a temporary Unix socket.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/berth-http-test-" + std::to_string(::getpid());
    ::mkdir(dir_.c_str(), 0700);
    sock_ = dir_ + "/s.sock";
    router_.add("GET", "/echo/{x}", [](Request& req, Response& res) {
      return res.json(200, {{"x", req.param("x")}, {"q", req.query.get("q")}, {"v", req.version ? req.version->str() : ""}});
    });
    router_.add("POST", "/body", [](Request& req, Response& res) -> Status {
      auto body = BERTH_TRY(req.read_body());
      return res.send(200, "text/plain", std::to_string(body.size()) + ":" + body.substr(0, 5));
    });
    router_.add("POST", "/json", [](Request& req, Response& res) -> Status {
      auto j = BERTH_TRY(req.read_json());
      return res.json(200, j);
    });
    router_.add("GET", "/stream", [](Request&, Response& res) -> Status {
      BERTH_TRY(res.begin_stream(200, "application/json"));
      BERTH_TRY(res.write("one\n"));
      BERTH_TRY(res.write("two\n"));
      return res.end_stream();
    });
    router_.add("GET", "/fail", [](Request&, Response&) -> Status { return make_error(Errc::conflict, "busy"); });
    router_.add("POST", "/hijack", [](Request&, Response& res) -> Status {
      auto h = BERTH_TRY(res.hijack("application/vnd.docker.raw-stream"));
      // Echo what the client sends, starting with what came with the request.
      std::string got = h.read_ahead;
      char buf[64];
      while (got.find('\n') == std::string::npos) {
        auto n = read_some(h.fd, buf, sizeof buf, 5000);
        if (!n || *n == 0) break;
        got.append(buf, *n);
      }
      return write_all(h.fd, "echo:" + got);
    });
    auto l = listen_unix(sock_, 0600);
    ASSERT_TRUE(l) << l.error().what();
    server_ = std::make_unique<Server>(router_, pool_);
    ASSERT_TRUE(server_->listen(std::move(*l)));
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    ::unlink(sock_.c_str());
    ::rmdir(dir_.c_str());
  }
  int connect_client() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, sock_.c_str());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  // Reads until `done(text)` or EOF.
  template <class Pred>
  std::string read_until(int fd, Pred done) {
    std::string out;
    char buf[4096];
    while (!done(out)) {
      auto n = read_some(fd, buf, sizeof buf, 5000);
      if (!n || *n == 0) break;
      out.append(buf, *n);
    }
    return out;
  }
  std::string exchange(const std::string& request) {
    int fd = connect_client();
    EXPECT_TRUE(write_all(fd, request));
    auto out = read_until(fd, [](const std::string&) { return false; });
    ::close(fd);
    return out;
  }

  std::string dir_, sock_;
  Router router_;
  WorkerPool pool_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(ServerTest, SocketIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(sock_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  int fd = connect_client();
  std::string two = "GET /v1.41/echo/a%20b?q=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /echo/z HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(write_all(fd, two));
  auto out = read_until(fd, [](const std::string& s) { return s.find("\"x\":\"z\"") != std::string::npos; });
  ::close(fd);
  EXPECT_NE(out.find("{\"q\":\"1\",\"v\":\"1.41\",\"x\":\"a b\"}"), std::string::npos) << out;
  EXPECT_NE(out.find("\"x\":\"z\""), std::string::npos) << out;
  EXPECT_NE(out.find("Api-Version: 1.47"), std::string::npos);
  EXPECT_NE(out.find("Ostype: linux"), std::string::npos);
}

TEST_F(ServerTest, ChunkedRequestBodiesAreDecoded) {
  auto out = exchange(
      "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_NE(out.find("\r\n\r\n11:hello"), std::string::npos) << out;
}

TEST_F(ServerTest, MalformedJsonIs400) {
  auto out = exchange("POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{\"a\":");
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << out;
  EXPECT_NE(out.find("invalid JSON"), std::string::npos);
}

TEST_F(ServerTest, ErrorsAndUnknownRoutesUseDockerBodies) {
  auto out = exchange("GET /fail HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 409 Conflict", 0), 0u) << out;
  EXPECT_NE(out.find("{\"message\":\"busy\"}"), std::string::npos);
  auto nf = exchange("GET /v1.40/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(nf.rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_NE(nf.find("page not found"), std::string::npos);
  auto old = exchange("GET /v1.2/echo/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(old.rfind("HTTP/1.1 400", 0), 0u);
  auto garbage = exchange("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
}

TEST_F(ServerTest, ChunkedResponsesAndHead) {
  auto out = exchange("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(out.find("4\r\none\n\r\n4\r\ntwo\n\r\n0\r\n\r\n"), std::string::npos) << out;
  auto head = exchange("HEAD /echo/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");  // no body
  EXPECT_NE(head.find("Content-Length: "), std::string::npos);
}

TEST_F(ServerTest, HijackWithUpgradeAnswers101) {
  int fd = connect_client();
  ASSERT_TRUE(write_all(fd, "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nfirst-"));
  auto head = read_until(fd, [](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(head.rfind("HTTP/1.1 101 UPGRADED\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Upgrade: tcp"), std::string::npos);
  ASSERT_TRUE(write_all(fd, "second\n"));
  auto rest = read_until(fd, [](const std::string&) { return false; });
  ::close(fd);
  EXPECT_NE((head + rest).find("echo:first-second\n"), std::string::npos) << head << rest;
}

TEST_F(ServerTest, HijackWithoutUpgradeAnswers200RawStream) {
  auto out = exchange("POST /hijack HTTP/1.1\r\nHost: x\r\n\r\nline\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("\r\n\r\necho:line\n"), std::string::npos) << out;
}

TEST_F(ServerTest, TwoHundredConcurrentClients) {
  constexpr int kClients = 200;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) fds.push_back(connect_client());
  for (int fd : fds) ASSERT_TRUE(write_all(fd, "GET /echo/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  int okc = 0;
  for (int fd : fds) {
    auto out = read_until(fd, [](const std::string&) { return false; });
    if (out.rfind("HTTP/1.1 200", 0) == 0) ++okc;
    ::close(fd);
  }
  EXPECT_EQ(okc, kClients);
  // Quick requests do not need a thread each.
  EXPECT_LT(pool_.peak_threads(), 64u);
}

}  // namespace
}  // namespace berth::agent::http
