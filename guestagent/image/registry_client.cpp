#include "registry_client.h"

#include <algorithm>
#include <cctype>

#include "berth/common/json.h"
#include "berth/common/log.h"
#include "digest.h"

namespace berth::agent::image {

namespace {

constexpr std::string_view kDockerHubEndpoint = "https://registry-1.docker.io";
constexpr size_t kMaxManifestSize = 4 << 20;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string accept_header() {
  return "Accept: " + std::string(media_type::kOciIndex) + ", " + std::string(media_type::kOciManifest) + ", " +
         std::string(media_type::kDockerManifestList) + ", " + std::string(media_type::kDockerManifest);
}

// "MANIFEST_UNKNOWN: manifest unknown" from the distribution error envelope, else the raw body.
std::string registry_message(const HttpResponse& resp) {
  auto doc = parse_json(resp.body);
  if (doc && doc->is_object() && doc->contains("errors") && (*doc)["errors"].is_array()) {
    std::string out;
    for (const auto& e : (*doc)["errors"]) {
      if (!e.is_object()) continue;
      std::string code = e.value("code", Json()).is_string() ? e["code"].get<std::string>() : "";
      std::string msg = e.value("message", Json()).is_string() ? e["message"].get<std::string>() : "";
      std::replace(code.begin(), code.end(), '_', ' ');
      if (!out.empty()) out += "; ";
      out += lower(code) + (msg.empty() ? "" : ": " + msg);
    }
    if (!out.empty()) return out;
  }
  std::string body = resp.body.substr(0, 200);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
  return body.empty() ? "HTTP " + std::to_string(resp.status) : body;
}

// Caches are keyed by the whole credential, not the user name: a wrong password must never
// ride on a token or header that the right one earned.
std::string credential_key(const RegistryAuth& auth) {
  if (auth.anonymous()) return "anonymous";
  return sha256_digest(auth.username + '\0' + auth.password + '\0' + auth.identity_token + '\0' + auth.registry_token);
}

std::string host_of_url(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

tl::unexpected<Error> unreachable(const std::string& host, const HttpRequest& req, const HttpResponse& resp) {
  Errc code = resp.transport_error == kHttpTimeout ? Errc::timeout : Errc::io;
  return make_error(code, "registry " + host + " is unreachable: " + req.method + " " + req.url + ": " +
                              resp.transport_message);
}

}  // namespace

bool parse_www_authenticate(const std::string& value, std::string& scheme, std::map<std::string, std::string>& params) {
  size_t i = 0;
  while (i < value.size() && value[i] == ' ') ++i;
  size_t start = i;
  while (i < value.size() && value[i] != ' ') ++i;
  scheme = lower(value.substr(start, i - start));
  if (scheme.empty()) return false;
  params.clear();
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ' ' || value[i] == ',')) ++i;
    size_t eq = value.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = lower(value.substr(i, eq - i));
    while (!key.empty() && key.back() == ' ') key.pop_back();
    i = eq + 1;
    std::string val;
    if (i < value.size() && value[i] == '"') {
      ++i;
      while (i < value.size() && value[i] != '"') {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        val.push_back(value[i++]);
      }
      ++i;
    } else {
      while (i < value.size() && value[i] != ',') val.push_back(value[i++]);
      while (!val.empty() && val.back() == ' ') val.pop_back();
    }
    params[key] = val;
  }
  return true;
}

Result<RegistryAuth> decode_registry_auth(std::string_view header) {
  RegistryAuth auth;
  if (header.empty()) return auth;
  auto text = base64_decode(header);
  if (!text) return make_error(Errc::invalid_argument, "X-Registry-Auth: invalid base64");
  auto doc = BERTH_TRY(parse_json(*text, "X-Registry-Auth"));
  // An empty object ("{}") is how clients say "anonymous".
  return json_boundary("X-Registry-Auth", [&]() {
    jsonf::get_object(doc, "X-Registry-Auth");
    auth.username = jsonf::opt_string(doc, "username", "username").value_or("");
    auth.password = jsonf::opt_string(doc, "password", "password").value_or("");
    auth.identity_token = jsonf::opt_string(doc, "identitytoken", "identitytoken").value_or("");
    auth.registry_token = jsonf::opt_string(doc, "registrytoken", "registrytoken").value_or("");
    auth.server_address = jsonf::opt_string(doc, "serveraddress", "serveraddress").value_or("");
    if (auth.username.empty()) {
      if (auto encoded = jsonf::opt_string(doc, "auth", "auth"); encoded && !encoded->empty()) {
        auto pair = base64_decode(*encoded);
        if (!pair || pair->find(':') == std::string::npos) throw JsonFieldError("auth", "expected base64 of user:password");
        auth.username = pair->substr(0, pair->find(':'));
        auth.password = pair->substr(pair->find(':') + 1);
      }
    }
    return auth;
  });
}

