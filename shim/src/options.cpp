#include "options.h"

#include <cctype>
#include <cstdlib>

namespace berth::shim {

const char* usage() {
  return "usage: berth-shim --id ID --bundle DIR --state-dir DIR --runtime PATH --runtime-root DIR\n"
         "                  [--tty] [--stdin] [--stdin-once] [--no-start] [--no-pivot]\n"
         "                  [--log-path FILE | --no-log] [--log-max-size N[k|m|g]] [--log-max-files N]\n";
}

Result<uint64_t> parse_size(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
    return make_error(Errc::invalid_argument, "expected a size like 10m, got \"" + text + "\"");
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (errno == ERANGE) return make_error(Errc::invalid_argument, "size out of range: " + text);
  std::string unit(end);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();  // "10mb", "10b"
  unsigned shift = 0;
  if (unit == "k") {
    shift = 10;
  } else if (unit == "m") {
    shift = 20;
  } else if (unit == "g") {
    shift = 30;
  } else if (!unit.empty()) {
    return make_error(Errc::invalid_argument, "unknown size unit in \"" + text + "\" (use k, m or g)");
  }
  if (shift && n > (UINT64_MAX >> shift)) return make_error(Errc::invalid_argument, "size out of range: " + text);
  return static_cast<uint64_t>(n) << shift;
}

Result<Options> parse_options(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    bool has_inline = false;
    if (auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    auto take = [&]() -> Result<std::string> {
      if (has_inline) return value;
      if (i + 1 >= args.size()) return make_error(Errc::invalid_argument, name + ": a value is required");
      return args[++i];
    };
    auto flag = [&](bool& b) -> Status {
      if (has_inline) return make_error(Errc::invalid_argument, name + " takes no value");
      b = true;
      return ok();
    };
    if (name == "--help" || name == "-h") return make_error(Errc::invalid_argument, usage());
    if (name == "--id") o.id = BERTH_TRY(take());
    else if (name == "--bundle") o.bundle = BERTH_TRY(take());
    else if (name == "--state-dir") o.state_dir = BERTH_TRY(take());
    else if (name == "--runtime") o.runtime = BERTH_TRY(take());
    else if (name == "--runtime-root") o.runtime_root = BERTH_TRY(take());
    else if (name == "--log-path") o.log_path = BERTH_TRY(take());
    else if (name == "--tty") BERTH_TRY(flag(o.tty));
    else if (name == "--stdin") BERTH_TRY(flag(o.open_stdin));
    else if (name == "--stdin-once") BERTH_TRY(flag(o.stdin_once));
    else if (name == "--no-start") BERTH_TRY(flag(o.no_start));
    else if (name == "--no-pivot") BERTH_TRY(flag(o.no_pivot));
    else if (name == "--no-log") BERTH_TRY(flag(o.no_log));
    else if (name == "--log-max-size") {
      auto v = BERTH_TRY(take());
      auto n = parse_size(v);
      if (!n) return tl::unexpected(n.error().context("--log-max-size"));
      o.log_max_size = *n;
    } else if (name == "--log-max-files") {
      auto v = BERTH_TRY(take());
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1 || n > 1000)
        return make_error(Errc::invalid_argument, "--log-max-files: expected a number from 1 to 1000, got \"" + v + "\"");
      o.log_max_files = static_cast<int>(n);
    } else {
      return make_error(Errc::invalid_argument, "unknown option \"" + args[i] + "\"\n" + usage());
    }
  }
  for (auto [value, name] : {std::pair{&o.id, "--id"}, {&o.bundle, "--bundle"}, {&o.state_dir, "--state-dir"},
                             {&o.runtime, "--runtime"}, {&o.runtime_root, "--runtime-root"}}) {
    if (value->empty()) return make_error(Errc::invalid_argument, std::string(name) + " is required\n" + usage());
  }
  if (o.stdin_once && !o.open_stdin) return make_error(Errc::invalid_argument, "--stdin-once needs --stdin");
  if (o.no_log && !o.log_path.empty()) return make_error(Errc::invalid_argument, "--no-log and --log-path exclude each other");
  if (o.log_path.empty() && !o.no_log) o.log_path = o.state_dir + "/container.log";
  return o;
}

}  // namespace berth::shim
