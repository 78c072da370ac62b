// ImageStore::load and ::save: image tarballs in the docker-archive format (manifest.json,
// what `docker save` has always written) and the OCI image layout (index.json, oci-layout).
// Loading never writes archive paths to disk: every file becomes a content-store blob named
// by its digest, and layers are unpacked through the same checked path as pulled ones.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "berth/common/log.h"
#include "decompress.h"
#include "digest.h"
#include "image_store.h"
#include "safe_fs.h"

namespace berth::agent::image {

namespace {

constexpr size_t kBlock = 128 * 1024;

struct ReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

// Lexical normalisation for names inside the archive; ".." may appear in symlink targets
// ("../<id>/layer.tar") but must not climb above the archive root.
std::optional<std::string> normalize_archive_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view c = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (c == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.emplace_back(c);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

std::string layer_media_type(Compression c) {
  switch (c) {
    case Compression::gzip: return std::string(media_type::kOciLayerGzip);
    case Compression::zstd: return std::string(media_type::kOciLayerZstd);
    default: return std::string(media_type::kOciLayer);
  }
}

}  // namespace

// ---- load --------------------------------------------------------------------------------

class ArchiveLoader {
 public:
  ArchiveLoader(ImageStore& store, const ProgressFn& progress) : store_(store), progress_(progress), lease_(store) {
    lease_.pin_all();
  }

  ~ArchiveLoader() {
    // Files of the archive that no image ended up using (legacy json, VERSION files, a
    // failed load's layers) are not worth keeping.
    std::lock_guard lock(store_.mu_);
    std::set<std::string> used;
    for (const auto& [id, e] : store_.index_.images) {
      used.insert(id);
      used.insert(e.manifest_digest);
      if (!e.index_digest.empty()) used.insert(e.index_digest);
      for (const auto& l : e.layers) used.insert(l.digest);
    }
    for (const auto& d : ingested_)
      if (!used.count(d) && !store_.leased_blobs_.count(d)) (void)store_.content_->remove(d);
  }

  Result<LoadResult> run(const ReadFn& read) {
    BERTH_TRY(read_archive(read));
    if (resolve("manifest.json")) return load_docker_archive();
    if (resolve("index.json")) return load_oci_layout();
    return make_error(Errc::invalid_argument,
                      "unrecognised image archive: it has neither manifest.json (docker save) nor index.json (OCI layout)");
  }

 private:
  struct File {
    std::string digest;
    int64_t size = 0;
  };

  struct Source {
    const ReadFn* read = nullptr;
    std::vector<char> buf = std::vector<char>(kBlock);
    std::optional<Error> error;
  };

  static la_ssize_t source_read(struct archive* a, void* client, const void** out) {
    auto* s = static_cast<Source*>(client);
    auto n = (*s->read)(s->buf.data(), s->buf.size());
    if (!n) {
      s->error = n.error();
      archive_set_error(a, EIO, "%s", n.error().message.c_str());
      return -1;
    }
    *out = s->buf.data();
    return static_cast<la_ssize_t>(*n);
  }

