#include "reference.h"

#include <algorithm>
#include <cctype>

#include "digest.h"

namespace berth::agent::image {

namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

auto bad(std::string detail = {}) {
  return make_error(Errc::invalid_argument,
                    detail.empty() ? "invalid reference format" : "invalid reference format: " + detail);
}

// path-component := [a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )*
bool valid_path_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < c.size() && !is_lower_alnum(c[i])) ++i;
    std::string_view sep = c.substr(start, i - start);
    bool dashes = std::all_of(sep.begin(), sep.end(), [](char ch) { return ch == '-'; });
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
  }
  return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_component(std::string_view c) {
  if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) { return is_alnum(ch) || ch == '-'; });
}

bool valid_domain(std::string_view d) {
  std::string_view host = d;
  std::string_view port;
  if (!d.empty() && d.front() == '[') {
    auto close = d.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    std::string_view v6 = d.substr(1, close - 1);
    if (!std::all_of(v6.begin(), v6.end(), [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':' || ch == '.'; }))
      return false;
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    host = {};
  } else {
    auto colon = d.find(':');
    if (colon != std::string_view::npos) {
      host = d.substr(0, colon);
      port = d.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    size_t start = 0;
    for (;;) {
      size_t dot = host.find('.', start);
      if (!valid_domain_component(host.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  return std::all_of(port.begin(), port.end(), is_digit);
}

bool all_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
}

Result<Reference> parse(std::string_view text, bool default_tag) {
  if (text.empty()) return bad();
  if (all_hex64(text))
    return make_error(Errc::invalid_argument, "invalid repository name (" + std::string(text) +
                                                  "), cannot specify 64-byte hexadecimal strings");
  Reference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (auto st = validate_digest(digest); !st) return bad(st.error().message);
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  // A ':' after the last '/' starts the tag; earlier ones belong to a registry port.
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (auto st = validate_tag(tag); !st) return tl::unexpected(st.error());
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad();

  std::string_view domain, remainder;
  auto first = rest.find('/');
  std::string_view head = first == std::string_view::npos ? std::string_view{} : rest.substr(0, first);
  bool head_is_domain = first != std::string_view::npos &&
                        (head.find_first_of(".:") != std::string_view::npos || head == "localhost" ||
                         std::any_of(head.begin(), head.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  if (head_is_domain) {
    domain = head;
    remainder = rest.substr(first + 1);
  } else {
    domain = kDockerHubDomain;
    remainder = rest;
  }
  ref.domain = domain == "index.docker.io" ? std::string(kDockerHubDomain) : std::string(domain);
  ref.path = std::string(remainder);
  if (ref.domain == kDockerHubDomain && ref.path.find('/') == std::string::npos) ref.path = "library/" + ref.path;

  if (std::any_of(ref.path.begin(), ref.path.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return bad("repository name (" + ref.path + ") must be lowercase");
  if (!valid_domain(ref.domain)) return bad("invalid registry host \"" + ref.domain + "\"");
  size_t start = 0;
  for (;;) {
    size_t sep = ref.path.find('/', start);
    std::string_view comp = std::string_view(ref.path).substr(start, sep == std::string::npos ? sep : sep - start);
    if (!valid_path_component(comp)) return bad();
    if (sep == std::string::npos) break;
    start = sep + 1;
  }
  if (ref.name().size() > kMaxNameLength)
    return bad("repository name must not be more than " + std::to_string(kMaxNameLength) + " characters");
  if (default_tag && ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace

Status validate_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength || !is_word(tag.front()) ||
      !std::all_of(tag.begin(), tag.end(), [](char c) { return is_word(c) || c == '.' || c == '-'; }))
    return bad("invalid tag \"" + std::string(tag) + "\"");
  return ok();
}

bool is_valid_domain(std::string_view domain) { return valid_domain(domain); }

Result<Reference> parse_reference(std::string_view text) { return parse(text, true); }
Result<Reference> parse_named(std::string_view text) { return parse(text, false); }

std::string Reference::name() const { return domain + "/" + path; }

std::string Reference::string() const {
  std::string out = name();
  if (has_tag()) out += ":" + tag;
  if (has_digest()) out += "@" + digest;
  return out;
}

std::string Reference::familiar_name() const {
  if (domain != kDockerHubDomain) return name();
  constexpr std::string_view kLibrary = "library/";
  if (path.starts_with(kLibrary) && path.find('/', kLibrary.size()) == std::string::npos)
    return path.substr(kLibrary.size());
  return path;
}

std::string Reference::familiar() const {
  std::string out = familiar_name();
  if (has_tag()) out += ":" + tag;
  if (has_digest()) out += "@" + digest;
  return out;
}

std::string Reference::manifest_reference() const { return has_digest() ? digest : tag; }

Reference Reference::with_digest(std::string d) const {
  Reference r = *this;
  r.tag.clear();
  r.digest = std::move(d);
  return r;
}

bool is_loopback_registry(std::string_view domain) {
  std::string_view host = domain;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    host = host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
    return host == "::1";
  }
  if (auto colon = host.find(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  return host == "localhost" ||
         (host.starts_with("127.") && std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; }));
}

}  // namespace berth::agent::image
