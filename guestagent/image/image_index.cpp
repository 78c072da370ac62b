#include "image_index.h"

#include "berth/common/fs.h"
#include "berth/common/json.h"
#include "digest.h"

namespace berth::agent::image {

namespace {
constexpr int kVersion = 1;

Json to_json(const ImageEntry& e) {
  Json layers = Json::array();
  for (const auto& l : e.layers)
    layers.push_back({{"digest", l.digest}, {"media_type", l.media_type}, {"size", l.size},
                      {"diff_id", l.diff_id}, {"chain_id", l.chain_id}});
  return {{"manifest", e.manifest_digest}, {"index", e.index_digest}, {"manifest_media_type", e.manifest_media_type},
          {"config_media_type", e.config_media_type}, {"layers", layers}, {"platform", platform_to_json(e.platform)},
          {"added", e.added}};
}

std::string digest_field(const Json& j, const char* key, const std::string& path, bool required) {
  auto v = jsonf::opt_string(j, key, path + "." + key).value_or("");
  if (v.empty() && !required) return v;
  if (auto st = validate_digest(v); !st) throw JsonFieldError(path + "." + key, st.error().message);
  return v;
}

}  // namespace

Result<ImageIndex> ImageIndex::load(const std::string& path) {
  ImageIndex idx;
  auto text = fs::read_file(path);
  if (!text) {
    if (text.error().code == Errc::not_found) return idx;
    return tl::unexpected(text.error());
  }
  auto doc = BERTH_TRY(parse_json(*text, path));
  return json_boundary(path, [&] {
    jsonf::get_object(doc, "index");
    auto version = jsonf::opt_int(doc, "version", "version").value_or(0);
    if (version != kVersion) throw JsonFieldError("version", "unsupported index version " + std::to_string(version));
    if (const Json* images = jsonf::find(doc, "images")) {
      jsonf::get_object(*images, "images");
      for (auto& [id, j] : images->items()) {
        std::string p = "images." + id;
        jsonf::get_object(j, p);
        if (!is_digest(id)) throw JsonFieldError(p, "not an image id");
        ImageEntry e;
        e.id = id;
        e.manifest_digest = digest_field(j, "manifest", p, true);
        e.index_digest = digest_field(j, "index", p, false);
        e.manifest_media_type = jsonf::opt_string(j, "manifest_media_type", p + ".manifest_media_type").value_or("");
        e.config_media_type = jsonf::opt_string(j, "config_media_type", p + ".config_media_type").value_or("");
        if (const Json* pl = jsonf::find(j, "platform")) e.platform = platform_from_json(*pl, p + ".platform");
        e.added = jsonf::opt_int(j, "added", p + ".added").value_or(0);
        if (const Json* layers = jsonf::find(j, "layers")) {
          jsonf::get_array(*layers, p + ".layers");
          for (size_t i = 0; i < layers->size(); ++i) {
            std::string lp = p + ".layers[" + std::to_string(i) + "]";
            const Json& lj = jsonf::get_object((*layers)[i], lp);
            LayerRecord l;
            l.digest = digest_field(lj, "digest", lp, true);
            l.media_type = jsonf::opt_string(lj, "media_type", lp + ".media_type").value_or("");
            l.size = jsonf::opt_int(lj, "size", lp + ".size").value_or(0);
            l.diff_id = digest_field(lj, "diff_id", lp, true);
            l.chain_id = digest_field(lj, "chain_id", lp, true);
            e.layers.push_back(std::move(l));
          }
        }
        idx.images[id] = std::move(e);
      }
    }
    if (const Json* refs = jsonf::find(doc, "refs")) {
      jsonf::get_object(*refs, "refs");
      for (auto& [ref, id] : refs->items()) {
        std::string target = jsonf::get_string(id, "refs." + ref);
        // A reference to an image the index does not hold would resolve to nothing; drop it.
        if (idx.images.count(target)) idx.refs[ref] = target;
      }
    }
    return idx;
  });
}

Status ImageIndex::save(const std::string& path) const {
  Json images = Json::object();
  for (const auto& [id, e] : this->images) images[id] = to_json(e);
  Json doc = {{"version", kVersion}, {"images", images}, {"refs", refs}};
  return fs::write_file_atomic(path, doc.dump(2), 0600);
}

std::vector<std::string> ImageIndex::refs_of(const std::string& id) const {
  std::vector<std::string> out;
  for (const auto& [ref, target] : refs)
    if (target == id) out.push_back(ref);
  return out;
}

}  // namespace berth::agent::image
