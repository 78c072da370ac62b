// The guest agent's image store: the API the Docker endpoints call. Pull from registries,
// list/inspect/tag/remove/prune, docker-archive and OCI-layout load/save, history, disk usage,
// and container rootfs creation.
//
// On disk under the state root:
//   content/blobs/sha256/<hex>   verified blobs (manifests, configs, compressed layers)
//   content/ingest/              partial downloads (resumable) and temp files
//   snapshots/<chain-hex>/fs     unpacked layers shared by every image using them
//   images.json                  the index: images and the references pointing at them
//   containers/<id>/             per-container upper/work/rootfs (rootfs.h)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "berth/common/result.h"
#include "content_store.h"
#include "image_config.h"
#include "image_index.h"
#include "platform.h"
#include "reference.h"
#include "registry_client.h"
#include "rootfs.h"
#include "snapshots.h"

namespace berth::agent::image {

struct StoreOptions {
  std::string state_root;  // e.g. /var/lib/berth
  RegistryConfig registry;
  int max_concurrent_downloads = 3;
  RootfsOptions rootfs;
};

// One line of pull/load progress, shaped like Docker's JSON progress messages: `id` is the
// short layer id (or the tag for the "Pulling from" line, or empty), `status` one of
// "Pulling from <repo>", "Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum",
// "Download complete", "Extracting", "Pull complete", "Already exists", "Digest: …",
// "Status: …". current/total are set (>= 0) for Downloading and Extracting.
struct ProgressEvent {
  std::string id;
  std::string status;
  int64_t current = -1;
  int64_t total = -1;
};
// Called from one thread at a time (the store serialises calls).
using ProgressFn = std::function<void(const ProgressEvent&)>;

struct PullOptions {
  std::optional<Platform> platform;  // default: the agent's own
};

struct LayerInfo {
  std::string digest;
  std::string media_type;
  int64_t size = 0;           // compressed
  std::string diff_id;
  std::string chain_id;
  uint64_t unpacked_size = 0;
};

struct ImageRecord {
  std::string id;                          // "sha256:<config digest hex>"
  std::vector<std::string> repo_tags;      // familiar: "busybox:latest"
  std::vector<std::string> repo_digests;   // familiar: "busybox@sha256:…"
  std::string manifest_digest;
  std::string index_digest;
  std::string manifest_media_type;
  Platform platform;
  int64_t size = 0;                        // unpacked, as Docker's Size
  int64_t created = 0;                     // unix seconds, from the config
  int64_t added = 0;
  std::vector<LayerInfo> layers;
  ImageConfig config;
};

// A container using an image, reported by the container manager.
struct ImageUse {
  std::string container_id;
  bool running = false;
};
using InUseFn = std::function<std::optional<ImageUse>(const std::string& image_id)>;

// Docker's ImageDeleteResponseItem: exactly one of the two is set.
struct DeleteItem {
  std::string untagged;
  std::string deleted;
};

// What one `rmi` did to one image: Docker's items (Untagged: …, then Deleted: the image id,
// then the chain ids of the layers that went with it, top layer first).
struct RemoveReport {
  std::string id;  // the image concerned
  std::vector<DeleteItem> items;
  bool deleted = false;  // false: references were only removed
};

struct PruneOptions {
  // dockerd's default: only images without a tag (untagged, or known only by digest).
  // false: every image no container uses.
  bool dangling_only = true;
  // Further selection (label, label!, until filters); empty selects every candidate.
  std::function<bool(const ImageRecord&)> match;
};

struct PruneReport {
  std::vector<RemoveReport> removed;  // per image, for events
  std::vector<DeleteItem> items;      // all of them, in order (ImagesDeleted)
  uint64_t space_reclaimed = 0;       // bytes of blobs and snapshots freed
};

// Digest of the registry's manifest (or index) for a reference and the platforms it offers:
// GET /distribution/{name}/json.
struct DistributionInfo {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::vector<Platform> platforms;
};

struct HistoryEntry {
  std::string id;  // image id for the top entry, "<missing>" below it (as Docker shows)
  int64_t created = 0;
  std::string created_by;
  std::vector<std::string> tags;
  int64_t size = 0;
  std::string comment;
};

struct DiskUsage {
  struct Image {
    std::string id;
    std::vector<std::string> repo_tags;
    int64_t size = 0;
    int64_t shared_size = 0;  // in snapshots other images use too
    int64_t unique_size = 0;
  };
  uint64_t layers_size = 0;   // all snapshots
  uint64_t content_size = 0;  // all blobs
  std::vector<Image> images;
};

struct LoadResult {
  std::vector<std::string> loaded_tags;  // familiar references: "Loaded image: …"
  std::vector<std::string> loaded_ids;   // untagged images: "Loaded image ID: …"
};

// Supplies the next bytes of an input stream; 0 at the end.
using ReadFn = std::function<Result<size_t>(void* buf, size_t size)>;
// Takes the next bytes of an output stream.
using WriteFn = std::function<Status(const void* data, size_t size)>;

class ImageStore {
 public:
  static Result<std::unique_ptr<ImageStore>> open(StoreOptions options);
  ~ImageStore();

