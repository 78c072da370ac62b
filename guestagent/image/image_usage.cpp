// ImageStore::history and ::disk_usage: what `docker history` and `docker system df` show.
#include <algorithm>
#include <set>

#include "image_store.h"

namespace berth::agent::image {

// dockerd's ImageHistory: one entry per config history item, newest first; layers are
// matched to the items that are not empty_layer, in order; only the top entry carries the
// image id and its tags, the rest are "<missing>" (their own images are unknown here).
Result<std::vector<HistoryEntry>> ImageStore::history(const std::string& ref_or_id) {
  std::lock_guard lock(mu_);
  auto r = BERTH_TRY(resolve_locked(ref_or_id));
  auto record = BERTH_TRY(record_locked(index_.images.at(r.id)));
  std::vector<HistoryEntry> out;
  size_t layer = 0;
  for (const auto& h : record.config.history) {
    HistoryEntry e;
    e.id = "<missing>";
    e.created = parse_config_time(h.created);
    e.created_by = h.created_by;
    e.comment = h.comment;
    if (!h.empty_layer) {
      if (layer >= record.layers.size())
        return make_error(Errc::internal, "too many non-empty layers in History section");
      e.size = static_cast<int64_t>(record.layers[layer++].unpacked_size);
    }
    out.push_back(std::move(e));
  }
  std::reverse(out.begin(), out.end());
  if (!out.empty()) {
    out.front().id = record.id;
    out.front().tags = record.repo_tags;
  }
  return out;
}

Result<DiskUsage> ImageStore::disk_usage() {
  std::lock_guard lock(mu_);
  DiskUsage du;
  std::map<std::string, int> users;
  for (const auto& [id, e] : index_.images) {
    std::set<std::string> chains;
    for (const auto& l : e.layers) chains.insert(l.chain_id);
    for (const auto& c : chains) ++users[c];
  }
  std::map<std::string, uint64_t> sizes;
  for (const auto& chain : BERTH_TRY(snapshots_->list())) {
    uint64_t s = snapshots_->info(chain).transform([](const SnapshotInfo& i) { return i.size; }).value_or(0);
    sizes[chain] = s;
    du.layers_size += s;
  }
  du.content_size = BERTH_TRY(content_->disk_usage());
  for (const auto& [id, e] : index_.images) {
    DiskUsage::Image img;
    img.id = id;
    for (const auto& ref_text : index_.refs_of(id))
      if (auto o = parse_reference(ref_text); o && !o->has_digest()) img.repo_tags.push_back(o->familiar());
    std::set<std::string> seen;
    for (const auto& l : e.layers) {
      if (!seen.insert(l.chain_id).second) continue;
      int64_t s = static_cast<int64_t>(sizes[l.chain_id]);
      img.size += s;
      if (users[l.chain_id] > 1) img.shared_size += s;
    }
    img.unique_size = img.size - img.shared_size;
    du.images.push_back(std::move(img));
  }
  return du;
}

}  // namespace berth::agent::image
