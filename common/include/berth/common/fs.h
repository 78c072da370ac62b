// Whole-file helpers with Result errors naming the path.
#pragma once

#include <string>
#include <string_view>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::fs {

Result<std::string> read_file(const std::string& path);
Status write_file(const std::string& path, std::string_view data, int mode = 0644);
// Writes to a temporary file beside `path`, fsyncs it and renames it over `path`,
// so readers see either the old or the new content, never a torn one.
Status write_file_atomic(const std::string& path, std::string_view data, int mode = 0644);
// Same replace-by-rename, without fsync: for state on tmpfs (/run) or state that is rebuilt
// after a crash anyway, where the fsync would be most of the cost.
Status replace_file(const std::string& path, std::string_view data, int mode = 0644);
Status mkdir_p(const std::string& path, int mode = 0755);
// Removes a tree without following symlinks; a missing path is not an error.
Status remove_all(const std::string& path);
bool exists(const std::string& path);
Result<UniqueFd> open(const std::string& path, int flags, int mode = 0);

}  // namespace berth::fs