  Status read_archive(const ReadFn& read) {
    std::unique_ptr<struct archive, ReadFree> a(archive_read_new());
    if (!a) return make_error(Errc::internal, "archive_read_new failed");
    // `docker load` accepts compressed tarballs too; only built-in filters, no helpers.
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_filter_xz(a.get());
    archive_read_support_filter_bzip2(a.get());
    archive_read_support_format_tar(a.get());
    Source src;
    src.read = &read;
    auto fail = [&](const std::string& what) -> Status {
      if (src.error) return tl::unexpected(*src.error);
      const char* msg = archive_error_string(a.get());
      return make_error(Errc::invalid_argument, what + (msg ? std::string(": ") + msg : std::string()));
    };
    if (archive_read_open(a.get(), &src, nullptr, source_read, nullptr) != ARCHIVE_OK) return fail("not a tar archive");
    std::vector<char> buf(kBlock);
    for (;;) {
      struct archive_entry* e = nullptr;
      int r = archive_read_next_header(a.get(), &e);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return fail("corrupt image archive");
      const char* raw = archive_entry_pathname(e);
      if (!raw) raw = archive_entry_pathname_utf8(e);
      auto path = normalize_archive_path(raw ? raw : "");
      if (!path || path->empty()) continue;
      if (const char* hl = archive_entry_hardlink(e)) {
        if (auto target = normalize_archive_path(hl)) aliases_[*path] = *target;
        continue;
      }
      mode_t type = archive_entry_filetype(e);
      if (type == AE_IFLNK) {
        const char* t = archive_entry_symlink(e);
        if (!t || t[0] == '/') continue;
        auto slash = path->rfind('/');
        std::string base = slash == std::string::npos ? "" : path->substr(0, slash + 1);
        if (auto target = normalize_archive_path(base + t)) aliases_[*path] = *target;
        continue;
      }
      if (type != AE_IFREG) continue;
      auto w = BERTH_TRY(store_.content_->writer());
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0) return fail("read " + *path + " from the image archive");
        if (n == 0) break;
        BERTH_TRY(w->write(buf.data(), static_cast<size_t>(n)));
      }
      int64_t size = w->offset();
      auto digest = BERTH_TRY(w->commit());
      if (!seen_.count(digest)) {
        seen_.insert(digest);
        ingested_.push_back(digest);
      }
      files_[*path] = File{digest, size};
    }
    return ok();
  }

  const File* resolve(std::string path) const {
    for (int hops = 0; hops < 16; ++hops) {
      if (auto it = files_.find(path); it != files_.end()) return &it->second;
      auto alias = aliases_.find(path);
      if (alias == aliases_.end()) return nullptr;
      path = alias->second;
    }
    return nullptr;
  }

  Result<const File*> need(const std::string& path, const std::string& why) const {
    const File* f = resolve(path);
    if (!f) return make_error(Errc::invalid_argument, "image archive: " + why + " \"" + path + "\" is missing");
    return f;
  }

  Result<std::string> small(const std::string& path, const std::string& why) {
    const File* f = BERTH_TRY(need(path, why));
    return store_.content_->read(f->digest);
  }

  // A blob of an OCI layout must hash to the digest its path names.
  Result<const File*> oci_blob(const Descriptor& d) {
    std::string path = "blobs/sha256/" + std::string(digest_hex(d.digest));
    const File* f = BERTH_TRY(need(path, "blob"));
    if (f->digest != d.digest)
      return make_error(Errc::protocol, "image archive: " + path + " does not match its digest (content hashes to " + f->digest + ")");
    return f;
  }

  Result<LoadResult> load_docker_archive() {
    auto text = BERTH_TRY(small("manifest.json", "file"));
    auto doc = BERTH_TRY(parse_json(text, "manifest.json"));
    struct Item {
      std::string config;
      std::vector<std::string> tags;
      std::vector<std::string> layers;
    };
    auto items = BERTH_TRY(json_boundary("manifest.json", [&] {
      std::vector<Item> out;
      const Json& arr = jsonf::get_array(doc, "manifest.json");
      for (size_t i = 0; i < arr.size(); ++i) {
        std::string p = "[" + std::to_string(i) + "]";
        const Json& o = jsonf::get_object(arr[i], p);
        Item item;
        const Json* cfg = jsonf::find(o, "Config");
        if (!cfg) throw JsonFieldError(p + ".Config", "missing");
        item.config = jsonf::get_string(*cfg, p + ".Config");
        item.tags = jsonf::opt_string_array(o, "RepoTags", p + ".RepoTags");
        item.layers = jsonf::opt_string_array(o, "Layers", p + ".Layers");
        out.push_back(std::move(item));
      }
      return out;
    }));
    LoadResult result;
    for (const auto& item : items) {
      auto cfg_path = normalize_archive_path(item.config);
      const File* cfg = BERTH_TRY(need(cfg_path.value_or(item.config), "config"));
      std::vector<Reference> refs;
      for (const auto& t : item.tags) {
        auto ref = parse_reference(t);
        if (!ref) return make_error(Errc::invalid_argument, "manifest.json: RepoTags \"" + t + "\": " + ref.error().message);
        if (ref->has_digest()) continue;
        refs.push_back(*ref);
      }
      Manifest m;
      m.media_type = std::string(media_type::kOciManifest);
      m.config = Descriptor{std::string(media_type::kOciConfig), cfg->digest, cfg->size, std::nullopt, {}, {}};
      for (const auto& lp : item.layers) {
        auto norm = normalize_archive_path(lp);
        const File* f = BERTH_TRY(need(norm.value_or(lp), "layer"));
        auto fd = BERTH_TRY(store_.content_->open_blob(f->digest));
        auto c = BERTH_TRY(detect_compression(fd.get()));
        m.layers.push_back(Descriptor{layer_media_type(c), f->digest, f->size, std::nullopt, {}, {}});
      }
      std::string body = manifest_to_json(m);
      std::string manifest_digest = sha256_digest(body);
      if (!store_.content_->has(manifest_digest)) ingested_.push_back(manifest_digest);
      BERTH_TRY(store_.content_->put(body, manifest_digest));
      auto record = BERTH_TRY(import(m, manifest_digest, {}, refs));
      add_result(result, record, refs);
    }
    return result;
  }

