// Shared by the static stand-in /init programs that VM tests boot (tests/vm/image/test_init.c,
// tests/vm/berth/standin_agent.c): console output the tests match line by line, and the
// kernel filesystems every such init needs first. C, header-only: each is one static binary.
#pragma once

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(const char* fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void say(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  // One write per line so that kernel messages do not split it.
  (void)!write(1, buf, (size_t)n);
}

// Mounts /dev, /proc and /sys and makes sure stdio is the console: the kernel gave us
// /dev/console as stdio only if the image has the node.
static void __attribute__((unused)) mount_kernel_filesystems(void) {
  mkdir("/dev", 0755);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  mkdir("/proc", 0555);
  mount("proc", "/proc", "proc", 0, NULL);
  mkdir("/sys", 0555);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  if (fcntl(1, F_GETFD) < 0) {
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
      dup2(fd, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      if (fd > 2) close(fd);
    }
  }
}
