// ImageStore::tag, ::remove and ::prune: the reference bookkeeping of `docker tag`, `docker
// rmi` and `docker image prune`, with dockerd's rules (daemon/images/image_delete.go) and
// wording. Every change is made on a copy of the index that replaces the live one only once
// it is saved, so a failed operation leaves both the file and memory as they were.
#include <algorithm>
#include <set>

#include "berth/common/log.h"
#include "digest.h"
#include "image_store.h"

namespace berth::agent::image {

namespace {

std::string shorten(const std::string& id) { return short_id(id); }

// dockerd's isImageIDPrefix: the text names the image by (a prefix of) its id.
bool is_id_prefix(const std::string& id, const std::string& text) {
  if (id.starts_with(text)) return true;
  return id.substr(id.find(':') + 1).starts_with(text);
}

// One tag plus digest references of that same repository still count as a single name
// (dockerd's isSingleReference): removing it would leave the image without a usable name.
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
  if (!tag) tag = parse_reference(refs.front()).value_or(Reference{});
  return digest_names.size() == 1 && digest_names.count(tag->name());
}

std::string familiar_of(const std::string& ref_text) {
  auto r = parse_reference(ref_text);
  return r ? r->familiar() : ref_text;
}

// dockerd's imageDeleteConflict.
tl::unexpected<Error> delete_conflict(const std::string& id, bool hard, const std::string& why) {
  return make_error(Errc::conflict, "conflict: unable to delete " + shorten(id) + " (" +
                                        (hard ? "cannot be forced" : "must be forced") + ") - " + why);
}

}  // namespace

bool ImageStore::is_dangling_locked(const std::string& id) const {
  for (const auto& ref_text : index_.refs_of(id)) {
    auto r = parse_reference(ref_text);
    if (r && !r->has_digest()) return false;
  }
  return true;
}

bool ImageStore::is_dangling(const std::string& id) {
  std::lock_guard lock(mu_);
  return is_dangling_locked(id);
}

std::vector<std::string> ImageStore::chains_top_first_locked(const std::string& id) const {
  std::vector<std::string> out;
  if (auto it = index_.images.find(id); it != index_.images.end())
    for (auto l = it->second.layers.rbegin(); l != it->second.layers.rend(); ++l) out.push_back(l->chain_id);
  return out;
}

void ImageStore::report_removed_layers(RemoveReport& report, const std::vector<std::string>& chains,
                                       std::set<std::string>& reported) const {
  for (const auto& c : chains)
    if (!snapshots_->has(c) && reported.insert(c).second) report.items.push_back({{}, c});
}

Result<std::string> ImageStore::tag(const std::string& source, const std::string& new_reference) {
  auto ref = BERTH_TRY(parse_reference(new_reference));
  if (ref.has_digest()) return make_error(Errc::invalid_argument, "refusing to create a tag with a digest reference");
  if (ref.familiar_name() == "sha256")
    return make_error(Errc::invalid_argument, "refusing to create an ambiguous tag using digest algorithm as name");
  std::lock_guard lock(mu_);
  auto r = BERTH_TRY(resolve_locked(source));
  ImageIndex next = index_;
  next.refs[ref.string()] = r.id;
  BERTH_TRY(next.save(index_path()));
  index_ = std::move(next);
  return r.id;
}

