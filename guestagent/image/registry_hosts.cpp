#include "registry_hosts.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "reference.h"

namespace berth::agent::image {

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ::strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// An IP literal (no brackets) into family + 16 bytes.
bool parse_ip(const std::string& text, int& family, std::array<uint8_t, 16>& out) {
  out.fill(0);
  if (::inet_pton(AF_INET, text.c_str(), out.data()) == 1) {
    family = AF_INET;
    return true;
  }
  if (::inet_pton(AF_INET6, text.c_str(), out.data()) == 1) {
    family = AF_INET6;
    return true;
  }
  return false;
}

// "host:port" → "host"; "[v6]:port" and "[v6]" → "v6"; a bare v6 literal stays as it is.
std::string strip_port(const std::string& host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return host.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  auto colon = host.find(':');
  if (colon != std::string::npos && host.find(':', colon + 1) == std::string::npos) return host.substr(0, colon);
  return host;
}

auto invalid(const std::string& msg) { return make_error(Errc::invalid_argument, msg); }

}  // namespace

bool IpNet::contains(int addr_family, const uint8_t* address) const {
  const uint8_t* a = address;
  uint8_t mapped[16];
  // IPv4-mapped IPv6 addresses match IPv4 networks, as in Go.
  if (family == AF_INET && addr_family == AF_INET6) {
    static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(address, kPrefix, 12) != 0) return false;
    std::memcpy(mapped, address + 12, 4);
    a = mapped;
  } else if (family != addr_family) {
    return false;
  }
  int bits = prefix;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != addr[i]) return false;
  }
  return true;
}

std::string IpNet::string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, addr.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

Result<IpNet> parse_cidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return invalid("invalid CIDR address: " + std::string(text));
  IpNet n;
  if (!parse_ip(std::string(text.substr(0, slash)), n.family, n.addr))
    return invalid("invalid CIDR address: " + std::string(text));
  std::string_view bits = text.substr(slash + 1);
  int max = n.family == AF_INET ? 32 : 128;
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n.prefix);
  if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || n.prefix < 0 || n.prefix > max)
    return invalid("invalid CIDR address: " + std::string(text));
  int keep = n.prefix;
  for (auto& byte : n.addr) {
    byte = keep >= 8 ? byte : static_cast<uint8_t>(byte & (keep <= 0 ? 0 : 0xff << (8 - keep)));
    keep -= 8;
  }
  return n;
}

Result<std::string> validate_mirror(std::string_view url) {
  std::string u(url);
  auto scheme_end = u.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : u.substr(0, scheme_end);
  if (!(scheme.size() == 4 && starts_with_nocase(scheme, "http")) && !(scheme.size() == 5 && starts_with_nocase(scheme, "https")))
    return invalid("invalid mirror: unsupported scheme \"" + scheme + "\" in \"" + u + "\"");
  std::string rest = u.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string::npos)
    return invalid("invalid mirror: query or fragment at end of the URI \"" + u + "\"");
  std::string authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string::npos)
    return invalid("invalid mirror: username/password not allowed in URI \"" + u + "\"");
  if (authority.empty() || !is_valid_domain(authority)) return invalid("invalid mirror: \"" + u + "\" is not a valid URI");
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u + "/";
}

Result<InsecureRegistries> InsecureRegistries::parse(const std::vector<std::string>& entries, bool loopback_is_insecure) {
  InsecureRegistries out;
  for (std::string r : entries) {
    if (r.starts_with("-") || r.ends_with("-"))
      return invalid("invalid index name (" + r + "). Cannot begin or end with a hyphen");
    if (starts_with_nocase(r, "http://")) r = r.substr(7);
    else if (starts_with_nocase(r, "https://")) r = r.substr(8);
    else if (r.find("://") != std::string::npos) return invalid("insecure registry " + r + " should not contain '://'");
    if (r.find('/') != std::string::npos) {
      auto net = parse_cidr(r);
      if (!net) return invalid("insecure registry " + r + " is not valid: " + net.error().message);
      if (std::find(out.cidrs.begin(), out.cidrs.end(), *net) == out.cidrs.end()) out.cidrs.push_back(*net);
      continue;
    }
    int family = 0;
    std::array<uint8_t, 16> ip{};
    if (!is_valid_domain(r) && !parse_ip(r, family, ip))
      return invalid("insecure registry " + r + " is not valid: invalid host \"" + strip_port(r) + "\"");
    if (auto colon = r.rfind(':'); colon != std::string::npos && r.find(']') == std::string::npos && r.find(':') == colon &&
                                   (r.size() - colon > 6 || std::stoul(r.substr(colon + 1)) > 65535))
      return invalid("insecure registry " + r + " is not valid: invalid port \"" + r.substr(colon + 1) + "\"");
    if (r == "index.docker.io") r = "docker.io";
    if (std::find(out.hosts.begin(), out.hosts.end(), r) == out.hosts.end()) out.hosts.push_back(r);
  }
  // dockerd appends it after the configured entries.
  auto loopback = parse_cidr(kDefaultInsecureCidr).value();
  if (loopback_is_insecure && std::find(out.cidrs.begin(), out.cidrs.end(), loopback) == out.cidrs.end())
    out.cidrs.push_back(loopback);
  return out;
}

bool InsecureRegistryMatcher::is_insecure(const std::string& host) const {
  if (loopback_ && is_loopback_registry(host)) return true;
  // Listed hosts match exactly (dockerd's IndexConfigs); docker.io itself is always secure.
  if (host == "docker.io") return false;
  if (std::find(r_.hosts.begin(), r_.hosts.end(), host) != r_.hosts.end()) return true;
  if (r_.cidrs.empty()) return false;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(host); it != cache_.end()) return it->second;
  }
  std::string name = strip_port(host);
  std::vector<std::pair<int, std::array<uint8_t, 16>>> addrs;
  int family = 0;
  std::array<uint8_t, 16> ip{};
  if (parse_ip(name, family, ip)) {
    addrs.emplace_back(family, ip);
  } else {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) == 0) {
      for (addrinfo* a = res; a; a = a->ai_next) {
        std::array<uint8_t, 16> bytes{};
        if (a->ai_family == AF_INET) {
          std::memcpy(bytes.data(), &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, 4);
        } else if (a->ai_family == AF_INET6) {
          std::memcpy(bytes.data(), &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
        } else {
          continue;
        }
        addrs.emplace_back(a->ai_family, bytes);
      }
      ::freeaddrinfo(res);
    }
  }
  bool insecure = false;
  for (const auto& [fam, bytes] : addrs)
    for (const auto& net : r_.cidrs) insecure = insecure || net.contains(fam, bytes.data());
  std::lock_guard lock(mu_);
  cache_[host] = insecure;
  return insecure;
}

}  // namespace berth::agent::image
