// ImageStore::pull: resolve the manifest for the platform, download missing blobs in
// parallel (each layer once), unpack them in order into shared snapshots, then record the
// image. Nothing is referenced from the index until every piece is verified on disk.
#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include "berth/common/log.h"
#include "digest.h"
#include "image_store.h"

namespace berth::agent::image {

namespace {

struct LayerJob {
  Descriptor desc;
  std::string id;  // short id shown in progress
  bool present = false;
  bool done = false;
  std::optional<Error> error;
};

}  // namespace

class Puller {
 public:
  Puller(ImageStore& store, const RegistryAuth& auth, const ProgressFn& progress)
      : store_(store), auth_(auth), progress_(progress), lease_(store) {}

  Result<ImageRecord> run(const std::string& text, const PullOptions& options) {
    auto ref = BERTH_TRY(parse_reference(text));
    Platform want = options.platform ? normalize(*options.platform) : host_platform();
    auto log = log::get("agent");
    log->info("image pull {} for {}", ref.string(), want.string());
    store_.emit(progress_, {ref.has_tag() ? ref.tag : ref.digest, "Pulling from " + ref.path, -1, -1});

    auto top = BERTH_TRY(store_.registry_->fetch_manifest(ref, auth_, ref.manifest_reference()));
    lease_.blob(top.digest);
    BERTH_TRY(store_.content_->put(top.body, top.digest));

    FetchedManifest chosen = top;
    std::string index_digest;
    if (BERTH_TRY(is_index_document(top.body, top.media_type))) {
      index_digest = top.digest;
      auto idx = BERTH_TRY(parse_index(top.body, top.media_type));
      std::vector<Platform> platforms;
      std::vector<const Descriptor*> candidates;
      for (const auto& d : idx.manifests) {
        // Attestations and other non-image entries carry "unknown/unknown" or no platform.
        if (!d.platform || d.platform->os == "unknown" || !is_manifest_media_type(d.media_type.empty() ? std::string(media_type::kOciManifest) : d.media_type))
          continue;
        platforms.push_back(*d.platform);
        candidates.push_back(&d);
      }
      int pick = select_platform(want, platforms);
      if (pick < 0) {
        std::string available;
        for (const auto& p : platforms) available += (available.empty() ? "" : ", ") + normalize(p).string();
        return make_error(Errc::not_found, "no matching manifest for " + want.string() +
                                               " in the manifest list entries (available: " +
                                               (available.empty() ? "none" : available) + ")");
      }
      const Descriptor& d = *candidates[static_cast<size_t>(pick)];
      chosen = BERTH_TRY(store_.registry_->fetch_manifest(ref, auth_, d.digest));
      lease_.blob(chosen.digest);
      BERTH_TRY(store_.content_->put(chosen.body, chosen.digest));
    }
    auto manifest = BERTH_TRY(parse_manifest(chosen.body, chosen.media_type));

    // The config is small; it decides the diff ids every layer is checked against.
    lease_.blob(manifest.config.digest);
    if (!store_.content_->has(manifest.config.digest)) {
      auto w = BERTH_TRY(store_.content_->writer(manifest.config.digest, manifest.config.size));
      BERTH_TRY(store_.registry_->fetch_blob(ref, auth_, manifest.config, *w));
    }
    auto config_text = BERTH_TRY(store_.content_->read(manifest.config.digest));
    auto config = BERTH_TRY(parse_image_config(config_text));
    if (config.diff_ids.size() != manifest.layers.size())
      return make_error(Errc::protocol, "image " + ref.familiar() + " is inconsistent: its config lists " +
                                            std::to_string(config.diff_ids.size()) + " layers, its manifest " +
                                            std::to_string(manifest.layers.size()));
    Platform have = normalize({config.os, config.architecture, config.variant, config.os_version});
    if (index_digest.empty() && !platform_matches(want, have)) {
      std::string msg = "image with reference " + ref.familiar() + " was found but does not match the specified platform: wanted " +
                        want.string() + ", actual: " + have.string();
      if (options.platform) return make_error(Errc::not_found, msg);
      log->warn("{}", msg);
    }
    for (const auto& l : manifest.layers) {
      if (l.media_type == media_type::kDockerForeignLayer || !l.urls.empty())
        return make_error(Errc::unsupported, "image " + ref.familiar() + " has a foreign layer " + l.digest + " (Windows image?)");
      if (!l.media_type.empty() && !is_layer_media_type(l.media_type))
        return make_error(Errc::unsupported, "image " + ref.familiar() + " has a layer of unsupported type " + l.media_type);
    }

    auto chains = chain_ids(config.diff_ids);
    for (size_t i = 0; i < chains.size(); ++i) {
      lease_.snapshot(chains[i]);
      lease_.blob(manifest.layers[i].digest);
    }
    BERTH_TRY(fetch_and_unpack(ref, manifest, config, chains));

    ImageEntry entry;
    entry.id = manifest.config.digest;
    entry.manifest_digest = chosen.digest;
    entry.index_digest = index_digest;
    entry.manifest_media_type = manifest.media_type;
    entry.config_media_type = manifest.config.media_type;
    entry.platform = have;
    entry.added = static_cast<int64_t>(std::time(nullptr));
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
      const auto& l = manifest.layers[i];
      entry.layers.push_back({l.digest, l.media_type, l.size, config.diff_ids[i], chains[i]});
    }
    std::vector<Reference> refs;
    refs.push_back(ref);
    if (ref.has_tag()) refs.push_back(ref.with_digest(top.digest));
    bool up_to_date = false;
    {
      std::lock_guard lock(store_.mu_);
      auto it = store_.index_.refs.find(ref.string());
      up_to_date = it != store_.index_.refs.end() && it->second == entry.id;
    }
    auto record = BERTH_TRY(store_.register_image(std::move(entry), refs));
    store_.emit(progress_, {{}, "Digest: " + top.digest, -1, -1});
    store_.emit(progress_, {{}, std::string(up_to_date ? "Status: Image is up to date for " : "Status: Downloaded newer image for ") +
                                    ref.familiar(), -1, -1});
    log->info("image pull {} done: {}", ref.string(), record.id);
    return record;
  }

