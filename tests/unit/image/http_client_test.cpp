// berth's own HTTP/1.1 client (guestagent/image/http_client.h) against scripted servers on
// 127.0.0.1: each connection reads one request (or several, with keep-alive) and writes raw
// bytes, so framing, truncation, stalls, redirects and TLS can be exercised exactly.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "image/http_client.h"
#include "test_support.h"

namespace berth::agent::image {
namespace {

using testing::TempDir;

// The TLS test server writes with SSL_write, which raises SIGPIPE when a client hung up.
const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

struct Received {
  std::string head;  // request line and headers
  std::string body;
  std::string header(const std::string& lower_name) const {
    std::string lh = head;
    for (auto& ch : lh) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto at = lh.find("\r\n" + lower_name + ":");
    if (at == std::string::npos) return "";
    at += 3 + lower_name.size();
    auto end = head.find("\r\n", at);
    std::string v = head.substr(at, end - at);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    return v;
  }
  std::string request_line() const { return head.substr(0, head.find("\r\n")); }
};

// What a scripted connection does after reading a request.
struct Reply {
  std::string bytes;     // written as is
  bool close = true;     // close after writing (else read the next request on this connection)
  int stall_ms = 0;      // then keep the connection open, silent, this long (or until the server stops)
};

// Byte I/O of one accepted connection: plain socket or TLS.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual ssize_t read(char* buf, size_t n) = 0;
  virtual bool write(const std::string& data) = 0;

 protected:
  // False when the server is stopping (a client may keep an idle connection open forever).
  static bool wait_readable(int fd, int stop_fd) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    while (::poll(p, 2, -1) < 0) {
    }
    return !(p[1].revents & POLLIN);
  }
};

class PlainStream : public Stream {
 public:
  PlainStream(int fd, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {}
  ssize_t read(char* buf, size_t n) override { return wait_readable(fd_, stop_fd_) ? ::recv(fd_, buf, n, 0) : 0; }
  bool write(const std::string& data) override {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t w = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (w <= 0) return false;
      off += static_cast<size_t>(w);
    }
    return true;
  }

 private:
  int fd_;
  int stop_fd_;
};

class TlsStream : public Stream {
 public:
  TlsStream(SSL_CTX* ctx, int fd, int stop_fd) : ssl_(SSL_new(ctx)), fd_(fd), stop_fd_(stop_fd) {
    SSL_set_fd(ssl_, fd);
    ok_ = SSL_accept(ssl_) == 1;
  }
  ~TlsStream() override { SSL_free(ssl_); }
  bool ok() const { return ok_; }
  ssize_t read(char* buf, size_t n) override {
    if (SSL_pending(ssl_) == 0 && !wait_readable(fd_, stop_fd_)) return 0;
    int r = SSL_read(ssl_, buf, static_cast<int>(n));
    return r > 0 ? r : 0;
  }
  bool write(const std::string& data) override {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) == static_cast<int>(data.size());
  }

 private:
  SSL* ssl_;
  int fd_;
  int stop_fd_;
  bool ok_ = false;
};

class ScriptServer {
 public:
  using Handler = std::function<Reply(const Received&)>;

  explicit ScriptServer(Handler handler, SSL_CTX* tls = nullptr) : handler_(std::move(handler)), tls_(tls) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) std::abort();
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptServer() {
    stop_ = true;
    char x = 1;
    (void)!::write(stop_pipe_[1], &x, 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }

  std::string url(const std::string& path = "/", const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  std::vector<Received> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int connections() const { return connections_; }

 private:
  // One connection at a time is enough for a client that sends one request at a time.
  void serve() {
    while (!stop_) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) <= 0 || (p[1].revents & POLLIN)) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      if (tls_) {
        TlsStream s(tls_, c, stop_pipe_[0]);
        if (s.ok()) handle(s);
      } else {
        PlainStream s(c, stop_pipe_[0]);
        handle(s);
      }
      ::close(c);
    }
  }

  void handle(Stream& s) {
    std::string in;
    char buf[4096];
    for (;;) {
      size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = s.read(buf, sizeof buf);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      Received r;
      r.head = in.substr(0, end + 2);
      in.erase(0, end + 4);
      std::string cl = r.header("content-length");
      size_t want = cl.empty() ? 0 : std::stoul(cl);
      while (in.size() < want) {
        ssize_t n = s.read(buf, sizeof buf);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      r.body = in.substr(0, want);
      in.erase(0, want);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(r);
      }
      Reply reply = handler_(r);
      if (!s.write(reply.bytes)) return;
      if (reply.stall_ms > 0) {
        pollfd p{stop_pipe_[0], POLLIN, 0};
        ::poll(&p, 1, reply.stall_ms);
      }
      if (reply.close) return;
    }
  }

  Handler handler_;
  SSL_CTX* tls_;
  int fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Received> requests_;
};

