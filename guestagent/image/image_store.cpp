#include "image_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <set>

#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "digest.h"
#include "safe_fs.h"

namespace berth::agent::image {

namespace {

// RFC 3339 ("2024-01-02T03:04:05.123456789Z", "+01:00" offsets) to unix seconds; 0 if unreadable.
int64_t parse_time(const std::string& s) {
  struct tm tm {};
  const char* rest = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  int64_t t = static_cast<int64_t>(::timegm(&tm));
  if (*rest == '.')
    while (*++rest >= '0' && *rest <= '9') {
    }
  if ((*rest == '+' || *rest == '-') && std::strlen(rest) >= 6) {
    int sign = *rest == '+' ? 1 : -1;
    int hh = (rest[1] - '0') * 10 + (rest[2] - '0');
    int mm = (rest[4] - '0') * 10 + (rest[5] - '0');
    t -= sign * (hh * 3600 + mm * 60);
  }
  return t;
}

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string shorten(const std::string& id) { return short_id(id); }

// One tag plus digest references of that same repository still count as a single name
// (Docker's isSingleReference): removing it would leave the image without a usable name.
bool is_single_reference(const std::vector<std::string>& refs) {
  if (refs.size() <= 1) return refs.size() == 1;
  std::optional<Reference> tag;
  std::set<std::string> digest_names;
  for (const auto& text : refs) {
    auto r = parse_reference(text);
    if (!r) continue;
    if (r->has_digest()) {
      digest_names.insert(r->name());
    } else if (!tag) {
      tag = *r;
    } else {
      return false;
    }
  }
  if (!tag) return digest_names.size() == 1;
  return digest_names.size() == 1 && digest_names.count(tag->name());
}

auto no_such_image(const std::string& what) { return make_error(Errc::not_found, "No such image: " + what); }

}  // namespace

// ---- lifecycle -------------------------------------------------------------------------

ImageStore::ImageStore(StoreOptions options) : options_(std::move(options)) {}
ImageStore::~ImageStore() = default;

Result<std::unique_ptr<ImageStore>> ImageStore::open(StoreOptions options) {
  if (options.state_root.empty()) return make_error(Errc::invalid_argument, "image store: state root not set");
  std::unique_ptr<ImageStore> store(new ImageStore(std::move(options)));
  const std::string& root = store->options_.state_root;
  BERTH_TRY(safefs::ensure_dir(root, 0711));
  store->content_ = BERTH_TRY(ContentStore::open(root + "/content"));
  store->snapshots_ = BERTH_TRY(SnapshotStore::open(root + "/snapshots"));
  store->registry_ = std::make_unique<RegistryClient>(store->options_.registry);
  store->index_ = BERTH_TRY(ImageIndex::load(store->index_path()));
  // An image whose blobs or snapshots vanished (disk trouble, manual deletion) cannot be used;
  // say so now instead of failing a container start later.
  for (const auto& [id, e] : store->index_.images) {
    bool whole = store->content_->has(e.manifest_digest) && store->content_->has(id);
    for (const auto& l : e.layers) whole = whole && store->snapshots_->has(l.chain_id);
    if (!whole) log::get("agent")->warn("image {}: some of its content is missing; pull it again", shorten(id));
  }
  return store;
}

ImageStore::Lease::~Lease() {
  std::lock_guard lock(store_.mu_);
  for (const auto& b : blobs_)
    if (auto it = store_.leased_blobs_.find(b); it != store_.leased_blobs_.end()) store_.leased_blobs_.erase(it);
  for (const auto& s : snapshots_)
    if (auto it = store_.leased_snapshots_.find(s); it != store_.leased_snapshots_.end()) store_.leased_snapshots_.erase(it);
  if (pinned_all_) --store_.pinned_all_;
}

void ImageStore::Lease::blob(const std::string& digest) {
  std::lock_guard lock(store_.mu_);
  store_.leased_blobs_.insert(digest);
  blobs_.push_back(digest);
}

void ImageStore::Lease::snapshot(const std::string& chain_id) {
  std::lock_guard lock(store_.mu_);
  store_.leased_snapshots_.insert(chain_id);
  snapshots_.push_back(chain_id);
}

void ImageStore::Lease::pin_all() {
  std::lock_guard lock(store_.mu_);
  if (!pinned_all_) ++store_.pinned_all_;
  pinned_all_ = true;
}

void ImageStore::emit(const ProgressFn& progress, ProgressEvent ev) {
  if (!progress) return;
  std::lock_guard lock(progress_mu_);
  progress(ev);
}

// ---- lookups ---------------------------------------------------------------------------

Result<ImageStore::Resolved> ImageStore::resolve_locked(const std::string& text) const {
  if (text.empty()) return no_such_image(text);
  if (text.starts_with("sha256:") && is_digest(text)) {
    if (index_.images.count(text)) return Resolved{text, std::nullopt};
    return no_such_image(text);
  }
  if (text.size() == 64 && is_hex(text)) {
    std::string id = "sha256:" + text;
    if (index_.images.count(id)) return Resolved{id, std::nullopt};
  }
  if (auto ref = parse_reference(text)) {
    if (auto it = index_.refs.find(ref->string()); it != index_.refs.end()) return Resolved{it->second, *ref};
  }
  std::string_view prefix = text;
  if (prefix.starts_with("sha256:")) prefix.remove_prefix(7);
  if (is_hex(prefix)) {
    std::string found;
    for (const auto& [id, e] : index_.images) {
      if (!digest_hex(id).starts_with(prefix)) continue;
      if (!found.empty()) return make_error(Errc::invalid_argument, "image id prefix \"" + text + "\" is ambiguous");
      found = id;
    }
    if (!found.empty()) return Resolved{found, std::nullopt};
  }
  return no_such_image(text);
}

Result<ImageConfig> ImageStore::config_of(const std::string& id) {
  if (auto it = configs_.find(id); it != configs_.end()) return it->second;
  auto text = BERTH_TRY(content_->read(id));
  auto config = BERTH_TRY(parse_image_config(text));
  configs_[id] = config;
  return config;
}

Result<ImageRecord> ImageStore::record_locked(const ImageEntry& e) {
  ImageRecord r;
  r.id = e.id;
  r.manifest_digest = e.manifest_digest;
  r.index_digest = e.index_digest;
  r.manifest_media_type = e.manifest_media_type;
  r.platform = e.platform;
  r.added = e.added;
  for (const auto& ref_text : index_.refs_of(e.id)) {
    auto ref = parse_reference(ref_text);
    if (!ref) continue;
    if (ref->has_digest()) r.repo_digests.push_back(ref->familiar());
    else r.repo_tags.push_back(ref->familiar());
  }
  for (const auto& l : e.layers) {
    LayerInfo li{l.digest, l.media_type, l.size, l.diff_id, l.chain_id, 0};
    if (auto info = snapshots_->info(l.chain_id)) li.unpacked_size = info->size;
    r.size += static_cast<int64_t>(li.unpacked_size);
    r.layers.push_back(std::move(li));
  }
  r.config = BERTH_TRY(config_of(e.id));
  r.created = parse_time(r.config.created);
  return r;
}

Result<std::vector<ImageRecord>> ImageStore::list(bool dangling_only) {
  std::lock_guard lock(mu_);
  std::vector<ImageRecord> out;
  for (const auto& [id, e] : index_.images) {
    if (dangling_only && !index_.refs_of(id).empty()) continue;
    auto r = record_locked(e);
    if (!r) {
      log::get("agent")->warn("image {}: {}", shorten(id), r.error().what());
      continue;
    }
    out.push_back(std::move(*r));
  }
  std::stable_sort(out.begin(), out.end(), [](const ImageRecord& a, const ImageRecord& b) {
    return a.created > b.created;
  });
  return out;
}

Result<ImageRecord> ImageStore::inspect(const std::string& ref_or_id) {
  std::lock_guard lock(mu_);
  auto r = BERTH_TRY(resolve_locked(ref_or_id));
  return record_locked(index_.images.at(r.id));
}

Result<std::vector<std::string>> ImageStore::layer_dirs(const std::string& ref_or_id) {
  std::lock_guard lock(mu_);
  auto r = BERTH_TRY(resolve_locked(ref_or_id));
  std::vector<std::string> dirs;
  for (const auto& l : index_.images.at(r.id).layers) {
    if (!snapshots_->has(l.chain_id))
      return make_error(Errc::not_found, "image " + shorten(r.id) + " is missing layer " + l.chain_id + "; pull it again");
    dirs.push_back(snapshots_->fs_path(l.chain_id));
  }
  return dirs;
}

Result<Rootfs> ImageStore::create_rootfs(const std::string& ref_or_id, const std::string& container_id) {
  auto dirs = BERTH_TRY(layer_dirs(ref_or_id));
  return mount_rootfs(options_.state_root, container_id, dirs, options_.rootfs);
}

// ---- references ------------------------------------------------------------------------

Result<ImageRecord> ImageStore::register_image(ImageEntry entry, const std::vector<Reference>& refs) {
  std::lock_guard lock(mu_);
  if (auto it = index_.images.find(entry.id); it != index_.images.end()) {
    // The same image again (a load of a saved copy, another compression of its layers): the
    // entry already on record wins while it is whole, so its content keeps being used and
    // the duplicate blobs become garbage.
    const ImageEntry& old = it->second;
    bool whole = content_->has(old.manifest_digest);
    for (const auto& l : old.layers) whole = whole && content_->has(l.digest) && snapshots_->has(l.chain_id);
    if (whole) entry = old;
    else entry.added = old.added;
  }
  index_.images[entry.id] = entry;
  for (const auto& ref : refs) index_.refs[ref.string()] = entry.id;
  BERTH_TRY(index_.save(index_path()));
  return record_locked(index_.images.at(entry.id));
}

Status ImageStore::tag(const std::string& source, const std::string& new_reference) {
  auto ref = BERTH_TRY(parse_reference(new_reference));
  if (ref.has_digest()) return make_error(Errc::invalid_argument, "refusing to create a tag with a digest reference");
  std::lock_guard lock(mu_);
  auto r = BERTH_TRY(resolve_locked(source));
  index_.refs[ref.string()] = r.id;
  return index_.save(index_path());
}

Result<std::vector<DeleteItem>> ImageStore::remove(const std::string& ref_or_id, bool force, const InUseFn& in_use) {
  std::vector<DeleteItem> items;
  {
    std::lock_guard lock(mu_);
    auto r = BERTH_TRY(resolve_locked(ref_or_id));
    const std::string id = r.id;
    auto use = in_use ? in_use(id) : std::nullopt;
    auto refs = index_.refs_of(id);

    if (r.ref) {
      if (!force && use && is_single_reference(refs))
        return make_error(Errc::conflict, "conflict: unable to remove repository reference \"" + ref_or_id +
                                              "\" (must force) - container " + shorten(use->container_id) +
                                              " is using its referenced image " + shorten(id));
      index_.refs.erase(r.ref->string());
      items.push_back({r.ref->familiar(), {}});
      // Without a tag left in that repository its digest references would only keep the
      // image alive invisibly; Docker drops them too.
      if (!r.ref->has_digest()) {
        bool tag_left = false;
        std::vector<Reference> digests;
        for (const auto& other : index_.refs_of(id)) {
          auto o = parse_reference(other);
          if (!o || o->name() != r.ref->name()) continue;
          if (o->has_digest()) digests.push_back(*o);
          else tag_left = true;
        }
        if (!tag_left)
          for (const auto& d : digests) {
            index_.refs.erase(d.string());
            items.push_back({d.familiar(), {}});
          }
      }
      if (!index_.refs_of(id).empty() || use) {
        BERTH_TRY(index_.save(index_path()));
        return items;
      }
    } else {
      if (refs.size() > 1 && !force && !is_single_reference(refs))
        return make_error(Errc::conflict, "conflict: unable to delete " + shorten(id) +
                                              " (must be forced) - image is referenced in multiple repositories");
      if (use && use->running)
        return make_error(Errc::conflict, "conflict: unable to delete " + shorten(id) +
                                              " (cannot be forced) - image is being used by running container " +
                                              shorten(use->container_id));
      if (use && !force)
        return make_error(Errc::conflict, "conflict: unable to delete " + shorten(id) +
                                              " (must be forced) - image is being used by stopped container " +
                                              shorten(use->container_id));
      for (const auto& ref_text : refs) {
        index_.refs.erase(ref_text);
        if (auto o = parse_reference(ref_text)) items.push_back({o->familiar(), {}});
      }
    }
    index_.images.erase(id);
    configs_.erase(id);
    items.push_back({{}, id});
    BERTH_TRY(index_.save(index_path()));
  }
  if (auto gc = collect_garbage(); !gc) log::get("agent")->warn("image gc after removal: {}", gc.error().what());
  return items;
}

Result<PruneReport> ImageStore::prune(bool dangling_only, const InUseFn& in_use) {
  PruneReport report;
  {
    std::lock_guard lock(mu_);
    std::vector<std::string> victims;
    for (const auto& [id, e] : index_.images) {
      auto refs = index_.refs_of(id);
      if (dangling_only && !refs.empty()) continue;
      if (in_use && in_use(id)) continue;
      victims.push_back(id);
    }
    for (const auto& id : victims) {
      for (const auto& ref_text : index_.refs_of(id)) {
        index_.refs.erase(ref_text);
        if (auto o = parse_reference(ref_text)) report.items.push_back({o->familiar(), {}});
      }
      index_.images.erase(id);
      configs_.erase(id);
      report.items.push_back({{}, id});
    }
    if (!victims.empty()) BERTH_TRY(index_.save(index_path()));
    (void)content_->remove_stale_ingests();
  }
  report.space_reclaimed = BERTH_TRY(collect_garbage());
  return report;
}

// ---- garbage collection ------------------------------------------------------------------

Result<uint64_t> ImageStore::collect_garbage() {
  std::lock_guard lock(mu_);
  return collect_garbage_locked();
}

Result<uint64_t> ImageStore::collect_garbage_locked() {
  if (pinned_all_ > 0) {
    log::get("agent")->debug("image gc: skipped while a load is in progress");
    return uint64_t{0};
  }
  std::set<std::string> blobs(leased_blobs_.begin(), leased_blobs_.end());
  std::set<std::string> snaps(leased_snapshots_.begin(), leased_snapshots_.end());
  for (const auto& [id, e] : index_.images) {
    blobs.insert(id);
    blobs.insert(e.manifest_digest);
    if (!e.index_digest.empty()) blobs.insert(e.index_digest);
    for (const auto& l : e.layers) {
      blobs.insert(l.digest);
      snaps.insert(l.chain_id);
    }
  }
  // Containers keep their snapshots even after a forced image removal.
  std::set<std::string> dirs_in_use;
  for (auto& d : BERTH_TRY(rootfs_layer_dirs_in_use(options_.state_root))) dirs_in_use.insert(std::move(d));

  uint64_t freed = 0;
  for (const auto& digest : BERTH_TRY(content_->list())) {
    if (blobs.count(digest)) continue;
    auto size = content_->size(digest);
    if (content_->remove(digest) && size) freed += static_cast<uint64_t>(*size);
  }
  for (const auto& chain : BERTH_TRY(snapshots_->list())) {
    if (snaps.count(chain) || dirs_in_use.count(snapshots_->fs_path(chain))) continue;
    auto info = snapshots_->info(chain);
    if (auto st = snapshots_->remove(chain); !st) {
      log::get("agent")->warn("image gc: snapshot {}: {}", chain, st.error().what());
      continue;
    }
    if (info) freed += info->size;
    log::get("agent")->debug("image gc: removed snapshot {}", chain);
  }
  return freed;
}

// ---- history and usage -------------------------------------------------------------------

Result<std::vector<HistoryEntry>> ImageStore::history(const std::string& ref_or_id) {
  std::lock_guard lock(mu_);
  auto r = BERTH_TRY(resolve_locked(ref_or_id));
  auto record = BERTH_TRY(record_locked(index_.images.at(r.id)));
  std::vector<HistoryEntry> out;
  size_t layer = 0;
  for (const auto& h : record.config.history) {
    HistoryEntry e;
    e.id = "<missing>";
    e.created = parse_time(h.created);
    e.created_by = h.created_by;
    e.comment = h.comment;
    if (!h.empty_layer && layer < record.layers.size()) e.size = static_cast<int64_t>(record.layers[layer++].unpacked_size);
    out.push_back(std::move(e));
  }
  if (out.empty()) {
    // Images built without history still show one line per layer.
    for (const auto& l : record.layers) {
      HistoryEntry e;
      e.id = "<missing>";
      e.created = parse_time(record.config.created);
      e.size = static_cast<int64_t>(l.unpacked_size);
      out.push_back(std::move(e));
    }
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