  Result<ImageRecord> pull(const std::string& reference, const RegistryAuth& auth, const ProgressFn& progress = {},
                           const PullOptions& options = {});
  // Newest first. `dangling_only` keeps images no tag points at.
  Result<std::vector<ImageRecord>> list(bool dangling_only = false);
  // By full or short id, name[:tag], or name@digest. Errc::not_found: "No such image: …".
  Result<ImageRecord> inspect(const std::string& ref_or_id);
  // Points `new_reference` (normalised, ":latest" added) at the image `source` names, moving
  // it off any other image. Returns the image id.
  Result<std::string> tag(const std::string& source, const std::string& new_reference);
  // dockerd's `rmi` rules (image_store_ops.cpp): a name untags, and deletes when it was the
  // last reference; the last name of an image a container uses needs `force`, and a running
  // container keeps the image (untagged) even then. An id deletes, which needs `force` when
  // several repositories reference it or a stopped container uses it, and is refused while
  // one runs. Unreferenced blobs and snapshots are collected afterwards.
  Result<RemoveReport> remove(const std::string& ref_or_id, bool force, const InUseFn& in_use = {});
  // Deletes images no container uses: dangling ones (no tag), or all with dangling_only
  // false; then collects garbage.
  Result<PruneReport> prune(const PruneOptions& options, const InUseFn& in_use = {});
  Result<PruneReport> prune(bool dangling_only, const InUseFn& in_use = {}) {
    return prune(PruneOptions{dangling_only, {}}, in_use);
  }
  // No tag points at the image (digest references alone leave it dangling, as in dockerd).
  bool is_dangling(const std::string& id);
  // Asks the registry for the manifest (or index) of `reference` without pulling it.
  Result<DistributionInfo> distribution(const std::string& reference, const RegistryAuth& auth);
  // docker-archive (manifest.json) or OCI image layout, optionally compressed.
  Result<LoadResult> load(const ReadFn& read, const ProgressFn& progress = {});
  Result<LoadResult> load_fd(int fd, const ProgressFn& progress = {});
  // docker-archive with an OCI layout alongside (as `docker save` since 25 writes it), plus
  // the legacy `repositories` file. Names without a tag save every tag of that repository.
  // Every name is resolved before the first byte is written. Returns the saved image ids.
  Result<std::vector<std::string>> save(const std::vector<std::string>& refs, const WriteFn& write);
  Result<std::vector<std::string>> save_fd(const std::vector<std::string>& refs, int fd);
  Result<std::vector<HistoryEntry>> history(const std::string& ref_or_id);
  Result<DiskUsage> disk_usage();

  // Snapshot directories of an image, bottom layer first.
  Result<std::vector<std::string>> layer_dirs(const std::string& ref_or_id);
  // Mounts the rootfs of container `container_id` from an image (rootfs.h).
  Result<Rootfs> create_rootfs(const std::string& ref_or_id, const std::string& container_id);
  // Deletes blobs and snapshots no image, container or in-flight operation uses. Returns
  // the bytes freed.
  Result<uint64_t> collect_garbage();

  const std::string& state_root() const { return options_.state_root; }
  ContentStore& content() { return *content_; }
  SnapshotStore& snapshots() { return *snapshots_; }

 private:
  friend class Puller;
  friend class ArchiveLoader;
  friend class ArchiveSaver;

  // Keeps blobs and snapshots of an in-flight pull or load away from garbage collection.
  class Lease {
   public:
    explicit Lease(ImageStore& store) : store_(store) {}
    ~Lease();
    void blob(const std::string& digest);
    void snapshot(const std::string& chain_id);
    // For operations that learn digests only after writing (load): GC deletes nothing
    // while such a lease is held.
    void pin_all();

   private:
    ImageStore& store_;
    bool pinned_all_ = false;
    std::vector<std::string> blobs_;
    std::vector<std::string> snapshots_;
  };

  struct Resolved {
    std::string id;
    std::optional<Reference> ref;  // set when found by reference
  };

  explicit ImageStore(StoreOptions options);
  std::string index_path() const { return options_.state_root + "/images.json"; }
  // Callers hold mu_.
  Result<Resolved> resolve_locked(const std::string& ref_or_id) const;
  Result<ImageRecord> record_locked(const ImageEntry& entry);
  Result<ImageConfig> config_of(const std::string& id);
  // Adds (or updates) an image and points `refs` at it, moving them off other images.
  Result<ImageRecord> register_image(ImageEntry entry, const std::vector<Reference>& refs);
  Result<uint64_t> collect_garbage_locked();
  bool is_dangling_locked(const std::string& id) const;
  // Chain ids of an image's layers, top first (the order dockerd reports deleted layers in).
  std::vector<std::string> chains_top_first_locked(const std::string& id) const;
  // After garbage collection: a Deleted item for each of `chains` whose snapshot is gone.
  void report_removed_layers(RemoveReport& report, const std::vector<std::string>& chains,
                             std::set<std::string>& reported) const;
  void emit(const ProgressFn& progress, ProgressEvent ev);

  StoreOptions options_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<SnapshotStore> snapshots_;
  std::unique_ptr<RegistryClient> registry_;

  std::mutex mu_;  // index_, config cache, leases
  ImageIndex index_;
  std::map<std::string, ImageConfig> configs_;
  std::multiset<std::string> leased_blobs_;
  std::multiset<std::string> leased_snapshots_;
  int pinned_all_ = 0;
  std::mutex progress_mu_;
};

}  // namespace berth::agent::image
