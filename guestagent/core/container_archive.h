// docker cp and docker export: stat of a path inside a container (the
// X-Docker-Container-Path-Stat header), tar streams of a file or directory, and extraction
// of an uploaded tar into a directory. Every path is resolved inside the container's root the
// way a process chrooted there would (openat2 RESOLVE_IN_ROOT), and extraction creates
// everything with *at() calls below a directory fd, so no symlink in the container can lead a
// copy outside it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "berth/common/json.h"
#include "berth/common/result.h"

namespace berth::agent {

struct PathStat {
  std::string name;
  int64_t size = 0;
  uint32_t mode = 0;  // Go's os.FileMode bits, as Docker sends them
  std::string mtime;  // RFC 3339
  std::string link_target;
};

// Go's os.FileMode for a stat(2) mode: permission bits plus ModeDir, ModeSymlink, …
uint32_t go_file_mode(mode_t mode);
Json to_json(const PathStat& s);
// The header value: base64 of the JSON.
std::string path_stat_header(const PathStat& s);
std::string base64_encode(std::string_view data);

// lstat of `path` (absolute, in the container) below `root_fd`. Errc::not_found when missing:
// "Could not find the file <path> in container <id>" is the caller's wording.
Result<PathStat> stat_in_root(int root_fd, const std::string& path);

using ArchiveWriteFn = std::function<Status(const void* data, size_t size)>;
using ArchiveReadFn = std::function<Result<size_t>(void* buf, size_t size)>;

// A tar of `path`: entries named from its base name ("hostname", "etc/passwd"), or from "."
// when `path` ends in "/." (copy the directory's contents). Symlinks are archived as links.
Status write_path_tar(int root_fd, const std::string& path, const ArchiveWriteFn& out);
// A tar of everything below root_fd with names relative to it (docker export).
Status write_tree_tar(int root_fd, const ArchiveWriteFn& out);

struct ExtractOptions {
  bool no_overwrite_dir_non_dir = false;
  bool copy_uid_gid = false;  // keep the archive's owners; otherwise root (0:0) owns everything
};

// Extracts a (possibly compressed) tar into the existing directory `dest` inside the root.
// Errc::not_found if `dest` is missing, invalid_argument if it is not a directory or an
// entry would escape it or replace a directory with a non-directory under
// no_overwrite_dir_non_dir.
Status extract_tar(int root_fd, const std::string& dest, const ArchiveReadFn& in, const ExtractOptions& options);

}  // namespace berth::agent
