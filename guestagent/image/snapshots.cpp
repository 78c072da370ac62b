#include "snapshots.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "berth/common/fs.h"
#include "berth/common/json.h"
#include "berth/common/log.h"
#include "digest.h"
#include "safe_fs.h"
#include "unpack.h"

namespace berth::agent::image {

namespace {
constexpr std::string_view kTempPrefix = ".tmp-";

std::string temp_name() {
  static std::atomic<uint64_t> counter{0};
  return std::string(kTempPrefix) + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}
}  // namespace

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(std::string root) {
  std::unique_ptr<SnapshotStore> store(new SnapshotStore(std::move(root)));
  BERTH_TRY(safefs::ensure_dir(store->root_, 0700));
  auto rootfd = BERTH_TRY(safefs::open_dir_path(store->root_));
  for (const auto& n : BERTH_TRY(safefs::list_dir(rootfd.get())))
    if (n.starts_with(kTempPrefix)) BERTH_TRY(safefs::remove_at(rootfd.get(), n));
  return store;
}

std::string SnapshotStore::dir(const std::string& chain_id) const {
  return root_ + "/" + std::string(digest_hex(chain_id));
}

std::string SnapshotStore::fs_path(const std::string& chain_id) const { return dir(chain_id) + "/fs"; }

bool SnapshotStore::has(const std::string& chain_id) const {
  return is_digest(chain_id) && fs::exists(dir(chain_id) + "/meta.json");
}

Result<SnapshotInfo> SnapshotStore::info(const std::string& chain_id) const {
  BERTH_TRY(validate_digest(chain_id));
  auto text = fs::read_file(dir(chain_id) + "/meta.json");
  if (!text) {
    if (text.error().code == Errc::not_found)
      return make_error(Errc::not_found, "snapshot " + chain_id + " does not exist");
    return tl::unexpected(text.error());
  }
  auto doc = BERTH_TRY(parse_json(*text, "snapshot " + chain_id + " meta.json"));
  return json_boundary("snapshot " + chain_id + " meta.json", [&] {
    SnapshotInfo info;
    info.chain_id = chain_id;
    info.diff_id = jsonf::opt_string(doc, "diff_id", "diff_id").value_or("");
    info.parent = jsonf::opt_string(doc, "parent", "parent").value_or("");
    info.size = jsonf::opt_uint(doc, "size", "size").value_or(0);
    info.diff_size = jsonf::opt_uint(doc, "diff_size", "diff_size").value_or(0);
    return info;
  });
}

Result<SnapshotInfo> SnapshotStore::create(const std::string& chain_id, const std::string& parent,
                                           const std::string& diff_id, int layer_fd) {
  BERTH_TRY(validate_digest(chain_id));
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !unpacking_.count(chain_id); });
    if (has(chain_id)) return info(chain_id);
    unpacking_.insert(chain_id);
  }
  struct Release {
    SnapshotStore* s;
    const std::string& id;
    ~Release() {
      std::lock_guard lock(s->mu_);
      s->unpacking_.erase(id);
      s->cv_.notify_all();
    }
  } release{this, chain_id};

  std::string tmp = root_ + "/" + temp_name();
  BERTH_TRY(fs::mkdir_p(tmp + "/fs", 0755));
  auto cleanup = [&] { (void)fs::remove_all(tmp); };
  auto fsfd = safefs::open_dir_path(tmp + "/fs");
  if (!fsfd) {
    cleanup();
    return tl::unexpected(fsfd.error());
  }
  UnpackOptions options;
  options.expected_diff_id = diff_id;
  auto unpacked = apply_layer(layer_fd, fsfd->get(), options);
  if (!unpacked) {
    cleanup();
    return tl::unexpected(unpacked.error());
  }
  SnapshotInfo info;
  info.chain_id = chain_id;
  info.diff_id = unpacked->diff_id;
  info.parent = parent;
  info.diff_size = unpacked->diff_size;
  info.size = safefs::disk_usage(fsfd->get()).value_or(0);
  Json meta = {{"chain_id", chain_id}, {"diff_id", info.diff_id}, {"parent", parent},
               {"size", info.size}, {"diff_size", info.diff_size}};
  if (auto st = fs::write_file_atomic(tmp + "/meta.json", meta.dump(2), 0600); !st) {
    cleanup();
    return tl::unexpected(st.error());
  }
  ::syncfs(fsfd->get());  // the rename below must not publish files whose data is still in flight
  if (::rename(tmp.c_str(), dir(chain_id).c_str()) < 0) {
    int err = errno;
    cleanup();
    if ((err == EEXIST || err == ENOTEMPTY) && has(chain_id)) return this->info(chain_id);
    return sys_error("rename snapshot into place", err);
  }
  log::get("agent")->debug("image: unpacked snapshot {} (diff {}, {} bytes)", chain_id, info.diff_id, info.size);
  return info;
}

Status SnapshotStore::remove(const std::string& chain_id) {
  BERTH_TRY(validate_digest(chain_id));
  std::string from = dir(chain_id);
  std::string tmp = root_ + "/" + temp_name();
  // Renamed away first so a crash mid-removal leaves a temp dir, never a half snapshot.
  if (::rename(from.c_str(), tmp.c_str()) < 0) {
    if (errno == ENOENT) return ok();
    return sys_error("remove snapshot " + chain_id);
  }
  return fs::remove_all(tmp);
}

Result<std::vector<std::string>> SnapshotStore::list() const {
  auto rootfd = BERTH_TRY(safefs::open_dir_path(root_));
  std::vector<std::string> out;
  for (const auto& n : BERTH_TRY(safefs::list_dir(rootfd.get()))) {
    std::string id = "sha256:" + n;
    if (is_digest(id)) out.push_back(std::move(id));
  }
  return out;
}

}  // namespace berth::agent::image