namespace {
// The agent validates its configuration at startup (core/daemon_config.h); here an entry
// that does not parse only costs the setting its effect.
InsecureRegistries insecure_registries_of(const RegistryConfig& config) {
  auto parsed = InsecureRegistries::parse(config.insecure_registries, config.loopback_is_insecure);
  if (parsed) return std::move(*parsed);
  log::get("agent")->warn("registry: {}; ignoring the insecure-registries setting", parsed.error().what());
  return InsecureRegistries::parse({}, config.loopback_is_insecure).value();
}
}  // namespace

RegistryClient::RegistryClient(RegistryConfig config)
    : config_(std::move(config)), insecure_(insecure_registries_of(config_), config_.loopback_is_insecure) {}

bool RegistryClient::is_insecure(const std::string& host) const { return insecure_.is_insecure(host); }

std::vector<RegistryClient::Endpoint> RegistryClient::endpoints(const Reference& ref) const {
  std::vector<Endpoint> out;
  if (ref.domain == kDockerHubDomain) {
    for (std::string m : config_.mirrors) {
      while (!m.empty() && m.back() == '/') m.pop_back();
      if (m.find("://") == std::string::npos) m = "https://" + m;
      Endpoint ep;
      ep.base = m;
      ep.host = host_of_url(m);
      ep.insecure = m.starts_with("http://") || is_insecure(ep.host);
      ep.mirror = true;
      out.push_back(std::move(ep));
    }
    Endpoint hub;
    hub.base = std::string(kDockerHubEndpoint);
    hub.host = host_of_url(hub.base);
    out.push_back(std::move(hub));
    return out;
  }
  Endpoint ep;
  ep.host = ref.domain;
  ep.insecure = is_insecure(ref.domain);
  out.push_back(std::move(ep));
  return out;
}

Result<std::string> RegistryClient::fetch_token(const Challenge& ch, const std::string& scope, const RegistryAuth& auth,
                                                const Endpoint& ep) {
  auto realm_it = ch.params.find("realm");
  if (realm_it == ch.params.end() || !(realm_it->second.starts_with("https://") || realm_it->second.starts_with("http://")))
    return make_error(Errc::protocol, "registry " + ep.host + " sent a Bearer challenge without a usable realm");
  std::string service = ch.params.count("service") ? ch.params.at("service") : "";
  std::string key = realm_it->second + "|" + service + "|" + scope + "|" + credential_key(auth);
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(key);
    if (it != tokens_.end() && it->second.expires > std::chrono::steady_clock::now()) return it->second.value;
  }
  HttpRequest req;
  req.user_agent = config_.user_agent;
  req.connect_timeout_s = config_.connect_timeout_s;
  req.stall_timeout_s = config_.stall_timeout_s;
  req.max_collected_body = 1 << 20;
  if (!auth.identity_token.empty()) {
    req.method = "POST";
    req.url = realm_it->second;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.body = "grant_type=refresh_token&client_id=berth&service=" + url_escape(service) +
               "&scope=" + url_escape(scope) + "&refresh_token=" + url_escape(auth.identity_token);
  } else {
    req.url = realm_it->second + (realm_it->second.find('?') == std::string::npos ? "?" : "&") +
              "service=" + url_escape(service) + "&scope=" + url_escape(scope);
    if (!auth.username.empty())
      req.headers.push_back("Authorization: Basic " + base64_encode(auth.username + ":" + auth.password));
  }
  auto resp = BERTH_TRY(http_do(req));
  if (resp.transport_error) return unreachable(host_of_url(req.url), req, resp);
  if (resp.status == 401 || resp.status == 403)
    return make_error(Errc::permission, "authentication with " + host_of_url(req.url) + " failed: " + registry_message(resp));
  if (resp.status != 200)
    return make_error(Errc::protocol, "token server " + host_of_url(req.url) + " answered " + std::to_string(resp.status) +
                                          ": " + registry_message(resp));
  auto doc = BERTH_TRY(parse_json(resp.body, "token response"));
  std::string token;
  int64_t expires_in = 60;
  if (doc.is_object()) {
    if (doc.value("token", Json()).is_string()) token = doc["token"].get<std::string>();
    if (token.empty() && doc.value("access_token", Json()).is_string()) token = doc["access_token"].get<std::string>();
    if (doc.value("expires_in", Json()).is_number_integer()) expires_in = std::max<int64_t>(doc["expires_in"].get<int64_t>(), 60);
  }
  if (token.empty()) return make_error(Errc::protocol, "token server " + host_of_url(req.url) + " returned no token");
  std::lock_guard lock(mu_);
  // Renewed a little early so a long pull does not hit expiry mid-request.
  tokens_[key] = Token{token, std::chrono::steady_clock::now() + std::chrono::seconds(expires_in - 10)};
  return token;
}