Reply respond(int status, const std::string& body, const std::string& extra_headers = "", bool close = true) {
  return Reply{"HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                   extra_headers + (close ? "Connection: close\r\n" : "") + "\r\n" + body,
               close, 0};
}

HttpRequest get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.connect_timeout_s = 5;
  r.stall_timeout_s = 10;
  return r;
}

TEST(HttpClient, ContentLengthBodyAndHeaders) {
  ScriptServer server([](const Received&) {
    return respond(200, "hello", "Content-Type: text/plain\r\nX-Multi: a\r\nX-Multi: b\r\n");
  });
  auto req = get(server.url("/v2/x?y=1"));
  req.user_agent = "berth-test";
  req.headers = {"Accept: application/json", "X-Custom: 1"};
  auto r = http_do(req);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, 0) << r->transport_message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  ASSERT_NE(r->header("content-type"), nullptr);
  EXPECT_EQ(*r->header("content-type"), "text/plain");
  EXPECT_EQ(r->headers.at("x-multi"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->effective_url, server.url("/v2/x?y=1"));
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].request_line(), "GET /v2/x?y=1 HTTP/1.1");
  EXPECT_EQ(reqs[0].header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(reqs[0].header("user-agent"), "berth-test");
  EXPECT_EQ(reqs[0].header("accept"), "application/json");
  EXPECT_EQ(reqs[0].header("x-custom"), "1");
}

TEST(HttpClient, ChunkedBodyIsDecoded) {
  ScriptServer server([](const Received&) {
    return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 "5;name=value\r\nhello\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
                 true, 0};
  });
  auto r = http_do(get(server.url()));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, 0) << r->transport_message;
  EXPECT_EQ(r->body, "hello world0123456789");

  // Streamed: on_start once before the data, progress with an unknown total.
  auto req = get(server.url());
  std::string streamed;
  int starts = 0;
  int64_t last_now = 0, last_total = 0;
  req.on_start = [&](const HttpResponse& head) -> Status {
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(streamed.empty());
    ++starts;
    return ok();
  };
  req.on_body = [&](const char* d, size_t n) -> Status {
    streamed.append(d, n);
    return ok();
  };
  req.on_progress = [&](int64_t now, int64_t total) {
    last_now = now;
    last_total = total;
  };
  auto s = http_do(req);
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->transport_error, 0) << s->transport_message;
  EXPECT_EQ(streamed, "hello world0123456789");
  EXPECT_TRUE(s->body.empty());
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(last_now, 21);
  EXPECT_EQ(last_total, -1);
}

TEST(HttpClient, ChunkedBodyOfSeveralChunks) {
  std::string body(3000, 'z');
  ScriptServer server([&](const Received&) {
    std::string out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t i = 0; i < body.size(); i += 1000) out += "3e8\r\n" + body.substr(i, 1000) + "\r\n";
    out += "0\r\n\r\n";
    return Reply{out, true, 0};
  });
  auto r = http_do(get(server.url()));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, 0) << r->transport_message;
  EXPECT_EQ(r->body, body);
}

TEST(HttpClient, TruncatedBodiesAreErrors) {
  ScriptServer by_length([](const Received&) {
    return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", true, 0};
  });
  auto r = http_do(get(by_length.url()));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, kHttpTruncated) << r->transport_message;
  EXPECT_EQ(r->status, 200);

  ScriptServer chunked([](const Received&) {
    return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly some", true, 0};
  });
  r = http_do(get(chunked.url()));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, kHttpTruncated) << r->transport_message;

  ScriptServer no_last_chunk([](const Received&) {
    return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n", true, 0};
  });
  r = http_do(get(no_last_chunk.url()));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_NE(r->transport_error, 0);

  ScriptServer bad_chunk([](const Received&) {
    return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n", true, 0};
  });
  r = http_do(get(bad_chunk.url()));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, kHttpReceiveFailed) << r->transport_message;
}

TEST(HttpClient, BodyUntilCloseWithoutLength) {
  ScriptServer server([](const Received&) { return Reply{"HTTP/1.1 200 OK\r\n\r\nall of it", true, 0}; });
  auto r = http_do(get(server.url()));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, 0) << r->transport_message;
  EXPECT_EQ(r->body, "all of it");
}

