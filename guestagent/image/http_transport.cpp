#include "http_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "http_client.h"

namespace berth::agent::image::detail {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
// Debian's bundle (what images/build installs in the guest); SSL_CERT_FILE overrides it.
constexpr const char* kCaBundle = "/etc/ssl/certs/ca-certificates.crt";

tl::unexpected<TransportFailure> fail(int code, std::string message) {
  return tl::unexpected(TransportFailure{code, std::move(message)});
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// OpenSSL's errors of this thread, oldest first, then cleared.
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

// A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own writes with write(2), and a peer
// that closed would raise SIGPIPE in a process that has not ignored it.
int bio_fd(BIO* b) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b))); }

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(bio_fd(b), data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* out, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(bio_fd(b), out, static_cast<size_t>(len), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "berth socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

// One context per verification mode, made on first use (loading the CA bundle takes a few
// milliseconds: not at boot).
SSL_CTX* tls_context(bool verify) {
  static std::once_flag once[2];
  static SSL_CTX* ctx[2] = {nullptr, nullptr};
  std::call_once(once[verify ? 1 : 0], [&] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    if (!c) return;
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    // Many servers close without close_notify; bodies are framed, so a truncation is still seen.
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
    static const unsigned char kAlpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(c, kAlpn, sizeof kAlpn - 1);
    if (verify) {
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
      const char* file = std::getenv("SSL_CERT_FILE");
      if (!file || !*file) file = ::access(kCaBundle, R_OK) == 0 ? kCaBundle : nullptr;
      if (file) SSL_CTX_load_verify_locations(c, file, nullptr);
      else SSL_CTX_set_default_verify_paths(c);
      ERR_clear_error();
    } else {
      SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    }
    ctx[verify ? 1 : 0] = c;
  });
  return ctx[verify ? 1 : 0];
}

}  // namespace

std::string Endpoint::key() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port) + (verify_tls ? "" : "|noverify");
}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
}

TransportResult<std::unique_ptr<Connection>> Connection::open(const Endpoint& ep, std::chrono::seconds connect_timeout) {
  auto deadline = Clock::now() + connect_timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string port = std::to_string(ep.port);
  if (int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &list); rc != 0 || !list)
    return fail(kHttpCannotResolve, "could not resolve host " + ep.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(list, ::freeaddrinfo);

  auto conn = std::make_unique<Connection>();
  conn->key_ = ep.key();
  conn->host_ = ep.host;
  std::string last = "no address";
  bool timed_out = false;
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!fd) {
      last = std::strerror(errno);
      continue;
    }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = std::strerror(errno);
        continue;
      }
      pollfd p{fd.get(), POLLOUT, 0};
      int n;
      do n = ::poll(&p, 1, remaining_ms(deadline));
      while (n < 0 && errno == EINTR);
      if (n == 0) {
        timed_out = true;
        last = "timed out after " + std::to_string(connect_timeout.count()) + " s";
        break;
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (n < 0) err = errno;
      else if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        last = std::strerror(err);
        continue;
      }
    }
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn->fd_ = std::move(fd);
    break;
  }
  if (!conn->fd_)
    return fail(timed_out ? kHttpTimeout : kHttpCannotConnect,
                "failed to connect to " + ep.host + " port " + port + ": " + last);
  if (ep.tls) {
    auto hs = conn->handshake(ep, deadline);
    if (!hs) return tl::unexpected(hs.error());
  }
  return conn;
}

