// ImageStore::distribution: what the registry holds for a reference, without pulling it
// (GET /distribution/{name}/json). Like dockerd, an index lists the platforms of its entries;
// a single manifest's platform comes from its config blob.
#include "berth/common/json.h"
#include "digest.h"
#include "image_store.h"

namespace berth::agent::image {

namespace {

// The document's own mediaType when it states one (dockerd reports the payload's type, not
// what the registry's Content-Type said), else the Content-Type without parameters.
std::string media_type_of(const FetchedManifest& m) {
  if (auto doc = parse_json(m.body); doc && doc->is_object() && doc->contains("mediaType") &&
                                     (*doc)["mediaType"].is_string() && !(*doc)["mediaType"].get<std::string>().empty())
    return (*doc)["mediaType"].get<std::string>();
  std::string ct = m.media_type.substr(0, m.media_type.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  return ct;
}

}  // namespace

Result<DistributionInfo> ImageStore::distribution(const std::string& text, const RegistryAuth& auth) {
  if (is_digest(text)) return make_error(Errc::internal, "no manifest found for full image ID");
  auto ref = BERTH_TRY(parse_reference(text));
  auto top = BERTH_TRY(registry_->fetch_manifest(ref, auth, ref.manifest_reference()));
  DistributionInfo info;
  info.media_type = media_type_of(top);
  info.digest = top.digest;
  info.size = static_cast<int64_t>(top.body.size());
  if (BERTH_TRY(is_index_document(top.body, top.media_type))) {
    auto idx = BERTH_TRY(parse_index(top.body, top.media_type));
    for (const auto& d : idx.manifests) info.platforms.push_back(d.platform.value_or(Platform{}));
    return info;
  }
  auto manifest = BERTH_TRY(parse_manifest(top.body, top.media_type));
  // The config is small; it goes through the content store (verified) under a lease, and is
  // garbage like any other unreferenced blob afterwards.
  Lease lease(*this);
  lease.blob(manifest.config.digest);
  if (!content_->has(manifest.config.digest)) {
    auto w = BERTH_TRY(content_->writer(manifest.config.digest, manifest.config.size));
    if (auto st = registry_->fetch_blob(ref, auth, manifest.config, *w); !st) {
      w->discard();
      return tl::unexpected(st.error());
    }
  }
  auto config_text = BERTH_TRY(content_->read(manifest.config.digest));
  auto doc = BERTH_TRY(parse_json(config_text, "image config"));
  if (doc.is_object()) {
    auto field = [&](const char* key) { return doc.contains(key) && doc[key].is_string() ? doc[key].get<std::string>() : std::string(); };
    Platform p{field("os"), field("architecture"), field("variant"), field("os.version")};
    if (!p.os.empty() || !p.architecture.empty()) info.platforms.push_back(std::move(p));
  }
  return info;
}

}  // namespace berth::agent::image
