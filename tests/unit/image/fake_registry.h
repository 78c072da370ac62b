// An in-memory OCI distribution registry on top of FakeHttpServer, plus a helper that
// publishes images built from layer tarballs. Tests can intercept any request.
#pragma once

#include <map>
#include <mutex>
#include <optional>

#include "berth/common/json.h"
#include "fake_http_server.h"
#include "image/digest.h"
#include "image/oci_types.h"
#include "image/platform.h"
#include "test_support.h"

namespace berth::agent::image::testing {

class FakeRegistry {
 public:
  using Hook = std::function<std::optional<FakeResponse>(const FakeRequest&)>;

  FakeRegistry() : server_([this](const FakeRequest& r) { return handle(r); }) {}

  std::string host() const { return server_.host(); }
  const FakeHttpServer& server() const { return server_; }

  std::string add_blob(const std::string& data) {
    std::lock_guard lock(mu_);
    std::string d = sha256_digest(data);
    blobs_[d] = data;
    return d;
  }
  void replace_blob(const std::string& digest, const std::string& data) {
    std::lock_guard lock(mu_);
    blobs_[digest] = data;
  }
  std::string put_manifest(const std::string& repo, const std::string& tag, const std::string& body,
                           const std::string& media_type) {
    std::lock_guard lock(mu_);
    std::string d = sha256_digest(body);
    manifests_[repo + "@" + d] = {body, media_type};
    if (!tag.empty()) manifests_[repo + ":" + tag] = {body, media_type};
    return d;
  }
  void set_hook(Hook h) {
    std::lock_guard lock(mu_);
    hook_ = std::move(h);
  }
  size_t blob_gets(const std::string& digest) const {
    return server_.count([&](const FakeRequest& r) { return r.path().ends_with("/blobs/" + digest); });
  }
  size_t blob_gets_total() const {
    return server_.count([&](const FakeRequest& r) { return r.path().find("/blobs/") != std::string::npos; });
  }

 private:
  FakeResponse handle(const FakeRequest& r) {
    Hook hook;
    {
      std::lock_guard lock(mu_);
      hook = hook_;
    }
    if (hook)
      if (auto resp = hook(r)) return *resp;
    std::string p = r.path();
    if (p == "/v2/") return FakeResponse::json(200, "{}");
    std::lock_guard lock(mu_);
    if (auto m = p.find("/manifests/"); m != std::string::npos && p.starts_with("/v2/")) {
      std::string repo = p.substr(4, m - 4), ref = p.substr(m + 11);
      auto it = manifests_.find(repo + (is_digest(ref) ? "@" : ":") + ref);
      if (it == manifests_.end())
        return FakeResponse::json(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
      FakeResponse resp;
      resp.body = it->second.first;
      resp.headers.emplace_back("Content-Type", it->second.second);
      resp.headers.emplace_back("Docker-Content-Digest", sha256_digest(resp.body));
      return resp;
    }
    if (auto b = p.find("/blobs/"); b != std::string::npos && p.starts_with("/v2/")) {
      auto it = blobs_.find(p.substr(b + 7));
      if (it == blobs_.end())
        return FakeResponse::json(404, R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})");
      FakeResponse resp;
      std::string range = r.header("range");
      if (!range.empty()) {
        size_t from = std::stoul(range.substr(6));
        resp.status = 206;
        resp.headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" +
                                                       std::to_string(it->second.size() - 1) + "/" +
                                                       std::to_string(it->second.size()));
        resp.body = it->second.substr(from);
      } else {
        resp.body = it->second;
      }
      return resp;
    }
    return FakeResponse::json(404, R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]})");
  }

  mutable std::mutex mu_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, std::pair<std::string, std::string>> manifests_;
  Hook hook_;
  FakeHttpServer server_;
};

struct PushedImage {
  std::string manifest;
  std::string manifest_digest;
  std::string config_digest;
  std::vector<std::string> layer_digests;
  std::vector<std::string> diff_ids;
};

struct LayerSpec {
  std::vector<TarEntry> entries;
  TarCompression compression = TarCompression::gzip;
};

inline PushedImage push_image(FakeRegistry& reg, const std::string& repo, const std::string& tag,
                              const std::vector<LayerSpec>& layers, const Platform& platform = host_platform(),
                              const std::string& label = "") {
  PushedImage img;
  Manifest m;
  m.media_type = std::string(media_type::kOciManifest);
  Json history = Json::array();
  for (const auto& l : layers) {
    std::string plain = build_tar(l.entries);
    std::string blob = build_tar(l.entries, l.compression);
    img.diff_ids.push_back(sha256_digest(plain));
    img.layer_digests.push_back(reg.add_blob(blob));
    m.layers.push_back({std::string(l.compression == TarCompression::zstd   ? media_type::kOciLayerZstd
                                    : l.compression == TarCompression::gzip ? media_type::kOciLayerGzip
                                                                            : media_type::kOciLayer),
                        img.layer_digests.back(), static_cast<int64_t>(blob.size()), std::nullopt, {}, {}});
    history.push_back({{"created", "2024-05-06T07:08:09Z"}, {"created_by", "layer " + std::to_string(history.size())}});
  }
  history.push_back({{"created", "2024-05-06T07:08:10Z"}, {"created_by", "CMD [\"sh\"]"}, {"empty_layer", true}});
  Json config = {{"architecture", platform.architecture},
                 {"os", platform.os},
                 {"created", "2024-05-06T07:08:10Z"},
                 {"config", {{"Cmd", {"sh"}}, {"Env", {"PATH=/bin"}}, {"Labels", {{"test", label}}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", img.diff_ids}}},
                 {"history", history}};
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  std::string config_text = config.dump();
  img.config_digest = reg.add_blob(config_text);
  m.config = {std::string(media_type::kOciConfig), img.config_digest, static_cast<int64_t>(config_text.size()), std::nullopt, {}, {}};
  img.manifest = manifest_to_json(m);
  img.manifest_digest = reg.put_manifest(repo, tag, img.manifest, std::string(media_type::kOciManifest));
  return img;
}

}  // namespace berth::agent::image::testing
