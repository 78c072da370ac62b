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

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string shorten(const std::string& id) { return short_id(id); }

// dockerd's ErrImageDoesNotExist: the reference as the user meant it ("nope" → "nope:latest"),
// or the reference's own error when the text is none (a 400, as dockerd answers).
tl::unexpected<Error> no_such_image(const std::string& text) {
  std::string_view hex = text;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  if (hex.size() == 64 && is_hex(hex)) return make_error(Errc::not_found, "No such image: sha256:" + std::string(hex));
  auto ref = parse_reference(text);
  if (!ref) return tl::unexpected(ref.error());
  return make_error(Errc::not_found, "No such image: " + ref->familiar());
}

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
  r.created = parse_config_time(r.config.created);
  return r;
}

Result<std::vector<ImageRecord>> ImageStore::list(bool dangling_only) {
  std::lock_guard lock(mu_);
  std::vector<ImageRecord> out;
  for (const auto& [id, e] : index_.images) {
    if (dangling_only && !is_dangling_locked(id)) continue;
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

}  // namespace berth::agent::image
