#include "runtime_cli.h"

#include <sys/stat.h>

#include "berth/common/fs.h"
#include "berth/common/json.h"

namespace berth::shim {

std::vector<std::string> runtime_argv(const RuntimeCli& rt, const std::vector<std::string>& verb_args) {
  std::vector<std::string> argv = {rt.binary, "--root", rt.root};
  if (!rt.log_file.empty()) argv.insert(argv.end(), {"--log", rt.log_file, "--log-format", "json"});
  argv.insert(argv.end(), verb_args.begin(), verb_args.end());
  return argv;
}

std::string last_runtime_error(std::string_view log_text) {
  std::string found;
  while (!log_text.empty()) {
    size_t nl = log_text.find('\n');
    std::string_view line = log_text.substr(0, nl);
    log_text.remove_prefix(nl == std::string_view::npos ? log_text.size() : nl + 1);
    if (line.find("\"level\":\"error\"") == std::string_view::npos) continue;
    auto j = parse_json(line);
    if (j && j->is_object() && (*j)["msg"].is_string()) {
      found = (*j)["msg"].get<std::string>();
      continue;
    }
    // The runtime's JSON pattern does not escape the message: cut it out by its neighbours.
    const std::string_view open = "\"msg\":\"", close = "\",\"time\":";
    size_t b = line.find(open);
    size_t e = line.rfind(close);
    if (b != std::string_view::npos && e != std::string_view::npos && e > b + open.size())
      found = std::string(line.substr(b + open.size(), e - b - open.size()));
    else
      found = std::string(line);
  }
  return found;
}

Status run_runtime(const RuntimeCli& rt, const std::vector<std::string>& verb_args, const ChildStdio& stdio) {
  // Only this call's messages count: remember where the log ended.
  struct stat st {};
  off_t offset = (!rt.log_file.empty() && ::stat(rt.log_file.c_str(), &st) == 0) ? st.st_size : 0;
  pid_t pid = BERTH_TRY(spawn_process(runtime_argv(rt, verb_args), stdio));
  int code = BERTH_TRY(wait_child(pid));
  if (code == 0) return ok();
  std::string message;
  if (!rt.log_file.empty()) {
    if (auto text = fs::read_file(rt.log_file); text && static_cast<size_t>(offset) <= text->size())
      message = last_runtime_error(std::string_view(*text).substr(static_cast<size_t>(offset)));
  }
  std::string verb = verb_args.empty() ? "" : verb_args[0];
  if (message.empty()) message = "berth-runtime " + verb + " failed with exit status " + std::to_string(code);
  return make_error(Errc::internal, message);
}

}  // namespace berth::shim