Result<std::string> RegistryClient::authorize(const Challenge& ch, const Reference& ref, const RegistryAuth& auth,
                                              const Endpoint& ep) {
  if (ch.scheme == "bearer") {
    if (!auth.registry_token.empty()) return "Bearer " + auth.registry_token;
    std::string scope = "repository:" + ref.path + ":pull";
    if (auto it = ch.params.find("scope"); it != ch.params.end() && !it->second.empty()) scope = it->second;
    return "Bearer " + BERTH_TRY(fetch_token(ch, scope, auth, ep));
  }
  if (ch.scheme == "basic") {
    if (auth.username.empty())
      return make_error(Errc::permission, "registry " + ep.host + " requires authentication ('docker login')");
    return "Basic " + base64_encode(auth.username + ":" + auth.password);
  }
  return make_error(Errc::unsupported, "registry " + ep.host + " asks for unsupported authentication \"" + ch.scheme + "\"");
}

Result<HttpResponse> RegistryClient::request(const Endpoint& ep, const Reference& ref, const RegistryAuth& auth,
                                             HttpRequest req, const std::string& path) {
  req.user_agent = config_.user_agent;
  req.verify_tls = !ep.insecure;
  req.connect_timeout_s = config_.connect_timeout_s;
  req.stall_timeout_s = config_.stall_timeout_s;
  std::vector<std::string> bases;
  if (ep.mirror) {
    bases.push_back(ep.base);
  } else if (!ep.base.empty()) {
    bases.push_back(ep.base);
  } else {
    std::lock_guard lock(mu_);
    if (auto it = scheme_.find(ep.host); it != scheme_.end()) bases.push_back(it->second + ep.host);
    else {
      bases.push_back("https://" + ep.host);
      if (ep.insecure) bases.push_back("http://" + ep.host);
    }
  }
  std::string auth_key = ep.host + "|" + ref.path + "|" + credential_key(auth);
  auto base_headers = req.headers;
  HttpResponse resp;
  for (size_t b = 0; b < bases.size(); ++b) {
    req.url = bases[b] + path;
    bool answered_challenge = false;
    for (;;) {
      req.headers = base_headers;
      {
        std::lock_guard lock(mu_);
        if (auto it = auth_header_.find(auth_key); it != auth_header_.end())
          req.headers.push_back("Authorization: " + it->second);
      }
      resp = BERTH_TRY(http_do(req));
      if (resp.transport_error) break;
      if (!ep.mirror && ep.base.empty()) {
        std::lock_guard lock(mu_);
        scheme_[ep.host] = bases[b].substr(0, bases[b].find("://") + 3);
      }
      const std::string* challenge = resp.header("www-authenticate");
      if (resp.status != 401 || !challenge || answered_challenge) return resp;
      Challenge ch;
      if (!parse_www_authenticate(*challenge, ch.scheme, ch.params))
        return make_error(Errc::protocol, "registry " + ep.host + " sent an unreadable WWW-Authenticate header");
      std::string value = BERTH_TRY(authorize(ch, ref, auth, ep));
      {
        std::lock_guard lock(mu_);
        auth_header_[auth_key] = value;
      }
      answered_challenge = true;
    }
    if (b + 1 < bases.size())
      log::get("agent")->debug("image: {} failed ({}), trying {}", req.url, resp.transport_message, bases[b + 1]);
  }
  return resp;  // transport error of the last attempt; the caller words it
}

