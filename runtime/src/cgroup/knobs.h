// Reading and writing cgroupfs files, shared by the v1 and v2 managers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"
#include "cgroup/cgroup.h"

namespace berth::runtime::cgroup::detail {

// "/sys/fs/cgroup" + "/berth/x" → "/sys/fs/cgroup/berth/x"; `rel` may or may not start with "/".
std::string join(std::string_view dir, std::string_view rel);

// The file's content without trailing whitespace.
Result<std::string> read_knob(const std::string& file);
// One write(2) without O_CREAT, because cgroupfs takes a value per write and a knob the
// kernel does not offer must show up as ENOENT, not as a new file in a fake tree.
Status write_knob(const std::string& file, std::string_view value, const Options& options);

bool is_dir(const std::string& path);
bool is_file(const std::string& path);

// "max" → kUnlimited; anything but a decimal is an error.
Result<uint64_t> parse_u64(std::string_view text);
// "key value" lines (memory.stat, cpu.stat, cgroup.events); unparsable lines are skipped.
std::map<std::string, uint64_t> parse_keyed(std::string_view text);
std::vector<std::string> split_words(std::string_view text);

// cgroup.procs of `dir` and every cgroup below it, sorted and deduplicated.
Result<std::vector<pid_t>> collect_procs(const std::string& dir);
// rmdir of `dir` after its child cgroups, retrying EBUSY (processes still exiting) until
// `timeout_ms` passes. A missing directory is success.
Status remove_tree(const std::string& dir, int timeout_ms);

void sleep_ms(int ms);

}  // namespace berth::runtime::cgroup::detail