 private:
  Status fetch_and_unpack(const Reference& ref, const Manifest& manifest, const ImageConfig& config,
                          const std::vector<std::string>& chains) {
    // One download per distinct blob, however many layers share it.
    std::map<std::string, std::shared_ptr<LayerJob>> by_digest;
    std::vector<std::shared_ptr<LayerJob>> per_layer;
    std::deque<std::shared_ptr<LayerJob>> queue;
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
      const auto& d = manifest.layers[i];
      auto& job = by_digest[d.digest];
      if (!job) {
        job = std::make_shared<LayerJob>();
        job->desc = d;
        job->id = short_id(d.digest);
      }
      per_layer.push_back(job);
    }
    std::vector<std::shared_ptr<LayerJob>> order;  // distinct jobs, first appearance first
    std::set<LayerJob*> needed;
    for (size_t i = 0; i < per_layer.size(); ++i) {
      if (std::find(order.begin(), order.end(), per_layer[i]) == order.end()) order.push_back(per_layer[i]);
      if (!store_.snapshots_->has(chains[i])) needed.insert(per_layer[i].get());
    }
    for (auto& job : order) {
      if (!needed.count(job.get())) {
        job->done = true;
        store_.emit(progress_, {job->id, "Already exists", -1, -1});
        continue;
      }
      store_.emit(progress_, {job->id, "Pulling fs layer", -1, -1});
      if (store_.content_->has(job->desc.digest)) {
        job->present = true;
        job->done = true;
        store_.emit(progress_, {job->id, "Download complete", -1, -1});
        continue;
      }
      queue.push_back(job);
    }
    for (size_t i = 0; i < queue.size(); ++i) {
      if (static_cast<int>(i) >= store_.options_.max_concurrent_downloads)
        store_.emit(progress_, {queue[i]->id, "Waiting", -1, -1});
    }

    std::mutex mu;
    std::condition_variable cv;
    std::atomic<bool> abort{false};
    auto worker = [&] {
      for (;;) {
        std::shared_ptr<LayerJob> job;
        {
          std::lock_guard lock(mu);
          if (queue.empty() || abort) return;
          job = queue.front();
          queue.pop_front();
        }
        Status st = download(ref, *job);
        std::lock_guard lock(mu);
        if (!st) job->error = st.error();
        job->done = true;
        cv.notify_all();
      }
    };
    std::vector<std::thread> threads;
    int n = std::clamp(static_cast<int>(queue.size()), 0, std::max(1, store_.options_.max_concurrent_downloads));
    for (int i = 0; i < n; ++i) threads.emplace_back(worker);
    struct Joiner {
      std::vector<std::thread>& t;
      std::atomic<bool>& abort;
      ~Joiner() {
        abort = true;
        for (auto& th : t) th.join();
      }
    } joiner{threads, abort};

    // Unpacked in order so progress reads like Docker's; each snapshot is independent.
    for (size_t i = 0; i < per_layer.size(); ++i) {
      auto& job = per_layer[i];
      if (store_.snapshots_->has(chains[i])) continue;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return job->done; });
        if (job->error) {
          abort = true;
          return tl::unexpected(job->error->context("layer " + job->desc.digest));
        }
      }
      store_.emit(progress_, {job->id, "Extracting", 0, job->desc.size});
      auto fd = BERTH_TRY(store_.content_->open_blob(job->desc.digest));
      auto info = store_.snapshots_->create(chains[i], i ? chains[i - 1] : std::string(), config.diff_ids[i], fd.get());
      if (!info) {
        abort = true;
        return tl::unexpected(info.error().context("layer " + job->desc.digest));
      }
      store_.emit(progress_, {job->id, "Extracting", job->desc.size, job->desc.size});
      store_.emit(progress_, {job->id, "Pull complete", -1, -1});
    }
    return ok();
  }

  Status download(const Reference& ref, LayerJob& job) {
    auto w = BERTH_TRY(store_.content_->writer(job.desc.digest, job.desc.size));
    if (!w->exists()) {
      auto last = std::chrono::steady_clock::time_point{};
      int64_t last_bytes = -1;
      auto progress = [&](int64_t current, int64_t total) {
        auto now = std::chrono::steady_clock::now();
        // Docker's clients redraw per message; a few per second per layer is plenty.
        if (current != total && now - last < std::chrono::milliseconds(100)) return;
        if (current == last_bytes) return;
        last = now;
        last_bytes = current;
        store_.emit(progress_, {job.id, "Downloading", current, total});
      };
      BERTH_TRY(store_.registry_->fetch_blob(ref, auth_, job.desc, *w, progress));
      store_.emit(progress_, {job.id, "Verifying Checksum", -1, -1});
    }
    store_.emit(progress_, {job.id, "Download complete", -1, -1});
    return ok();
  }

  ImageStore& store_;
  const RegistryAuth& auth_;
  const ProgressFn& progress_;
  ImageStore::Lease lease_;
};

Result<ImageRecord> ImageStore::pull(const std::string& reference, const RegistryAuth& auth, const ProgressFn& progress,
                                     const PullOptions& options) {
  Puller puller(*this, auth, progress);
  return puller.run(reference, options);
}

}  // namespace berth::agent::image