Result<FetchedManifest> RegistryClient::fetch_manifest(const Reference& ref, const RegistryAuth& auth,
                                                       const std::string& tag_or_digest) {
  std::string path = "/v2/" + ref.path + "/manifests/" + tag_or_digest;
  std::string shown = ref.familiar_name() + (is_digest(tag_or_digest) ? "@" : ":") + tag_or_digest;
  std::optional<Error> last;
  for (const auto& ep : endpoints(ref)) {
    HttpRequest req;
    req.headers.push_back(accept_header());
    req.max_collected_body = kMaxManifestSize;
    auto r = request(ep, ref, auth, req, path);
    if (!r) {
      last = r.error();
      continue;
    }
    const HttpResponse& resp = *r;
    if (resp.transport_error) {
      req.url = resp.effective_url.empty() ? (ep.base.empty() ? "https://" + ep.host : ep.base) + path : resp.effective_url;
      last = unreachable(ep.host, req, resp).value();
      continue;
    }
    if (resp.status == 200) {
      FetchedManifest m;
      m.body = resp.body;
      m.digest = sha256_digest(m.body);
      if (const std::string* ct = resp.header("content-type")) m.media_type = *ct;
      if (is_digest(tag_or_digest) && m.digest != tag_or_digest)
        return make_error(Errc::protocol, "manifest for " + shown + " from " + ep.host + " does not match its digest (got " +
                                              m.digest + ")");
      if (const std::string* dcd = resp.header("docker-content-digest"); dcd && *dcd != m.digest)
        log::get("agent")->warn("image: {} says Docker-Content-Digest {} but the manifest hashes to {}", ep.host, *dcd, m.digest);
      return m;
    }
    std::string msg = registry_message(resp);
    if (resp.status == 404)
      last = Error{Errc::not_found, 0, "manifest for " + shown + " not found: " + msg};
    else if (resp.status == 401 || resp.status == 403)
      last = Error{Errc::permission, 0,
                   "pull access denied for " + ref.familiar_name() +
                       ", repository does not exist or may require 'docker login': " + msg};
    else
      last = Error{resp.status >= 500 ? Errc::io : Errc::protocol, 0,
                   "registry " + ep.host + " answered " + std::to_string(resp.status) + " for manifest " + shown + ": " + msg};
    if (!ep.mirror) break;
    log::get("agent")->info("image: mirror {} could not serve {} ({}), trying the next endpoint", ep.host, shown, last->message);
  }
  return tl::unexpected(last.value_or(Error{Errc::internal, 0, "no registry endpoint for " + ref.domain}));
}

Status RegistryClient::fetch_blob(const Reference& ref, const RegistryAuth& auth, const Descriptor& desc,
                                  BlobWriter& writer, const BlobProgressFn& progress) {
  if (writer.exists()) return ok();
  std::string path = "/v2/" + ref.path + "/blobs/" + desc.digest;
  std::optional<Error> last;
  for (const auto& ep : endpoints(ref)) {
    int attempts = std::max(1, config_.blob_attempts);
    bool complete = false;
    for (int attempt = 1; attempt <= attempts && !complete; ++attempt) {
      int64_t start = writer.offset();
      if (desc.size > 0 && start == desc.size) {  // everything arrived before; commit decides
        complete = true;
        break;
      }
      HttpRequest req;
      req.range_start = start > 0 ? start : -1;
      req.on_start = [&](const HttpResponse& head) -> Status {
        if (head.status == 206 && start > 0) {
          const std::string* cr = head.header("content-range");
          std::string expect = "bytes " + std::to_string(start) + "-";
          if (cr && cr->starts_with(expect)) return ok();
        }
        // The server sent the whole blob (or a range we did not ask for): begin again.
        if (start > 0) {
          BERTH_TRY(writer.restart());
          start = 0;
        }
        if (head.status == 206) return make_error(Errc::protocol, "registry " + ep.host + " sent an unexpected range");
        return ok();
      };
      req.on_body = [&](const char* data, size_t size) { return writer.write(data, size); };
      if (progress) req.on_progress = [&](int64_t now, int64_t) { progress(start + now, desc.size); };
      auto r = request(ep, ref, auth, req, path);
      if (!r) return tl::unexpected(r.error());
      const HttpResponse& resp = *r;
      if (resp.transport_error) {
        req.url = (ep.base.empty() ? "https://" + ep.host : ep.base) + path;
        last = unreachable(ep.host, req, resp).value();
        log::get("agent")->info("image: blob {} attempt {}/{} stopped at {} bytes: {}", short_id(desc.digest), attempt,
                                attempts, writer.offset(), resp.transport_message);
        continue;
      }
      if (resp.status == 200 || resp.status == 206) {
        complete = true;
        break;
      }
      if (resp.status == 416) {
        BERTH_TRY(writer.restart());
        continue;
      }
      std::string msg = registry_message(resp);
      if (resp.status >= 500) {
        last = Error{Errc::io, 0, "registry " + ep.host + " answered " + std::to_string(resp.status) + " for blob " + desc.digest + ": " + msg};
        continue;
      }
      if (resp.status == 404) return make_error(Errc::not_found, "blob " + desc.digest + " of " + ref.familiar_name() + " not found on " + ep.host + ": " + msg);
      if (resp.status == 401 || resp.status == 403)
        return make_error(Errc::permission, "pull access denied for " + ref.familiar_name() + ": " + msg);
      return make_error(Errc::protocol, "registry " + ep.host + " answered " + std::to_string(resp.status) + " for blob " + desc.digest + ": " + msg);
    }
    if (complete) {
      auto committed = writer.commit();
      if (!committed) return tl::unexpected(committed.error());
      return ok();
    }
    if (!ep.mirror) break;
  }
  return tl::unexpected(last.value_or(Error{Errc::io, 0, "download of blob " + desc.digest + " failed"}));
}

}  // namespace berth::agent::image