  Result<LoadResult> load_oci_layout() {
    auto text = BERTH_TRY(small("index.json", "file"));
    auto idx = BERTH_TRY(parse_index(text));
    LoadResult result;
    for (const auto& d : idx.manifests) {
      std::vector<Reference> refs;
      std::string name;
      if (auto it = d.annotations.find("io.containerd.image.name"); it != d.annotations.end()) name = it->second;
      else if (auto it2 = d.annotations.find("org.opencontainers.image.ref.name"); it2 != d.annotations.end() &&
                                                                                   it2->second.find_first_of(":/") != std::string::npos)
        name = it2->second;  // a bare tag ("latest") names no repository
      if (!name.empty()) {
        auto ref = parse_reference(name);
        if (!ref) return make_error(Errc::invalid_argument, "index.json: image name \"" + name + "\": " + ref.error().message);
        if (!ref->has_digest()) refs.push_back(*ref);
      }
      Descriptor chosen = d;
      std::string index_digest;
      const File* f = BERTH_TRY(oci_blob(d));
      auto body = BERTH_TRY(store_.content_->read(f->digest));
      if (BERTH_TRY(is_index_document(body, d.media_type))) {
        index_digest = d.digest;
        auto nested = BERTH_TRY(parse_index(body, d.media_type));
        std::vector<Platform> platforms;
        for (const auto& n : nested.manifests) platforms.push_back(n.platform.value_or(Platform{}));
        int pick = select_platform(host_platform(), platforms);
        if (pick < 0) return make_error(Errc::not_found, "image archive has no manifest for " + host_platform().string());
        chosen = nested.manifests[static_cast<size_t>(pick)];
        f = BERTH_TRY(oci_blob(chosen));
        body = BERTH_TRY(store_.content_->read(f->digest));
      }
      auto m = BERTH_TRY(parse_manifest(body, chosen.media_type));
      BERTH_TRY(oci_blob(m.config));
      for (const auto& l : m.layers) BERTH_TRY(oci_blob(l));
      auto record = BERTH_TRY(import(m, chosen.digest, index_digest, refs));
      add_result(result, record, refs);
    }
    return result;
  }

  static void add_result(LoadResult& result, const ImageRecord& record, const std::vector<Reference>& refs) {
    if (refs.empty()) result.loaded_ids.push_back(record.id);
    for (const auto& r : refs) result.loaded_tags.push_back(r.familiar());
  }