Result<RemoveReport> ImageStore::remove(const std::string& ref_or_id, bool force, const InUseFn& in_use) {
  RemoveReport report;
  std::vector<std::string> chains;
  {
    std::lock_guard lock(mu_);
    auto r = BERTH_TRY(resolve_locked(ref_or_id));
    const std::string id = r.id;
    report.id = id;
    auto use = in_use ? in_use(id) : std::nullopt;
    auto refs = index_.refs_of(id);
    ImageIndex next = index_;
    bool untagged_last = false;  // dockerd's removedRepositoryRef: conflicts now keep the image quietly

    if (r.ref && !is_id_prefix(id, ref_or_id)) {
      if (!force && use && is_single_reference(refs))
        return make_error(Errc::conflict, "conflict: unable to remove repository reference \"" + ref_or_id +
                                              "\" (must force) - container " + shorten(use->container_id) +
                                              " is using its referenced image " + shorten(id));
      next.refs.erase(r.ref->string());
      report.items.push_back({r.ref->familiar(), {}});
      // Without a tag left in that repository its digest references would only keep the
      // image alive invisibly; dockerd drops them too.
      if (!r.ref->has_digest()) {
        bool tag_left = false;
        std::vector<Reference> digests;
        for (const auto& other : next.refs_of(id)) {
          auto o = parse_reference(other);
          if (!o || o->name() != r.ref->name()) continue;
          if (o->has_digest()) digests.push_back(*o);
          else tag_left = true;
        }
        if (!tag_left)
          for (const auto& d : digests) {
            next.refs.erase(d.string());
            report.items.push_back({d.familiar(), {}});
          }
      }
      if (!next.refs_of(id).empty()) {
        BERTH_TRY(next.save(index_path()));
        index_ = std::move(next);
        return report;
      }
      untagged_last = true;
    } else if (is_single_reference(refs)) {
      if (use && use->running)
        return delete_conflict(id, true, "image is being used by running container " + shorten(use->container_id));
      if (use && !force)
        return delete_conflict(id, false, "image is being used by stopped container " + shorten(use->container_id));
      for (const auto& ref_text : refs) {
        next.refs.erase(ref_text);
        report.items.push_back({familiar_of(ref_text), {}});
      }
    }

    // dockerd's imageDeleteHelper: hard conflicts always count, soft ones unless forced.
    std::optional<tl::unexpected<Error>> conflict;
    if (use && use->running)
      conflict = delete_conflict(id, true, "image is being used by running container " + shorten(use->container_id));
    else if (!force && !next.refs_of(id).empty())
      conflict = delete_conflict(id, false, "image is referenced in multiple repositories");
    else if (!force && use)
      conflict = delete_conflict(id, false, "image is being used by stopped container " + shorten(use->container_id));
    if (conflict) {
      if (!untagged_last) return std::move(*conflict);
      // The last name went; a container still holds the image, which stays, untagged.
      BERTH_TRY(next.save(index_path()));
      index_ = std::move(next);
      return report;
    }
    for (const auto& ref_text : next.refs_of(id)) {
      next.refs.erase(ref_text);
      report.items.push_back({familiar_of(ref_text), {}});
    }
    chains = chains_top_first_locked(id);
    next.images.erase(id);
    BERTH_TRY(next.save(index_path()));
    index_ = std::move(next);
    configs_.erase(id);
    report.items.push_back({{}, id});
    report.deleted = true;
  }
  if (auto gc = collect_garbage(); !gc) log::get("agent")->warn("image gc after removal: {}", gc.error().what());
  std::set<std::string> reported;
  report_removed_layers(report, chains, reported);
  return report;
}

Result<PruneReport> ImageStore::prune(const PruneOptions& options, const InUseFn& in_use) {
  PruneReport report;
  std::vector<std::vector<std::string>> chains;
  {
    std::lock_guard lock(mu_);
    std::vector<std::string> victims;
    for (const auto& [id, e] : index_.images) {
      if (options.dangling_only && !is_dangling_locked(id)) continue;
      // Images containers use are kept, tags and all (dockerd's delete of them would fail).
      if (in_use && in_use(id)) continue;
      if (options.match) {
        auto record = record_locked(e);
        if (!record || !options.match(*record)) continue;
      }
      victims.push_back(id);
    }
    ImageIndex next = index_;
    for (const auto& id : victims) {
      RemoveReport r;
      r.id = id;
      for (const auto& ref_text : next.refs_of(id)) {
        next.refs.erase(ref_text);
        r.items.push_back({familiar_of(ref_text), {}});
      }
      chains.push_back(chains_top_first_locked(id));
      next.images.erase(id);
      r.items.push_back({{}, id});
      r.deleted = true;
      report.removed.push_back(std::move(r));
    }
    if (!victims.empty()) {
      BERTH_TRY(next.save(index_path()));
      index_ = std::move(next);
      for (const auto& id : victims) configs_.erase(id);
    }
    (void)content_->remove_stale_ingests();
  }
  report.space_reclaimed = BERTH_TRY(collect_garbage());
  std::set<std::string> reported;
  for (size_t i = 0; i < report.removed.size(); ++i) {
    report_removed_layers(report.removed[i], chains[i], reported);
    report.items.insert(report.items.end(), report.removed[i].items.begin(), report.removed[i].items.end());
  }
  return report;
}

}  // namespace berth::agent::image
