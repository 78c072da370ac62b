// Image references parsed and normalised the way Docker does (distribution/reference):
// "busybox" → docker.io/library/busybox:latest, "host:5000/a/b:tag", "name@sha256:…".
#pragma once

#include <string>
#include <string_view>

#include "berth/common/result.h"

namespace berth::agent::image {

inline constexpr std::string_view kDockerHubDomain = "docker.io";

struct Reference {
  std::string domain;  // "docker.io", "127.0.0.1:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // empty when only a digest was given
  std::string digest;  // "sha256:…" or empty

  bool has_tag() const { return !tag.empty(); }
  bool has_digest() const { return !digest.empty(); }
  // domain/path
  std::string name() const;
  // name[:tag][@digest], the fully qualified form stored in the index.
  std::string string() const;
  // Docker's short rendering for listings: "busybox", "user/app", "host:5000/x".
  std::string familiar_name() const;
  // familiar_name()[:tag][@digest], e.g. "busybox:latest".
  std::string familiar() const;
  // What the registry's manifests endpoint is asked for: the digest when pinned, else the tag.
  std::string manifest_reference() const;
  // The same repository pinned to `digest`, without a tag (a RepoDigest).
  Reference with_digest(std::string digest) const;

  bool operator==(const Reference&) const = default;
};

// Parses and normalises; adds ":latest" when neither tag nor digest is present. Errors are
// Errc::invalid_argument with Docker's wording ("invalid reference format: …").
Result<Reference> parse_reference(std::string_view text);
// Like parse_reference but never adds a default tag (repository names, filters).
Result<Reference> parse_named(std::string_view text);
// Validates a bare tag ("latest", "1.36.1-musl").
Status validate_tag(std::string_view tag);
// A registry host as a reference may name it: "host", "host:port", "[v6]:port".
bool is_valid_domain(std::string_view domain);
// Registry host names Docker lets use plain HTTP without configuration.
bool is_loopback_registry(std::string_view domain);

}  // namespace berth::agent::image
