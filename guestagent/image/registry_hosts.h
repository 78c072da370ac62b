// Which registries are "insecure" (HTTPS without certificate checks, then plain HTTP) and
// which mirror URLs are acceptable, with dockerd's rules (registry/config.go):
// `insecure-registries` entries are "host[:port]" (one registry, matched exactly) or CIDRs
// ("10.0.0.0/8": every registry whose address falls inside); 127.0.0.0/8 is always
// insecure, and so is any loopback host ("localhost", "[::1]:5000").
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::image {

inline constexpr std::string_view kDefaultInsecureCidr = "127.0.0.0/8";

struct IpNet {
  int family = 0;                     // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};     // network address (host bits cleared)
  int prefix = 0;

  bool contains(int addr_family, const uint8_t* address) const;
  // "10.0.0.0/8", as Go's IPNet.String prints it.
  std::string string() const;
  bool operator==(const IpNet&) const = default;
};

// "10.1.2.3/8" (host bits are dropped, as net.ParseCIDR does) or "fd00::/8".
Result<IpNet> parse_cidr(std::string_view text);

// dockerd's ValidateMirror: an http(s) URL without credentials, query or fragment. Returns it
// with exactly one trailing "/" ("https://mirror.example/").
Result<std::string> validate_mirror(std::string_view url);

struct InsecureRegistries {
  std::vector<IpNet> cidrs;        // configured ones, then 127.0.0.0/8 (when loopback counts)
  std::vector<std::string> hosts;  // "host[:port]", scheme stripped

  // Validates the entries as dockerd does ("http://" and "https://" prefixes are dropped,
  // other schemes and malformed hosts are Errc::invalid_argument naming the entry).
  static Result<InsecureRegistries> parse(const std::vector<std::string>& entries, bool loopback_is_insecure = true);
};

// Answers "may this registry host be reached insecurely?", resolving names once (a name is
// matched against the CIDRs by its addresses, as dockerd does).
class InsecureRegistryMatcher {
 public:
  InsecureRegistryMatcher() = default;
  InsecureRegistryMatcher(InsecureRegistries registries, bool loopback_is_insecure)
      : r_(std::move(registries)), loopback_(loopback_is_insecure) {}

  // `host` as in an image reference: "name", "name:port", "1.2.3.4:5000", "[::1]:5000".
  bool is_insecure(const std::string& host) const;
  const InsecureRegistries& registries() const { return r_; }

 private:
  InsecureRegistries r_;
  bool loopback_ = true;
  mutable std::mutex mu_;
  mutable std::map<std::string, bool> cache_;
};

}  // namespace berth::agent::image