  Result<ImageRecord> import(const Manifest& m, const std::string& manifest_digest, const std::string& index_digest,
                             const std::vector<Reference>& refs) {
    auto config_text = BERTH_TRY(store_.content_->read(m.config.digest));
    auto config = BERTH_TRY(parse_image_config(config_text));
    if (config.diff_ids.size() != m.layers.size())
      return make_error(Errc::invalid_argument, "image archive: config " + m.config.digest + " lists " +
                                                    std::to_string(config.diff_ids.size()) + " layers, the manifest " +
                                                    std::to_string(m.layers.size()));
    auto chains = chain_ids(config.diff_ids);
    for (size_t i = 0; i < chains.size(); ++i) {
      std::string id = short_id(m.layers[i].digest);
      if (store_.snapshots_->has(chains[i])) {
        store_.emit(progress_, {id, "Loading layer", m.layers[i].size, m.layers[i].size});
        continue;
      }
      store_.emit(progress_, {id, "Loading layer", 0, m.layers[i].size});
      auto fd = BERTH_TRY(store_.content_->open_blob(m.layers[i].digest));
      auto info = store_.snapshots_->create(chains[i], i ? chains[i - 1] : std::string(), config.diff_ids[i], fd.get());
      if (!info) return tl::unexpected(info.error().context("image archive: layer " + std::to_string(i)));
      store_.emit(progress_, {id, "Loading layer", m.layers[i].size, m.layers[i].size});
    }
    ImageEntry entry;
    entry.id = m.config.digest;
    entry.manifest_digest = manifest_digest;
    entry.index_digest = index_digest;
    entry.manifest_media_type = m.media_type;
    entry.config_media_type = m.config.media_type;
    entry.platform = normalize({config.os, config.architecture, config.variant, config.os_version});
    entry.added = static_cast<int64_t>(std::time(nullptr));
    for (size_t i = 0; i < m.layers.size(); ++i)
      entry.layers.push_back({m.layers[i].digest, m.layers[i].media_type, m.layers[i].size, config.diff_ids[i], chains[i]});
    return store_.register_image(std::move(entry), refs);
  }

  ImageStore& store_;
  const ProgressFn& progress_;
  ImageStore::Lease lease_;
  std::map<std::string, File> files_;
  std::map<std::string, std::string> aliases_;
  std::vector<std::string> ingested_;
  std::set<std::string> seen_;
};

Result<LoadResult> ImageStore::load(const ReadFn& read, const ProgressFn& progress) {
  ArchiveLoader loader(*this, progress);
  return loader.run(read);
}

Result<LoadResult> ImageStore::load_fd(int fd, const ProgressFn& progress) {
  return load(
      [fd](void* buf, size_t size) -> Result<size_t> {
        for (;;) {
          ssize_t n = ::read(fd, buf, size);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) return sys_error("read image archive");
          return static_cast<size_t>(n);
        }
      },
      progress);
}

// ---- save --------------------------------------------------------------------------------

class ArchiveSaver {
 public:
  ArchiveSaver(ImageStore& store, const WriteFn& write) : store_(store), write_(write) {}

