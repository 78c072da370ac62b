#include "oci_types.h"

#include "digest.h"

namespace berth::agent::image {

bool is_index_media_type(std::string_view mt) {
  return mt == media_type::kOciIndex || mt == media_type::kDockerManifestList;
}

bool is_manifest_media_type(std::string_view mt) {
  return mt == media_type::kOciManifest || mt == media_type::kDockerManifest;
}

bool is_layer_media_type(std::string_view mt) {
  return mt.starts_with("application/vnd.oci.image.layer.") || mt.starts_with("application/vnd.docker.image.rootfs.");
}

namespace {

// Registries may append parameters ("; charset=utf-8").
std::string_view bare_type(std::string_view ct) {
  auto semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return ct;
}

std::map<std::string, std::string> annotations_from(const Json& j, const std::string& path) {
  std::map<std::string, std::string> out;
  if (const Json* a = jsonf::find(j, "annotations")) {
    jsonf::get_object(*a, path + ".annotations");
    for (auto& [k, v] : a->items()) out[k] = jsonf::get_string(v, path + ".annotations." + k);
  }
  return out;
}

Descriptor descriptor_from(const Json& j, const std::string& path) {
  jsonf::get_object(j, path);
  Descriptor d;
  d.media_type = jsonf::opt_string(j, "mediaType", path + ".mediaType").value_or("");
  const Json* digest = jsonf::find(j, "digest");
  if (!digest) throw JsonFieldError(path + ".digest", "missing");
  d.digest = jsonf::get_string(*digest, path + ".digest");
  if (auto st = validate_digest(d.digest); !st) throw JsonFieldError(path + ".digest", st.error().message);
  const Json* size = jsonf::find(j, "size");
  if (!size) throw JsonFieldError(path + ".size", "missing");
  d.size = jsonf::get_int(*size, path + ".size");
  if (d.size < 0) throw JsonFieldError(path + ".size", "must not be negative");
  if (const Json* p = jsonf::find(j, "platform")) d.platform = platform_from_json(*p, path + ".platform");
  d.annotations = annotations_from(j, path);
  d.urls = jsonf::opt_string_array(j, "urls", path + ".urls");
  return d;
}

std::string document_type(const Json& doc, std::string_view content_type) {
  if (auto mt = jsonf::opt_string(doc, "mediaType", "mediaType"); mt && !mt->empty()) return *mt;
  return std::string(bare_type(content_type));
}

}  // namespace

Result<bool> is_index_document(std::string_view json, std::string_view content_type) {
  auto doc = BERTH_TRY(parse_json(json, "manifest"));
  return json_boundary("manifest", [&] {
    jsonf::get_object(doc, "manifest");
    std::string mt = document_type(doc, content_type);
    if (is_index_media_type(mt)) return true;
    if (is_manifest_media_type(mt)) return false;
    // OCI allows omitting mediaType; the shape decides.
    return jsonf::find(doc, "manifests") != nullptr && jsonf::find(doc, "layers") == nullptr;
  });
}

Result<Manifest> parse_manifest(std::string_view json, std::string_view content_type) {
  auto doc = BERTH_TRY(parse_json(json, "manifest"));
  if (doc.is_object()) {
    auto mt = doc.value("mediaType", Json()).is_string() ? doc["mediaType"].get<std::string>() : std::string();
    bool schema1 = mt == media_type::kDockerSchema1 || mt == media_type::kDockerSchema1Signed ||
                   (doc.value("schemaVersion", Json()).is_number_integer() && doc["schemaVersion"].get<int64_t>() == 1);
    if (schema1)
      return make_error(Errc::unsupported,
                        "Docker Image manifest schema 1 is not supported; push the image again with a current client");
  }
  return json_boundary("manifest", [&] {
    jsonf::get_object(doc, "manifest");
    Manifest m;
    m.media_type = document_type(doc, content_type);
    auto schema = jsonf::opt_int(doc, "schemaVersion", "schemaVersion");
    if (schema && *schema != 2) throw JsonFieldError("schemaVersion", "unsupported value " + std::to_string(*schema));
    if (!m.media_type.empty() && !is_manifest_media_type(m.media_type))
      throw JsonFieldError("mediaType", "\"" + m.media_type + "\" is not an image manifest");
    const Json* config = jsonf::find(doc, "config");
    if (!config) throw JsonFieldError("config", "missing");
    m.config = descriptor_from(*config, "config");
    if (const Json* layers = jsonf::find(doc, "layers")) {
      jsonf::get_array(*layers, "layers");
      for (size_t i = 0; i < layers->size(); ++i)
        m.layers.push_back(descriptor_from((*layers)[i], "layers[" + std::to_string(i) + "]"));
    }
    m.annotations = annotations_from(doc, "manifest");
    if (m.media_type.empty()) m.media_type = std::string(media_type::kOciManifest);
    return m;
  });
}

Result<Index> parse_index(std::string_view json, std::string_view content_type) {
  auto doc = BERTH_TRY(parse_json(json, "index"));
  return json_boundary("index", [&] {
    jsonf::get_object(doc, "index");
    Index idx;
    idx.media_type = document_type(doc, content_type);
    if (!idx.media_type.empty() && !is_index_media_type(idx.media_type))
      throw JsonFieldError("mediaType", "\"" + idx.media_type + "\" is not an image index");
    static const Json kEmpty = Json::array();
    const Json* found = jsonf::find(doc, "manifests");
    const Json& list = found ? jsonf::get_array(*found, "manifests") : kEmpty;
    for (size_t i = 0; i < list.size(); ++i)
      idx.manifests.push_back(descriptor_from(list[i], "manifests[" + std::to_string(i) + "]"));
    idx.annotations = annotations_from(doc, "index");
    if (idx.media_type.empty()) idx.media_type = std::string(media_type::kOciIndex);
    return idx;
  });
}

Json descriptor_to_json(const Descriptor& d) {
  Json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (d.platform) j["platform"] = platform_to_json(*d.platform);
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (!d.urls.empty()) j["urls"] = d.urls;
  return j;
}

// nlohmann::json orders keys, so the bytes (and so the digest) are stable for equal content.
std::string manifest_to_json(const Manifest& m) {
  Json j = {{"schemaVersion", 2}, {"mediaType", m.media_type}, {"config", descriptor_to_json(m.config)}};
  j["layers"] = Json::array();
  for (const auto& l : m.layers) j["layers"].push_back(descriptor_to_json(l));
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

std::string index_to_json(const Index& idx) {
  Json j = {{"schemaVersion", 2}, {"mediaType", idx.media_type}};
  j["manifests"] = Json::array();
  for (const auto& d : idx.manifests) j["manifests"].push_back(descriptor_to_json(d));
  if (!idx.annotations.empty()) j["annotations"] = idx.annotations;
  return j.dump();
}

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  out.reserve(diff_ids.size());
  for (const auto& d : diff_ids) out.push_back(out.empty() ? d : sha256_digest(out.back() + " " + d));
  return out;
}

}  // namespace berth::agent::image