TransportResult<void> Connection::handshake(const Endpoint& ep, Clock::time_point deadline) {
  SSL_CTX* ctx = tls_context(ep.verify_tls);
  if (!ctx) return fail(kHttpTlsHandshake, "cannot create a TLS context: " + openssl_errors());
  ERR_clear_error();
  ssl_ = SSL_new(ctx);
  BIO* bio = ssl_ ? BIO_new(socket_bio_method()) : nullptr;
  if (!bio) return fail(kHttpTlsHandshake, "cannot create a TLS session: " + openssl_errors());
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd_.get())));
  SSL_set_bio(ssl_, bio, bio);
  bool ip = is_ip_literal(ep.host);
  if (!ip) SSL_set_tlsext_host_name(ssl_, ep.host.c_str());
  if (ep.verify_tls) {
    if (ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), ep.host.c_str());
    else SSL_set1_host(ssl_, ep.host.c_str());
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  for (;;) {
    int rc = SSL_connect(ssl_);
    if (rc == 1) return {};
    int err = SSL_get_error(ssl_, rc);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) {
      long verify = SSL_get_verify_result(ssl_);
      if (ep.verify_tls && verify != X509_V_OK)
        return fail(kHttpTlsVerify, "TLS certificate of " + ep.host + " did not verify: " +
                                        X509_verify_cert_error_string(verify));
      std::string why = err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
                            ? (errno ? std::string(std::strerror(errno)) : std::string("connection closed"))
                            : openssl_errors();
      return fail(kHttpTlsHandshake, "TLS handshake with " + ep.host + " failed: " + why);
    }
    auto ready = BERTH_TRY(wait(events, remaining_ms(deadline)));
    if (!ready) return fail(kHttpTimeout, "TLS handshake with " + ep.host + " timed out");
  }
}

TransportResult<bool> Connection::wait(short events, int timeout_ms) {
  pollfd p{fd_.get(), events, 0};
  for (;;) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return fail(kHttpReceiveFailed, std::string("poll: ") + std::strerror(errno));
  }
}

TransportResult<void> Connection::send_all(std::string_view data) {
  int stall_ms = static_cast<int>(std::chrono::milliseconds(stall_).count());
  while (!data.empty()) {
    short events = POLLOUT;
    if (ssl_) {
      ERR_clear_error();
      size_t written = 0;
      int rc = SSL_write_ex(ssl_, data.data(), data.size(), &written);
      if (rc == 1) {
        data.remove_prefix(written);
        continue;
      }
      int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ) events = POLLIN;
      else if (err != SSL_ERROR_WANT_WRITE)
        return fail(kHttpSendFailed, "sending to " + host_ + " failed: " +
                                         (err == SSL_ERROR_SYSCALL && errno ? std::strerror(errno) : openssl_errors()));
    } else {
      ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return fail(kHttpSendFailed, "sending to " + host_ + " failed: " + std::strerror(errno));
    }
    auto ready = BERTH_TRY(wait(events, stall_ms));
    if (!ready)
      return fail(kHttpTimeout, host_ + " accepted no data for " + std::to_string(stall_.count()) + " seconds");
  }
  return {};
}

TransportResult<bool> Connection::fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > kReadChunk) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  int stall_ms = static_cast<int>(std::chrono::milliseconds(stall_).count());
  for (;;) {
    short events = POLLIN;
    if (ssl_) {
      ERR_clear_error();
      size_t got = 0;
      int rc = SSL_read_ex(ssl_, buf_.data() + old, kReadChunk, &got);
      if (rc == 1) {
        buf_.resize(old + got);
        return true;
      }
      int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0)) {
        buf_.resize(old);
        return false;
      }
      if (err == SSL_ERROR_WANT_WRITE) {
        events = POLLOUT;
      } else if (err != SSL_ERROR_WANT_READ) {
        buf_.resize(old);
        return fail(kHttpReceiveFailed, "receiving from " + host_ + " failed: " +
                                            (err == SSL_ERROR_SYSCALL && errno ? std::strerror(errno) : openssl_errors()));
      }
    } else {
      ssize_t n = ::recv(fd_.get(), buf_.data() + old, kReadChunk, 0);
      if (n >= 0) {
        buf_.resize(old + static_cast<size_t>(n));
        return n > 0;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        int e = errno;
        buf_.resize(old);
        return fail(kHttpReceiveFailed, "receiving from " + host_ + " failed: " + std::strerror(e));
      }
    }
    auto ready = wait(events, stall_ms);
    if (!ready || !*ready) {
      buf_.resize(old);
      if (!ready) return tl::unexpected(ready.error());
      return fail(kHttpTimeout, "no data from " + host_ + " for " + std::to_string(stall_.count()) + " seconds");
    }
  }
}

void Connection::consume(size_t n) { pos_ = std::min(buf_.size(), pos_ + n); }

bool Connection::idle_usable() const {
  if (pos_ != buf_.size()) return false;
  if (ssl_ && SSL_pending(ssl_) > 0) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  // Readable while idle means the server closed (or sent something unasked for).
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace berth::agent::image::detail
