// Test helpers: run a command and capture its output and status; make temp dirs.
#pragma once

#include <string>
#include <vector>

namespace berth::test {

struct CommandResult {
  int status = -1;  // exit status, or 128+signal
  std::string out;
  std::string err;
};

// Runs argv (no shell) with optional stdin; waits at most timeout_s seconds (then SIGKILL).
CommandResult run(const std::vector<std::string>& argv, const std::string& input = "", int timeout_s = 60);
// Runs through /bin/sh -c.
CommandResult sh(const std::string& script, int timeout_s = 60);

std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& path);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& data, int mode = 0644);
bool path_exists(const std::string& path);
bool is_root();

}  // namespace berth::test