TEST(HttpClient, MalformedResponsesAndUrls) {
  ScriptServer server([](const Received&) { return Reply{"SSH-2.0-OpenSSH\r\n\r\n", true, 0}; });
  auto r = http_do(get(server.url()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->transport_error, kHttpBadResponse) << r->transport_message;

  ScriptServer silent([](const Received&) { return Reply{"", true, 0}; });
  r = http_do(get(silent.url()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->transport_error, kHttpReceiveFailed) << r->transport_message;

  for (std::string url : {"ftp://host/x", "no-scheme", "http://", "http://host:99999/", "http://u@host/"}) {
    r = http_do(get(url));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->transport_error == kHttpBadUrl || r->transport_error == kHttpUnsupportedScheme)
        << url << ": " << r->transport_error;
  }
}

TEST(HttpClient, StallTimesOut) {
  // Headers and part of the body, then silence with the connection open.
  ScriptServer server([](const Received&) {
    return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nsome bytes", true, 20000};
  });
  auto req = get(server.url());
  req.stall_timeout_s = 1;
  auto r = http_do(req);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, kHttpTimeout) << r->transport_message;

  // No answer at all after the request.
  ScriptServer mute([](const Received&) { return Reply{"", true, 20000}; });
  req = get(mute.url());
  req.stall_timeout_s = 1;
  r = http_do(req);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, kHttpTimeout) << r->transport_message;
}

TEST(HttpClient, ConnectionRefusedIsATransportError) {
  int port;
  {
    ScriptServer gone([](const Received&) { return Reply{}; });
    port = gone.port();
  }
  auto r = http_do(get("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->transport_error, kHttpCannotConnect) << r->transport_message;
}

TEST(HttpClient, RedirectToAnotherHostDropsAuthorization) {
  ScriptServer other([](const Received& r) { return respond(200, "from other " + r.request_line()); });
  ScriptServer origin([&](const Received& r) {
    if (r.request_line().starts_with("GET /start ")) return respond(302, "", "Location: /same\r\n");
    if (r.request_line().starts_with("GET /same ")) return respond(307, "", "Location: " + other.url("/there?q=1") + "\r\n");
    return respond(404, "");
  });
  auto req = get(origin.url("/start"));
  req.headers = {"Authorization: Bearer secret", "X-Keep: yes"};
  auto r = http_do(req);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, 0) << r->transport_message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "from other GET /there?q=1 HTTP/1.1");
  EXPECT_EQ(r->effective_url, other.url("/there?q=1"));
  auto at_origin = origin.requests();
  ASSERT_EQ(at_origin.size(), 2u);
  EXPECT_EQ(at_origin[0].header("authorization"), "Bearer secret");
  EXPECT_EQ(at_origin[1].header("authorization"), "Bearer secret") << "a same-origin redirect keeps credentials";
  auto at_other = other.requests();
  ASSERT_EQ(at_other.size(), 1u);
  EXPECT_EQ(at_other[0].header("authorization"), "") << "credentials followed a redirect to another host";
  EXPECT_EQ(at_other[0].header("x-keep"), "yes");
  EXPECT_EQ(at_other[0].header("host"), "127.0.0.1:" + std::to_string(other.port()));
}

TEST(HttpClient, RedirectRulesForMethodsAndLoops) {
  ScriptServer server([](const Received& r) {
    if (r.request_line().starts_with("POST /form ")) return respond(303, "see other", "Location: /result\r\n");
    if (r.request_line().starts_with("GET /result ")) return respond(200, "result");
    if (r.request_line().starts_with("POST /keep ")) return respond(307, "", "Location: /echo\r\n");
    if (r.request_line().starts_with("POST /echo ")) return respond(200, "posted " + r.body);
    return respond(302, "", "Location: /loop\r\n");
  });
  auto post = get(server.url("/form"));
  post.method = "POST";
  post.body = "a=1";
  auto r = http_do(post);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->body, "result");

  post.url = server.url("/keep");
  r = http_do(post);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->body, "posted a=1") << "307 keeps the method and body";

  r = http_do(get(server.url("/loop")));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, kHttpTooManyRedirects) << r->transport_message;
}

TEST(HttpClient, KeepAliveReusesTheConnectionAndRecoversFromAClosedOne) {
  ScriptServer server([](const Received&) { return respond(200, "k", "", /*close=*/false); });
  for (int i = 0; i < 3; ++i) {
    auto r = http_do(get(server.url()));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->body, "k");
  }
  EXPECT_EQ(server.connections(), 1);

  // The server closes after each answer without saying so: the next request notices and
  // goes out on a new connection.
  ScriptServer closer([](const Received&) {
    return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc", true, 0};
  });
  for (int i = 0; i < 3; ++i) {
    auto r = http_do(get(closer.url()));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->transport_error, 0) << r->transport_message;
    EXPECT_EQ(r->body, "c");
  }
  EXPECT_EQ(closer.connections(), 3);
  EXPECT_EQ(closer.requests().size(), 3u);
}