  Result<std::vector<std::string>> run(const std::vector<std::string>& names) {
    struct Wanted {
      ImageEntry entry;
      std::vector<Reference> tags;
    };
    std::vector<Wanted> wanted;
    {
      std::lock_guard lock(store_.mu_);
      auto add = [&](const std::string& id, std::optional<Reference> tag) {
        auto it = std::find_if(wanted.begin(), wanted.end(), [&](const Wanted& w) { return w.entry.id == id; });
        if (it == wanted.end()) {
          wanted.push_back({store_.index_.images.at(id), {}});
          it = wanted.end() - 1;
        }
        if (tag && std::find(it->tags.begin(), it->tags.end(), *tag) == it->tags.end()) it->tags.push_back(*tag);
      };
      for (const auto& name : names) {
        // "busybox" (no tag written) means every tag of the repository, as in `docker save`.
        auto named = parse_named(name);
        bool repo_only = named && !named->has_tag() && !named->has_digest() && name.find('@') == std::string::npos;
        bool found = false;
        if (repo_only) {
          for (const auto& [ref_text, id] : store_.index_.refs) {
            auto r = parse_reference(ref_text);
            if (r && r->name() == named->name() && r->has_tag()) {
              add(id, *r);
              found = true;
            }
          }
        }
        if (found) continue;
        auto resolved = BERTH_TRY(store_.resolve_locked(name));
        std::optional<Reference> tag;
        if (resolved.ref && resolved.ref->has_tag()) tag = resolved.ref;
        add(resolved.id, tag);
      }
      for (const auto& w : wanted) {
        lease_blob_locked(w.entry.id);
        for (const auto& l : w.entry.layers) {
          lease_blob_locked(l.digest);
          leased_snaps_.push_back(l.chain_id);
          store_.leased_snapshots_.insert(l.chain_id);
        }
      }
    }

    archive_.reset(archive_write_new());
    if (!archive_) return make_error(Errc::internal, "archive_write_new failed");
    archive_write_set_format_pax_restricted(archive_.get());
    archive_write_set_bytes_in_last_block(archive_.get(), 1);
    if (archive_write_open2(archive_.get(), this, nullptr, sink, nullptr, nullptr) != ARCHIVE_OK)
      return tl::unexpected(failure("open").error());
    BERTH_TRY(add_dir("blobs"));
    BERTH_TRY(add_dir("blobs/sha256"));

    Json manifest_json = Json::array();
    Json repositories = Json::object();  // the legacy `repositories` file: name → tag → top layer
    Index index;
    index.media_type = std::string(media_type::kOciIndex);
    for (const auto& w : wanted) {
      auto config = BERTH_TRY(store_.content_->read(w.entry.id));
      BERTH_TRY(add_blob(w.entry.id, config));
      Manifest m;
      m.media_type = std::string(media_type::kOciManifest);
      m.config = Descriptor{std::string(media_type::kOciConfig), w.entry.id, static_cast<int64_t>(config.size()), std::nullopt, {}, {}};
      Json layer_paths = Json::array();
      for (const auto& l : w.entry.layers) {
        int64_t size = BERTH_TRY(add_layer(l));
        m.layers.push_back(Descriptor{std::string(media_type::kOciLayer), l.diff_id, size, std::nullopt, {}, {}});
        layer_paths.push_back("blobs/sha256/" + std::string(digest_hex(l.diff_id)));
      }
      std::string body = manifest_to_json(m);
      std::string manifest_digest = sha256_digest(body);
      BERTH_TRY(add_blob(manifest_digest, body));
      Json tags = Json::array();
      Descriptor d{std::string(media_type::kOciManifest), manifest_digest, static_cast<int64_t>(body.size()), std::nullopt, {}, {}};
      for (const auto& t : w.tags) {
        tags.push_back(t.familiar());
        if (!w.entry.layers.empty()) repositories[t.familiar_name()][t.tag] = std::string(digest_hex(w.entry.layers.back().diff_id));
        Descriptor named = d;
        named.annotations["io.containerd.image.name"] = t.string();
        named.annotations["org.opencontainers.image.ref.name"] = t.tag;
        index.manifests.push_back(std::move(named));
      }
      if (w.tags.empty()) index.manifests.push_back(d);
      manifest_json.push_back({{"Config", "blobs/sha256/" + std::string(digest_hex(w.entry.id))},
                               {"RepoTags", w.tags.empty() ? Json() : tags},
                               {"Layers", layer_paths}});
    }
    BERTH_TRY(add_file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
    BERTH_TRY(add_file("index.json", index_to_json(index)));
    BERTH_TRY(add_file("manifest.json", manifest_json.dump()));
    if (!repositories.empty()) BERTH_TRY(add_file("repositories", repositories.dump()));
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) return tl::unexpected(failure("finish").error());
    std::vector<std::string> ids;
    for (const auto& w : wanted) ids.push_back(w.entry.id);
    return ids;
  }

  ~ArchiveSaver() {
    std::lock_guard lock(store_.mu_);
    for (const auto& s : leased_snaps_)
      if (auto it = store_.leased_snapshots_.find(s); it != store_.leased_snapshots_.end()) store_.leased_snapshots_.erase(it);
    for (const auto& b : leased_blobs_)
      if (auto it = store_.leased_blobs_.find(b); it != store_.leased_blobs_.end()) store_.leased_blobs_.erase(it);
  }

 private:
  void lease_blob_locked(const std::string& d) {
    leased_blobs_.push_back(d);
    store_.leased_blobs_.insert(d);
  }

