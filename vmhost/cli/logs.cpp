// berth logs [NAME] [--follow] [serial|host]
//
// "serial" is the guest console (kernel and agent messages), "host" the berth host
// process's log (QEMU, virtiofsd, vsock, bridge). With one argument that is "serial" or
// "host" it names the log; `berth logs NAME serial` for an instance called "serial".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "berth/common/fs.h"
#include "cli/common.h"
#include "cli/verbs.h"

namespace berth::cli {

namespace {

bool write_out(const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(STDOUT_FILENO, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int run_logs(std::vector<std::string> args, bool follow) {
  std::string name = "default";
  std::string kind = "serial";
  if (args.size() > 2) return fail("logs", "too many arguments (berth logs [NAME] [serial|host])");
  if (args.size() == 2) {
    name = args[0];
    kind = args[1];
  } else if (args.size() == 1) {
    if (args[0] == "serial" || args[0] == "host") {
      kind = args[0];
    } else {
      name = args[0];
    }
  }
  if (kind != "serial" && kind != "host") return fail("logs", "unknown log \"" + kind + "\" (serial or host)");
  auto ref = resolve(name);
  if (!ref) return fail("logs", ref.error().what());
  if (!exists(*ref)) return fail("logs", "instance " + name + " does not exist");
  std::string path = kind == "serial" ? ref->paths.serial_log() : ref->paths.vmhost_log();

  UniqueFd fd;
  ino_t inode = 0;
  off_t offset = 0;
  char buf[65536];
  for (;;) {
    if (!fd) {
      auto opened = fs::open(path, O_RDONLY);
      if (opened) {
        fd = std::move(*opened);
        struct stat st {};
        ::fstat(fd.get(), &st);
        inode = st.st_ino;
        offset = 0;
      } else if (!follow) {
        return fail("logs", "no " + kind + " log yet (" + path + ")");
      }
    }
    if (fd) {
      for (;;) {
        ssize_t n = ::pread(fd.get(), buf, sizeof buf, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (!write_out(buf, static_cast<size_t>(n))) return 0;
        offset += n;
      }
    }
    if (!follow) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    // A new boot truncates or replaces the serial log: start over on the new content.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      fd.reset();
    } else if (st.st_ino != inode) {
      fd.reset();
    } else if (st.st_size < offset) {
      offset = 0;
    }
  }
}

}  // namespace

void add_logs(CLI::App& app, Action& action) {
  struct Args {
    std::vector<std::string> positional;
    bool follow = false;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("logs", "Print the guest console (serial, default) or the host process log (host)");
  sub->add_option("args", args->positional, "[NAME] [serial|host]");
  sub->add_flag("--follow,-f", args->follow, "keep printing what is appended");
  sub->callback([args, &action] { action = [args] { return run_logs(args->positional, args->follow); }; });
}

}  // namespace berth::cli