TEST(HttpClient, RangeHeadAndCollectedBodies) {
  ScriptServer server([](const Received& r) {
    if (r.request_line().starts_with("HEAD ")) return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n", false, 0};
    if (r.request_line().starts_with("GET /missing ")) return respond(404, "{\"errors\":[]}", "", false);
    if (r.request_line().starts_with("GET /big ")) return respond(500, std::string(5000, 'e'));
    return respond(206, "rest", "Content-Range: bytes 10-13/14\r\n", false);
  });
  auto head = get(server.url("/blob"));
  head.method = "HEAD";
  auto r = http_do(head);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());

  auto ranged = get(server.url("/blob"));
  ranged.range_start = 10;
  std::string got;
  ranged.on_body = [&](const char* d, size_t n) -> Status {
    got.append(d, n);
    return ok();
  };
  r = http_do(ranged);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(got, "rest");
  EXPECT_EQ(server.requests().back().header("range"), "bytes=10-");

  // Error bodies are collected even when a sink is set, within max_collected_body.
  auto missing = get(server.url("/missing"));
  missing.on_body = ranged.on_body;
  got.clear();
  r = http_do(missing);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{\"errors\":[]}");
  EXPECT_TRUE(got.empty());

  auto big = get(server.url("/big"));
  big.max_collected_body = 1000;
  r = http_do(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::protocol);
}

TEST(HttpClient, SinkErrorsStopTheTransfer) {
  ScriptServer server([](const Received&) { return respond(200, std::string(100000, 'x')); });
  auto req = get(server.url());
  req.on_body = [](const char*, size_t) -> Status { return make_error(Errc::io, "disk full"); };
  auto r = http_do(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "disk full");

  // An empty 2xx body still starts the sink.
  ScriptServer empty([](const Received&) { return respond(200, ""); });
  auto e = get(empty.url());
  bool started = false;
  e.on_start = [&](const HttpResponse&) -> Status {
    started = true;
    return ok();
  };
  e.on_body = [](const char*, size_t) -> Status { return ok(); };
  auto er = http_do(e);
  ASSERT_TRUE(er) << er.error().what();
  EXPECT_TRUE(started);
}

// TLS with a self-signed certificate made by the openssl CLI.
class HttpClientTls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
                      "-addext subjectAltName=DNS:localhost -keyout " + dir_ / "key.pem" + " -out " + dir_ / "cert.pem" +
                      " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "the openssl CLI could not make a certificate";
    ctx_ = SSL_CTX_new(TLS_server_method());
    ASSERT_EQ(SSL_CTX_use_certificate_file(ctx_, (dir_ / "cert.pem").c_str(), SSL_FILETYPE_PEM), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, (dir_ / "key.pem").c_str(), SSL_FILETYPE_PEM), 1);
    server_ = std::make_unique<ScriptServer>(
        [](const Received& r) { return respond(200, "secure " + r.header("host"), "", /*close=*/false); }, ctx_);
  }
  void TearDown() override {
    server_.reset();
    if (ctx_) SSL_CTX_free(ctx_);
  }

  TempDir dir_;
  SSL_CTX* ctx_ = nullptr;
  std::unique_ptr<ScriptServer> server_;
};

TEST_F(HttpClientTls, UntrustedCertificateFailsVerification) {
  auto r = http_do(get(server_->url("/", "https")));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->transport_error, kHttpTlsVerify) << r->transport_message;
  EXPECT_EQ(r->status, 0);
}

TEST_F(HttpClientTls, VerificationOffSucceeds) {
  auto req = get(server_->url("/", "https"));
  req.verify_tls = false;
  for (int i = 0; i < 2; ++i) {
    auto r = http_do(req);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->transport_error, 0) << r->transport_message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "secure 127.0.0.1:" + std::to_string(server_->port()));
  }
  EXPECT_EQ(server_->connections(), 1) << "the TLS connection is kept for the next request";
}

// The CA bundle is read once per process, so trusting the test certificate through
// SSL_CERT_FILE happens in a child (a death test that exits normally).
TEST_F(HttpClientTls, TrustedCertificateVerifiesAndTheNameIsChecked) {
  std::string cert = dir_ / "cert.pem";
  std::string by_name = server_->url("/", "https");
  by_name.replace(by_name.find("127.0.0.1"), 9, "localhost");
  std::string by_ip = server_->url("/", "https");
  // "threadsafe" re-executes this test in a fresh process, whose CA context is not made yet.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("SSL_CERT_FILE", cert.c_str(), 1);
        auto named = http_do(get(by_name));
        if (!named || named->transport_error != 0 || named->status != 200) std::_Exit(1);
        // The certificate names localhost only: 127.0.0.1 does not match it.
        auto ip = http_do(get(by_ip));
        if (!ip || ip->transport_error != kHttpTlsVerify) std::_Exit(2);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace berth::agent::image