  static la_ssize_t sink(struct archive* a, void* client, const void* data, size_t size) {
    auto* self = static_cast<ArchiveSaver*>(client);
    if (auto st = self->write_(data, size); !st) {
      self->error_ = st.error();
      archive_set_error(a, EIO, "%s", st.error().message.c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(size);
  }

  Status failure(const std::string& what) {
    if (error_) return tl::unexpected(*error_);
    const char* msg = archive_error_string(archive_.get());
    return make_error(Errc::io, "write image archive (" + what + ")" + (msg ? std::string(": ") + msg : std::string()));
  }

  Status header(const std::string& path, mode_t type, int64_t size) {
    std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e.get(), size);
    archive_entry_set_mtime(e.get(), 0, 0);
    if (archive_write_header(archive_.get(), e.get()) != ARCHIVE_OK) return failure(path);
    return ok();
  }

  Status add_dir(const std::string& path) { return header(path + "/", AE_IFDIR, 0); }

  Status add_file(const std::string& path, std::string_view data) {
    BERTH_TRY(header(path, AE_IFREG, static_cast<int64_t>(data.size())));
    if (!data.empty() && archive_write_data(archive_.get(), data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
      return failure(path);
    return ok();
  }

  Status add_blob(const std::string& digest, std::string_view data) {
    if (!written_.insert(digest).second) return ok();
    return add_file("blobs/sha256/" + std::string(digest_hex(digest)), data);
  }

  // Layers are saved uncompressed, so each is named by its diff id and every loader (old
  // `docker load` included) can check it against the config.
  Result<int64_t> add_layer(const LayerRecord& l) {
    auto info = store_.snapshots_->info(l.chain_id);
    int64_t size = info && info->diff_size ? static_cast<int64_t>(info->diff_size) : -1;
    if (size < 0) size = BERTH_TRY(measure(l.digest));
    if (!written_.insert(l.diff_id).second) return size;
    std::string path = "blobs/sha256/" + std::string(digest_hex(l.diff_id));
    BERTH_TRY(header(path, AE_IFREG, size));
    auto fd = BERTH_TRY(store_.content_->open_blob(l.digest));
    auto c = BERTH_TRY(detect_compression(fd.get()));
    auto reader = BERTH_TRY(DecompressReader::open(fd.get(), c));
    Sha256 hash;
    int64_t total = 0;
    std::vector<char> buf(kBlock);
    for (;;) {
      size_t n = BERTH_TRY(reader->read(buf.data(), buf.size()));
      if (n == 0) break;
      hash.update(buf.data(), n);
      total += static_cast<int64_t>(n);
      if (total > size) break;
      if (archive_write_data(archive_.get(), buf.data(), n) != static_cast<la_ssize_t>(n))
        return tl::unexpected(failure(path).error());
    }
    if (total != size || hash.finish() != l.diff_id)
      return make_error(Errc::io, "layer " + l.digest + " in the content store does not match diff id " + l.diff_id);
    return size;
  }

  Result<int64_t> measure(const std::string& digest) {
    auto fd = BERTH_TRY(store_.content_->open_blob(digest));
    auto c = BERTH_TRY(detect_compression(fd.get()));
    auto reader = BERTH_TRY(DecompressReader::open(fd.get(), c));
    std::vector<char> buf(kBlock);
    int64_t total = 0;
    for (;;) {
      size_t n = BERTH_TRY(reader->read(buf.data(), buf.size()));
      if (n == 0) return total;
      total += static_cast<int64_t>(n);
    }
  }

  ImageStore& store_;
  const WriteFn& write_;
  std::unique_ptr<struct archive, WriteFree> archive_;
  std::optional<Error> error_;
  std::set<std::string> written_;
  std::vector<std::string> leased_blobs_;
  std::vector<std::string> leased_snaps_;
};

Result<std::vector<std::string>> ImageStore::save(const std::vector<std::string>& refs, const WriteFn& write) {
  if (refs.empty()) return make_error(Errc::invalid_argument, "no images to save");
  ArchiveSaver saver(*this, write);
  return saver.run(refs);
}

Result<std::vector<std::string>> ImageStore::save_fd(const std::vector<std::string>& refs, int fd) {
  return save(refs, [fd](const void* data, size_t size) -> Status {
    auto* p = static_cast<const char*>(data);
    while (size) {
      ssize_t n = ::write(fd, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("write image archive");
      p += n;
      size -= static_cast<size_t>(n);
    }
    return ok();
  });
}

}  // namespace berth::agent::image
