#include "busybox_rootfs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "process.h"

namespace berth::test {

std::string busybox_path() {
  // Debian's busybox-static installs here; scripts/setup installs it.
  return path_exists("/bin/busybox") ? "/bin/busybox" : "";
}

bool make_busybox_rootfs(const std::string& dir) {
  std::string bb = busybox_path();
  if (bb.empty()) return false;
  namespace fs = std::filesystem;
  std::error_code ec;
  // mkdtemp makes 0700 directories; a non-root container user must be able to traverse "/".
  ::chmod(dir.c_str(), 0755);
  for (const char* d : {"bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/user"}) fs::create_directories(dir + "/" + d, ec);
  ::chmod((dir + "/tmp").c_str(), 01777);
  fs::copy_file(bb, dir + "/bin/busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return false;
  ::chmod((dir + "/bin/busybox").c_str(), 0755);
  auto list = run({dir + "/bin/busybox", "--list"});
  std::string applet;
  for (char c : list.out) {
    if (c == '\n') {
      if (!applet.empty() && applet != "busybox") fs::create_symlink("busybox", dir + "/bin/" + applet, ec);
      applet.clear();
    } else {
      applet += c;
    }
  }
  write_file(dir + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n");
  write_file(dir + "/etc/group", "root:x:0:\nuser:x:1000:\nextra:x:2000:\n");
  return true;
}

}  // namespace berth::test
