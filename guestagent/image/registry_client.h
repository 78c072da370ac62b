// OCI distribution v2 client: manifests (OCI and Docker schema2, single or multi-platform),
// blobs with digest verification and resume, Bearer/Basic auth, mirrors and insecure hosts.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "berth/common/result.h"
#include "content_store.h"
#include "http_client.h"
#include "oci_types.h"
#include "reference.h"
#include "registry_hosts.h"

namespace berth::agent::image {

// Credentials the way Docker's X-Registry-Auth header carries them.
struct RegistryAuth {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token from `docker login`
  std::string registry_token;  // a bearer token used as is
  std::string server_address;

  bool anonymous() const { return username.empty() && identity_token.empty() && registry_token.empty(); }
};

// Decodes an X-Registry-Auth value (base64url JSON with username/password/auth/identitytoken/
// registrytoken/serveraddress). Empty input is anonymous.
Result<RegistryAuth> decode_registry_auth(std::string_view header);

struct RegistryConfig {
  // Tried in order before registry-1.docker.io for docker.io images: "https://mirror.example/",
  // "http://10.0.0.2:5000/" (validate_mirror's form).
  std::vector<std::string> mirrors;
  // Registries that may be reached over plain HTTP, with TLS checks off: "host:port" (matched
  // exactly) or CIDRs ("10.0.0.0/8"), as dockerd's insecure-registries (registry_hosts.h).
  std::vector<std::string> insecure_registries;
  // Like Docker, 127.0.0.0/8 is insecure without being listed (and so are localhost and ::1).
  bool loopback_is_insecure = true;
  std::string user_agent = "berth-agent";
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;
  // Attempts per blob; each retry resumes where the last one stopped.
  int blob_attempts = 3;
};

struct FetchedManifest {
  std::string digest;      // of `body`
  std::string media_type;  // what the registry served
  std::string body;
};

using BlobProgressFn = std::function<void(int64_t current, int64_t total)>;

class RegistryClient {
 public:
  explicit RegistryClient(RegistryConfig config);

  const RegistryConfig& config() const { return config_; }

  // GET /v2/<name>/manifests/<tag-or-digest>. With a digest reference the body is verified.
  Result<FetchedManifest> fetch_manifest(const Reference& ref, const RegistryAuth& auth,
                                         const std::string& tag_or_digest);
  // Downloads a blob through `writer` (resuming at writer.offset()), verifies, commits.
  Status fetch_blob(const Reference& ref, const RegistryAuth& auth, const Descriptor& desc, BlobWriter& writer,
                    const BlobProgressFn& progress = {});

 private:
  struct Endpoint {
    std::string base;  // "https://host:port"
    std::string host;  // for messages and caches
    bool insecure = false;
    bool mirror = false;
  };
  struct Challenge {
    std::string scheme;  // "bearer" or "basic"
    std::map<std::string, std::string> params;
  };
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };

  std::vector<Endpoint> endpoints(const Reference& ref) const;
  bool is_insecure(const std::string& host) const;
  // Runs one request against the endpoint (HTTPS, falling back to HTTP for insecure hosts)
  // and answers auth challenges once.
  Result<HttpResponse> request(const Endpoint& ep, const Reference& ref, const RegistryAuth& auth, HttpRequest req,
                               const std::string& path);
  Result<std::string> authorize(const Challenge& ch, const Reference& ref, const RegistryAuth& auth,
                                const Endpoint& ep);
  Result<std::string> fetch_token(const Challenge& ch, const std::string& scope, const RegistryAuth& auth,
                                  const Endpoint& ep);

  RegistryConfig config_;
  InsecureRegistryMatcher insecure_;
  std::mutex mu_;
  std::map<std::string, std::string> scheme_;      // host → "https://" or "http://" that answered
  std::map<std::string, std::string> auth_header_; // host|repo|user → Authorization value
  std::map<std::string, Token> tokens_;
};

// Parses WWW-Authenticate ("Bearer realm=\"…\",service=\"…\",scope=\"…\"" or "Basic realm=…").
bool parse_www_authenticate(const std::string& value, std::string& scheme, std::map<std::string, std::string>& params);

}  // namespace berth::agent::image
